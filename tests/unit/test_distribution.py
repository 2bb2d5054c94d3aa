"""Strategy selection: the logic without the hardware, and MirroredStrategy on two logical CPUs, whose record lists
both."""

import json
import subprocess
import sys
import textwrap

import pytest

from pipeline.modules.distribution import choose_strategy

TWO_WORKERS = json.dumps({"cluster": {"worker": ["localhost:2222", "localhost:2223"]},
                          "task": {"type": "worker", "index": 0}})


@pytest.mark.parametrize(
    "requested, tpu, gpus, cpus, tf_config, expected",
    [
        ("auto", "grpc://10.0.0.2:8470", 4, 1, TWO_WORKERS, "tpu"),
        ("auto", None, 0, 1, TWO_WORKERS, "multi_worker"),
        ("auto", None, 1, 1, None, "mirrored"),
        ("auto", None, 0, 2, None, "mirrored"),
        ("auto", None, 0, 1, None, "default"),
        ("auto", None, 0, 1, json.dumps({"cluster": {"worker": ["localhost:2222"]}}), "default"),
        ("default", None, 8, 1, None, "default"),
        ("tpu", "local", 0, 1, None, "tpu"),
    ],
)
def test_choose_strategy(requested, tpu, gpus, cpus, tf_config, expected):
    assert choose_strategy(requested, tpu_address=tpu, gpus=gpus, cpu_devices=cpus, tf_config=tf_config) == expected


def test_tpu_without_address_is_a_clear_error():
    with pytest.raises(ValueError, match="tpu_address"):
        choose_strategy("tpu", tpu_address=None, gpus=0, cpu_devices=1, tf_config=None)


def test_bad_tf_config_is_a_clear_error():
    with pytest.raises(ValueError, match="TF_CONFIG"):
        choose_strategy("auto", tpu_address=None, gpus=0, cpu_devices=1, tf_config="{not json")


def test_auto_trains_with_mirrored_strategy_on_two_logical_cpus():
    # Logical devices must be configured before TensorFlow initialises, hence a fresh process.
    script = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        from pipeline.modules import distribution, training
        strategy = distribution.make_strategy("auto")
        assert isinstance(strategy, tf.distribute.MirroredStrategy), type(strategy)
        assert strategy.num_replicas_in_sync == 2
        with strategy.scope():
            model = training.build_model(4, [8], 0.0, 0.05)
        kernel = model.trainable_variables[0]
        devices = sorted(v.device for v in kernel.values)
        assert len(devices) == 2 and devices[0] != devices[1], devices
        rng = np.random.default_rng(0)
        x = rng.normal(size=(512, 4)).astype("float32")
        y = (x[:, 0] - x[:, 1] > 0).astype("float32")[:, None]
        history = model.fit(x, y, batch_size=64, epochs=5, verbose=0).history
        assert history["loss"][-1] < 0.5 * history["loss"][0], history["loss"]
        # Both replicas hold the same trained weights.
        np.testing.assert_allclose(*[v.numpy() for v in kernel.values])
        # The record lists both devices it trained on; a GPU asked for is still refused, not met by the CPUs.
        record = distribution.training_record(strategy, 128, "auto")
        assert record["devices"] == ["CPU:0", "CPU:1"] and record["replicas"] == 2, record
        try:
            distribution.make_strategy("auto", devices="gpu")
            raise AssertionError("a GPU asked for was met by two logical CPUs")
        except ValueError as e:
            assert "sees none on this host (it sees CPU; " in str(e), e
        print("OK", devices)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stdout + result.stderr[-3000:]


def test_tpu_selected_by_configuration_reaches_the_trainer(tmp_path):
    from pipeline.config import load_config
    from pipeline.pipeline import create_pipeline

    config = load_config(output_dir=tmp_path, training={"strategy": "tpu", "tpu_address": "grpc://10.0.0.2:8470"})
    (trainer,) = [node for node in create_pipeline(config).components if node.id == "Trainer"]
    custom_config = json.loads(trainer.exec_properties["custom_config"])
    # What run_fn hands to make_strategy, on a machine with GPUs and a multi-worker TF_CONFIG: still the TPU.
    assert choose_strategy(custom_config["strategy"], tpu_address=custom_config["tpu_address"], gpus=8,
                           cpu_devices=4, tf_config=TWO_WORKERS) == "tpu"
