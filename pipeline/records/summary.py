"""What a finished run produced, read back from MLMD and the Evaluator's output."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import tensorflow_model_analysis as tfma

from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.records import mlmd


@dataclass
class RunSummary:
    run_id: str
    components: List[mlmd.NodeExecution]
    model_uri: str | None = None
    evaluation_uri: str | None = None
    blessed: bool | None = None
    pushed_uri: str | None = None
    auc_by_slice: Dict[str, float] = field(default_factory=dict)
    accuracy_by_slice: Dict[str, float] = field(default_factory=dict)  # image (multi-class) models
    explanations: Dict[str, object] = field(default_factory=dict)
    audit: Dict[str, object] = field(default_factory=dict)


def auc_by_slice(evaluation_uri: str, metric: str = "auc") -> Dict[str, float]:
    """The candidate model's AUC (or another metric) per slice ('Overall', 'sex:female', ...)."""
    result = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        key = tfma.slicer.stringify_slice_key(tfma.slicer.deserialize_slice_key(metrics.slice_key))
        for kv in metrics.metric_keys_and_values:
            if kv.key.name == metric and not kv.key.is_diff and not kv.key.model_name.endswith("baseline"):
                result[key] = kv.value.double_value.value
    return dict(sorted(result.items()))


def _properties(artifact) -> Dict[str, object]:
    """An artifact's URI and custom properties as plain values."""
    return {"uri": artifact.uri, **mlmd.plain_properties(artifact.custom_properties)}


def summarize_run(config: PipelineConfig, run_id: str | None = None) -> RunSummary:
    store = metadata.open_store(config)
    run_id = run_id or mlmd.run_ids(store, config.pipeline_name)[-1]
    components = mlmd.run_executions(store, config.pipeline_name, run_id)
    summary = RunSummary(run_id=run_id, components=components)
    for node in components:
        outputs = mlmd.output_artifacts(store, node.execution.id)
        if node.node_id == "Trainer" and outputs.get("model"):
            summary.model_uri = outputs["model"][0].uri
        elif node.node_id == "Explainer" and outputs.get("explanations"):
            summary.explanations = _properties(outputs["explanations"][0])
        elif node.node_id == "ModelAudit" and outputs.get("audit_report"):
            summary.audit = _properties(outputs["audit_report"][0])
        elif node.node_id == "Evaluator":
            if outputs.get("evaluation"):
                summary.evaluation_uri = outputs["evaluation"][0].uri
                if config.image:
                    summary.accuracy_by_slice = auc_by_slice(summary.evaluation_uri, "sparse_categorical_accuracy")
                else:
                    summary.auc_by_slice = auc_by_slice(summary.evaluation_uri)
            if outputs.get("blessing"):
                summary.blessed = outputs["blessing"][0].custom_properties["blessed"].int_value == 1
        elif node.node_id == "Pusher" and outputs.get("pushed_model"):
            pushed = outputs["pushed_model"][0]
            if pushed.custom_properties["pushed"].int_value == 1:
                summary.pushed_uri = pushed.custom_properties["pushed_destination"].string_value
    return summary
