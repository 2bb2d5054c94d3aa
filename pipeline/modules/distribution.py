"""Choice of the tf.distribute strategy for the Trainer, from configuration and hardware.

`choose_strategy` is a pure function of what it is told, so the selection logic is tested
without the hardware it selects for; `make_strategy` checks that the hardware asked for
(`training.devices`, pipeline/modules/devices.py) is there and builds the strategy it names;
`write_training_record` says afterwards what the model trained on.
"""

import ctypes
import json
import os

import tensorflow as tf

from components.trainer.record import TRAINING_RECORD
from pipeline.modules import devices as device_rules

STRATEGIES = ("default", "mirrored", "multi_worker", "tpu")


def _worker_count(tf_config: str | None) -> int:
    if not tf_config:
        return 0
    try:
        cluster = json.loads(tf_config).get("cluster", {})
    except (ValueError, AttributeError) as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from e
    return len(cluster.get("worker", [])) + len(cluster.get("chief", []))


def choose_strategy(
    requested: str,
    *,
    tpu_address: str | None,
    gpus: int,
    cpu_devices: int,
    tf_config: str | None,
) -> str:
    """Resolves `requested` ('auto' or one of STRATEGIES) to one of STRATEGIES.

    auto: a TPU when an address is given; several workers in TF_CONFIG -> multi_worker;
    one or more GPUs, or several (logical) CPU devices -> mirrored; else default.
    """
    if requested != "auto":
        if requested not in STRATEGIES:
            raise ValueError(f"Unknown strategy '{requested}'; expected auto or one of {STRATEGIES}.")
        if requested == "tpu" and not tpu_address:
            raise ValueError("Strategy 'tpu' needs training.tpu_address (e.g. 'local' or a grpc:// address).")
        return requested
    if tpu_address:
        return "tpu"
    if _worker_count(tf_config) > 1:
        return "multi_worker"
    if gpus >= 1 or cpu_devices > 1:
        return "mirrored"
    return "default"


def _nvidia_driver_loads() -> bool:
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def check_devices(devices: str = "auto", *, strategy: str = "auto", tpu_address: str | None = None,
                  asked_by: str = device_rules.ASKED_BY) -> None:
    """Raises ValueError, in one sentence, when `devices` asks for what this process cannot train on: a GPU that
    TensorFlow does not see, or a TPU without a TPU strategy. Lists physical devices only, which leaves the runtime
    unstarted (MultiWorkerMirroredStrategy and logical device splits are configured after this)."""
    conflict = device_rules.devices_conflict(devices, strategy=strategy, tpu_address=tpu_address, asked_by=asked_by)
    if conflict:
        raise ValueError(conflict)
    if devices == "gpu" and not tf.config.list_physical_devices("GPU"):
        build = tf.sysconfig.get_build_info()
        raise ValueError(device_rules.no_gpu_message(
            asked_by, tf.version.VERSION, [d.device_type for d in tf.config.list_physical_devices()],
            built_with_cuda=tf.test.is_built_with_cuda(), cuda_version=build.get("cuda_version"),
            driver_loads=_nvidia_driver_loads(), visible_devices=os.environ.get("CUDA_VISIBLE_DEVICES")))


def make_strategy(requested: str = "auto", tpu_address: str | None = None, devices: str = "auto",
                  devices_asked_by: str = device_rules.ASKED_BY) -> tf.distribute.Strategy:
    """Call before anything else runs TensorFlow ops: MultiWorkerMirroredStrategy configures its collective ops
    at runtime start-up, so it is decided (on TF_CONFIG alone) before devices are listed, which starts it.
    `devices` (auto, gpu, tpu) is checked first: a request that cannot be met fails here, never trains on the CPU."""
    check_devices(devices, strategy=requested, tpu_address=tpu_address, asked_by=devices_asked_by)
    tf_config = os.environ.get("TF_CONFIG")
    # Device counts only tell mirrored from default: any will do for this decision.
    if choose_strategy(requested, tpu_address=tpu_address, gpus=0, cpu_devices=1, tf_config=tf_config) == (
        "multi_worker"
    ):
        return tf.distribute.MultiWorkerMirroredStrategy()
    name = choose_strategy(
        requested,
        tpu_address=tpu_address,
        gpus=len(tf.config.list_logical_devices("GPU")),
        cpu_devices=len(tf.config.list_logical_devices("CPU")),
        tf_config=tf_config,
    )
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu_address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in (gpus or tf.config.list_logical_devices("CPU"))]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def shard_by_example(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """The dataset sharded across workers by example rather than by file. tf.distribute's default, FILE sharding,
    needs at least as many files as workers, and how many files Transform writes is Beam's choice (one from a single
    in-memory worker, which is how small inputs run: pipeline/runners/beam.py)."""
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def trained_on(strategy: tf.distribute.Strategy) -> list:
    """The full names of the devices this process trains on under `strategy`: its replicas' devices; under the
    default strategy, which has none, the device TensorFlow places ops on (the first GPU, else the CPU)."""
    try:
        return list(strategy.extended.worker_devices)
    except RuntimeError:  # the default strategy: "worker_devices() method unsupported"
        return [(tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU"))[0].name]


def training_record(strategy: tf.distribute.Strategy, global_batch_size: int, devices_requested: str) -> dict:
    """How the model was trained, for lineage: the strategy, its replicas, the global batch, the devices of this
    process (the chief's, under multi_worker) as TYPE:index, the GPUs' model names where TensorFlow gives them, and
    the `training.devices` request."""
    devices = device_rules.short_device_names(trained_on(strategy))
    physical = tf.config.list_physical_devices("GPU")
    names = device_rules.name_gpus(
        devices, [tf.config.experimental.get_device_details(gpu).get("device_name") for gpu in physical],
        len(tf.config.list_logical_devices("GPU")))
    return {"strategy": type(strategy).__name__, "replicas": strategy.num_replicas_in_sync,
            "global_batch_size": global_batch_size, "devices": devices, "device_names": names,
            "devices_requested": devices_requested}


def write_training_record(model_run_dir: str, record: dict) -> None:
    """Beside the TensorBoard logs in the model_run artifact, where the Trainer's executor (components/trainer) and
    `glassbox lineage model` read it."""
    with tf.io.gfile.GFile(os.path.join(model_run_dir, TRAINING_RECORD), "w") as f:
        json.dump(record, f)
