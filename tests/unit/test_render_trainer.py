"""The Trainer's lines of `glassbox lineage model`: the strategy and the devices it trained on, from the model's MLMD
properties when Glassbox's Trainer executor set them, else from the record in model_run, else (an older run) none."""

import json

from components.trainer.record import TRAINING_RECORD
from pipeline.records.graph import Artifact, Edge, Execution, Graph
from pipeline.records.render import describe_execution

RECORD = {"strategy": "MirroredStrategy", "replicas": 2, "global_batch_size": 64, "devices": ["GPU:0", "GPU:1"],
          "device_names": {"GPU:0": "NVIDIA H200", "GPU:1": "NVIDIA H200"}, "devices_requested": "gpu"}


def _graph(tmp_path, record, model_properties):
    (tmp_path / "model_run").mkdir()
    if record is not None:
        (tmp_path / "model_run" / TRAINING_RECORD).write_text(json.dumps(record))
    graph = Graph(focus=2)
    graph.executions[1] = Execution(1, "Trainer", "run-1", "COMPLETE", 0, 12.5, {})
    graph.artifacts[2] = Artifact(2, "Model", str(tmp_path / "model"), model_properties, 0)
    graph.artifacts[3] = Artifact(3, "ModelRun", str(tmp_path / "model_run"), {}, 0)
    graph.edges |= {Edge(2, 1, "model", False), Edge(3, 1, "model_run", False)}
    return graph


def test_the_devices_come_from_the_models_properties(tmp_path):
    properties = {"trained_on": "GPU:0,GPU:1", "device_names": json.dumps(RECORD["device_names"]),
                  "devices_requested": "gpu"}
    lines = describe_execution(_graph(tmp_path, {**RECORD, "devices": ["CPU:0"]}, properties),
                               Execution(1, "Trainer", "run-1", "COMPLETE", 0, 12.5, {}))
    assert "strategy: MirroredStrategy on 2 replica(s), global batch 64" in lines
    assert "trained on: GPU:0 (NVIDIA H200), GPU:1 (NVIDIA H200) (devices: gpu)" in lines


def test_without_properties_the_record_says_it(tmp_path):
    graph = _graph(tmp_path, {**RECORD, "device_names": {}, "devices_requested": "auto"}, {})
    assert "trained on: GPU:0, GPU:1 (devices: auto)" in describe_execution(graph, graph.executions[1])


def test_a_run_from_before_devices_were_recorded_shows_its_strategy_only(tmp_path):
    graph = _graph(tmp_path, {"strategy": "_DefaultDistributionStrategy", "replicas": 1, "global_batch_size": 32}, {})
    lines = describe_execution(graph, graph.executions[1])
    assert "strategy: _DefaultDistributionStrategy on 1 replica(s), global batch 32" in lines
    assert not any(line.startswith("trained on") for line in lines)
