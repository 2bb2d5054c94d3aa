"""What a monitoring run needs from the store, and what it left there: the watched model's training-time
baseline, the latest monitoring report, and whether its alerts block."""

from __future__ import annotations

from typing import Mapping

from pipeline.config import MonitorBaseline, PipelineConfig
from pipeline.records import mlmd
from pipeline.records.graph import LineageError
from pipeline.records.lineage import Lineage

# What the Monitor compares the span with: the node that made each artifact in the model's training run.
BASELINE_OUTPUTS = {"statistics_uri": (("StatisticsGen",), "statistics"),
                    "schema_uri": (("ImportSchemaGen", "SchemaGen"), "schema"),
                    "explanations_uri": (("Explainer",), "explanations")}

def resolve_baseline(lineage: Lineage, model_id: int) -> MonitorBaseline:
    """The model's URI and those of the statistics, schema and explanations of the run that trained it."""
    model = lineage.artifact(model_id)
    trainers = [e.execution_id for e in lineage.events_of_artifacts([model_id]) if not e.is_input]
    runs = {x.run_id for x in lineage.executions(trainers).values() if x.component == "Trainer"}
    if not runs:
        raise LineageError(f"Model {model_id} was not trained by {lineage.pipeline_name}'s Trainer.")
    nodes = mlmd.run_executions(lineage.store, lineage.pipeline_name, runs.pop())
    uris = {}
    for field, (node_ids, key) in BASELINE_OUTPUTS.items():
        found = [a for n in nodes if n.node_id in node_ids
                 for a in mlmd.output_artifacts(lineage.store, n.execution.id).get(key, [])]
        if not found:
            raise LineageError(f"The run that trained model {model_id} has no {key} from {' or '.join(node_ids)}.")
        uris[field] = found[-1].uri
    return MonitorBaseline(model_uri=model.uri, **uris)


def latest_monitor_report(store, config: PipelineConfig) -> str:
    """The URI of the MonitorReport of the latest monitoring run."""
    for node in reversed(mlmd.run_executions(store, config.monitor_pipeline_name)):
        reports = mlmd.output_artifacts(store, node.execution.id).get("monitor_report")
        if reports:
            return reports[0].uri
    raise LineageError(f"No monitoring run of {config.pipeline_name} has a report yet.")


def block_alerts(report: Mapping) -> list[str]:
    """The ids of the checks that raised a `block` alert in a monitoring report (monitor.json): when there are any,
    the model should not keep serving unreviewed, and `glassbox monitor` exits non-zero (README, "Monitoring")."""
    return [alert["id"] for alert in report["alerts"] if alert["severity"] == "block"]
