"""`training.devices`: the rules without the hardware, then real TensorFlow on this host (a GPU asked for fails in one
sentence; auto trains on the CPU and records it)."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.trainer.record import TRAINING_RECORD, record_properties
from pipeline.config import ConfigError, load_config
from pipeline.modules import distribution
from pipeline.modules.devices import (
    devices_conflict,
    kubeflow_devices,
    name_gpus,
    no_gpu_message,
    short_device_names,
)
from pipeline.runners.preflight import PreflightError, preflight_check


def _one_sentence(message: str) -> bool:
    return "\n" not in message and ". " not in message.replace("e.g. ", "")


@pytest.mark.parametrize("devices, strategy, tpu_address, fragment", [
    ("auto", "auto", None, None),
    ("gpu", "auto", None, None),
    ("gpu", "mirrored", None, None),
    ("tpu", "auto", "local", None),
    ("tpu", "tpu", "grpc://10.0.0.2:8470", None),
    ("tpu", "auto", None, "needs training.tpu_address"),
    ("tpu", "mirrored", "local", "training.strategy mirrored does not train on"),
    ("gpu", "auto", "local", "trains on a TPU"),
    ("gpu", "tpu", "local", "trains on a TPU"),
    ("npu", "auto", None, "expected one of auto, gpu, tpu"),
])
def test_devices_conflict(devices, strategy, tpu_address, fragment):
    conflict = devices_conflict(devices, strategy=strategy, tpu_address=tpu_address)
    if fragment is None:
        assert conflict is None
    else:
        assert conflict.startswith("training.devices ") and fragment in conflict and _one_sentence(conflict)


@pytest.mark.parametrize("devices, accelerator, expected", [
    ("auto", None, ("auto", "training.devices")),
    ("auto", "NVIDIA_TESLA_T4", ("gpu", "kubeflow.trainer_accelerator NVIDIA_TESLA_T4")),
    ("auto", "nvidia.com/gpu", ("gpu", "kubeflow.trainer_accelerator nvidia.com/gpu")),
    ("auto", "TPU_V3", ("tpu", "kubeflow.trainer_accelerator TPU_V3")),
    ("auto", "google.com/tpu", ("tpu", "kubeflow.trainer_accelerator google.com/tpu")),
    ("gpu", "TPU_V3", ("gpu", "training.devices")),  # an explicit setting wins; devices_conflict judges it
])
def test_a_kubeflow_accelerator_asks_for_its_kind_when_devices_is_auto(devices, accelerator, expected):
    assert kubeflow_devices(devices, accelerator) == expected


@pytest.mark.parametrize("facts, reason", [
    ({"built_with_cuda": False, "cuda_version": None, "driver_loads": False, "visible_devices": None},
     "this TensorFlow is built without CUDA: install tensorflow[and-cuda])"),
    ({"built_with_cuda": True, "cuda_version": "12.3", "driver_loads": True, "visible_devices": "-1"},
     "CUDA_VISIBLE_DEVICES is '-1', which hides every GPU)"),
    ({"built_with_cuda": True, "cuda_version": "12.3", "driver_loads": False, "visible_devices": None},
     "this TensorFlow is built with CUDA 12.3 but no NVIDIA driver (libcuda.so.1) loads here)"),
    ({"built_with_cuda": True, "cuda_version": "12.3", "driver_loads": True, "visible_devices": "0"},
     "are missing or of another version: install tensorflow[and-cuda])"),
])
def test_no_gpu_message_says_what_tensorflow_sees_and_why(facts, reason):
    message = no_gpu_message("training.devices", "2.16.2", ["CPU", "CPU"], **facts)
    assert message.startswith("training.devices asks for a GPU and TensorFlow 2.16.2 sees none on this host "
                              "(it sees CPU; ")
    assert message.endswith(reason) and _one_sentence(message)


def test_device_names_are_shortened_and_gpus_named():
    assert short_device_names(["/job:localhost/replica:0/task:0/device:CPU:0", "/device:GPU:1", "/cpu:2"]) == [
        "CPU:0", "GPU:1", "CPU:2"]
    # Devices of several tasks (a TPU pod, say) keep their task where they would otherwise read the same.
    assert short_device_names(["/job:worker/replica:0/task:0/device:TPU:0",
                               "/job:worker/replica:0/task:1/device:TPU:0"]) == ["task:0/TPU:0", "task:1/TPU:0"]
    assert name_gpus(["GPU:0", "GPU:1", "CPU:0"], ["NVIDIA H200", "NVIDIA L4"], 2) == {
        "GPU:0": "NVIDIA H200", "GPU:1": "NVIDIA L4"}
    # One physical GPU split into two logical ones: both are that GPU.
    assert name_gpus(["GPU:0", "GPU:1"], ["NVIDIA H200"], 2) == {"GPU:0": "NVIDIA H200", "GPU:1": "NVIDIA H200"}
    assert name_gpus(["GPU:0"], [None], 1) == {}


@pytest.mark.parametrize("training, field", [
    ({"devices": "npu"}, "training.devices"),
    ({"devices": "tpu"}, "training"),
    ({"devices": "gpu", "strategy": "tpu", "tpu_address": "local"}, "training"),
])
def test_a_device_request_the_config_cannot_meet_is_refused_on_loading(tmp_path, training, field):
    with pytest.raises(ConfigError) as error:
        load_config(output_dir=tmp_path, training=training)
    assert f"'{field}'" in str(error.value)


def test_a_gpu_asked_for_on_this_host_fails_in_one_sentence_with_real_tensorflow(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this host has a GPU: the request is met")
    with pytest.raises(ValueError) as error:
        distribution.make_strategy("auto", devices="gpu")
    message = str(error.value)
    seen = ", ".join(dict.fromkeys(d.device_type for d in tf.config.list_physical_devices()))
    cuda = "built with CUDA" if tf.test.is_built_with_cuda() else "built without CUDA: install tensorflow[and-cuda]"
    assert message.startswith(f"training.devices asks for a GPU and TensorFlow {tf.version.VERSION} sees none on "
                              f"this host (it sees {seen}; this TensorFlow is {cuda}"), message
    assert _one_sentence(message), message
    # A local run says so before any component starts.
    with pytest.raises(PreflightError, match="^training.devices asks for a GPU and TensorFlow"):
        preflight_check(load_config(output_dir=tmp_path, training={"devices": "gpu"}))


def test_auto_trains_on_the_cpu_and_records_it(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this host has a GPU, which auto trains on")
    strategy = distribution.make_strategy("auto", devices="auto")
    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    history = model.fit(x, (x[:, 0] > 0).astype("float32"), epochs=3, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    distribution.write_training_record(str(tmp_path), distribution.training_record(strategy, 32, "auto"))
    with open(os.path.join(tmp_path, TRAINING_RECORD)) as f:
        record = json.load(f)
    assert record["devices"] == ["CPU:0"] and record["device_names"] == {}, record
    assert record_properties(record) == {
        "trained_on": "CPU:0", "device_names": None, "strategy": "_DefaultDistributionStrategy", "replicas": 1,
        "global_batch_size": 32, "devices_requested": "auto", "model_kind": None}


def test_glassbox_run_refuses_a_gpu_it_cannot_have_in_one_line_before_any_work(capfd, tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this host has a GPU: the request is met")
    from pipeline.cli import main

    config_file = tmp_path / "gpu.yaml"
    config_file.write_text("output_dir: out\ntraining:\n  devices: gpu\n")
    code = main(["run", "--config", str(config_file)])
    err = capfd.readouterr().err.strip().splitlines()
    assert (code, len(err)) == (2, 1), err
    assert err[0].startswith("glassbox: training.devices asks for a GPU and TensorFlow "), err
    assert not (tmp_path / "out" / "pipeline_root").exists()
