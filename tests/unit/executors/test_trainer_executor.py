"""Glassbox's Trainer executor: TFX's GenericExecutor trains (a tiny module, tiny_trainer.py), then the training
record's devices, strategy and replicas become MLMD properties of the model and model_run; a GPU asked for on a host
without one fails in the module with one sentence, and no model is written."""

import json
import os

import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.trainer.executor import Executor
from tests.unit.executors.builders import artifact

RUN_FN = "tests.unit.executors.tiny_trainer.run_fn"


def _train(tmp_path, **custom_config):
    """Runs the executor's Do as the orchestrator would, on an Examples artifact whose splits the module never
    reads; returns the model and model_run artifacts it filled."""
    for split in ("train", "eval"):
        os.makedirs(tmp_path / "examples" / f"Split-{split}")
    outputs = {"model": [artifact(standard_artifacts.Model, tmp_path / "model")],
               "model_run": [artifact(standard_artifacts.ModelRun, tmp_path / "model_run")]}
    (tmp_path / "model_run").mkdir()
    Executor().Do(
        {"examples": [artifact(standard_artifacts.Examples, tmp_path / "examples", ["train", "eval"])]}, outputs,
        {"run_fn": RUN_FN, "train_args": json.dumps({"num_steps": 4}), "eval_args": json.dumps({"num_steps": 1}),
         "custom_config": json.dumps({"strategy": "auto", "tpu_address": None, **custom_config})})
    return outputs["model"][0], outputs["model_run"][0]


def test_the_model_carries_the_devices_it_trained_on(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this host has a GPU, which auto trains on")
    model, model_run = _train(tmp_path, devices="auto")
    assert (tmp_path / "model" / "Format-Serving" / "saved_model.pb").is_file()
    for trained in (model, model_run):
        assert trained.get_string_custom_property("trained_on") == "CPU:0"
        assert trained.get_string_custom_property("strategy") == "_DefaultDistributionStrategy"
        assert trained.get_int_custom_property("replicas") == 1
        assert trained.get_int_custom_property("global_batch_size") == 16
        assert trained.get_string_custom_property("devices_requested") == "auto"
        assert not trained.has_custom_property("device_names")  # no GPU, no GPU model name


def test_a_module_that_writes_no_record_leaves_the_model_without_training_properties(tmp_path):
    model, _ = _train(tmp_path, record=False)
    assert (tmp_path / "model" / "Format-Serving" / "saved_model.pb").is_file()
    assert not model.has_custom_property("trained_on") and not model.has_custom_property("strategy")


def test_a_gpu_asked_for_on_a_host_without_one_fails_before_training(tmp_path):
    if tf.config.list_physical_devices("GPU"):
        pytest.skip("this host has a GPU: the request is met")
    with pytest.raises(ValueError, match=r"^kubeflow.trainer_accelerator NVIDIA_TESLA_T4 asks for a GPU and "
                                         r"TensorFlow [0-9.]+ sees none on this host \(it sees CPU; .*\)$") as error:
        _train(tmp_path, devices="gpu", devices_asked_by="kubeflow.trainer_accelerator NVIDIA_TESLA_T4")
    assert "\n" not in str(error.value) and ". " not in str(error.value)  # one sentence
    assert not (tmp_path / "model" / "Format-Serving").exists()
