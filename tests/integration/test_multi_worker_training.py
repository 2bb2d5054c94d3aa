"""The Trainer under MultiWorkerMirroredStrategy: two worker processes on loopback ports, as a cluster would run it.

Each worker runs the pipeline's Trainer executor (TFX's GenericExecutor, then the training record as properties) on
the Transform outputs of the session's pipeline run, with a TF_CONFIG naming both; the strategy is picked by
`training.strategy: auto` from that TF_CONFIG. The model they write must match the pipeline's single-worker model in
quality.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import roc_auc_score

from components.files import split_records
from pipeline.records import mlmd
from tests.helpers import first_run_executions

pytestmark = pytest.mark.e2e

WORKER = textwrap.dedent(
    """
    import json, sys
    from absl import logging
    from components.trainer.executor import Executor
    from tfx.types import artifact_utils, standard_artifacts

    spec = json.loads(sys.argv[1])

    def artifact(cls, uri, splits=None):
        a = cls()
        a.uri = uri
        if splits:
            a.split_names = artifact_utils.encode_split_names(splits)
        return [a]

    inputs = {
        "examples": artifact(standard_artifacts.Examples, spec["examples"], ["train", "eval"]),
        "transform_graph": artifact(standard_artifacts.TransformGraph, spec["transform_graph"]),
        "schema": artifact(standard_artifacts.Schema, spec["schema"]),
    }
    outputs = {
        "model": artifact(standard_artifacts.Model, spec["model"]),
        "model_run": artifact(standard_artifacts.ModelRun, spec["model_run"]),
    }
    logging.set_verbosity(logging.INFO)
    Executor().Do(inputs, outputs, spec["exec_properties"])
    model = outputs["model"][0]
    if model.has_custom_property("trained_on"):
        print("trained_on", model.get_string_custom_property("trained_on"),
              "replicas", model.get_int_custom_property("replicas"))
    """
)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _auc(model_dir, records, labels):
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    scores = serve(examples=tf.constant(records))["probability"].numpy().ravel()
    return roc_auc_score(labels, scores)


def test_two_worker_training_matches_single_worker_quality(pipeline_run, tmp_path):
    config, _ = pipeline_run
    store, executions = first_run_executions(config)
    trainer_inputs = mlmd.input_artifacts(store, executions["Trainer"].id)
    single_model = mlmd.output_artifacts(store, executions["Trainer"].id)["model"][0].uri
    custom_config = json.loads(executions["Trainer"].custom_properties["custom_config"].string_value)
    assert custom_config["strategy"] == "auto"
    # batch_size is per replica: two workers' steps take twice the examples, so half the steps see what the single
    # worker saw (and each step's all-reduce between the processes is most of this test's time).
    single_steps = json.loads(executions["Trainer"].custom_properties["train_args"].string_value)["num_steps"]

    spec = {
        "examples": trainer_inputs["examples"][0].uri,
        "transform_graph": trainer_inputs["transform_graph"][0].uri,
        "schema": trainer_inputs["schema"][0].uri,
        "model": str(tmp_path / "model"),
        "model_run": str(tmp_path / "model_run"),
        "exec_properties": {
            key: executions["Trainer"].custom_properties[key].string_value
            for key in ("eval_args", "custom_config")
        } | {"run_fn": "pipeline.modules.training.run_fn", "train_args": json.dumps({"num_steps": single_steps // 2})},
    }
    cluster = {"worker": [f"localhost:{port}" for port in _free_ports(2)]}
    workers = []
    for index in range(2):
        env = {**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})}
        log = (tmp_path / f"worker-{index}.log").open("w")
        workers.append(subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(spec)], env=env,
                                        stdout=log, stderr=subprocess.STDOUT))
    codes = [worker.wait(timeout=900) for worker in workers]
    logs = [(tmp_path / f"worker-{index}.log").read_text() for index in range(2)]
    assert codes == [0, 0], "\n".join(log[-3000:] for log in logs)
    for log in logs:  # CollectiveAllReduceStrategy: the class behind tf.distribute.MultiWorkerMirroredStrategy
        assert "Training with CollectiveAllReduceStrategy on 2 replica(s)." in log

    # Only the chief (worker 0) wrote the artifact; the other worker cleaned up after itself.
    serving = tmp_path / "model" / "Format-Serving"
    assert (serving / "saved_model.pb").is_file()
    assert (tmp_path / "model_run" / "glassbox_feature_map.json").is_file()
    # The chief's model says it trained on the chief's device, one of the 2 replicas.
    assert "trained_on CPU:0 replicas 2" in logs[0], logs[0][-3000:]

    examples = mlmd.output_artifacts(store, executions["Privacy"].id)["deidentified_examples"][0].uri
    records = split_records(os.path.join(examples, "Split-eval"))
    labels = np.array([tf.train.Example.FromString(r).features.feature[config.label].int64_list.value[0]
                       for r in records])
    single = _auc(os.path.join(single_model, "Format-Serving"), records, labels)
    multi = _auc(str(serving), records, labels)
    print(f"eval AUC: single worker {single:.4f}, two workers {multi:.4f}")
    assert abs(multi - single) <= 0.02, (single, multi)
