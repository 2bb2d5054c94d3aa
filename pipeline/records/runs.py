"""A pipeline's runs: their list with a status each, and what changed between two of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Tuple

from ml_metadata import metadata_store

from pipeline.records import mlmd
from pipeline.records.lineage import Lineage
from pipeline.records.render import code_digest, content_inputs


@dataclass
class RunRecord:
    run_id: str
    started_ms: int
    ended_ms: int
    status: str
    components: List[mlmd.NodeExecution]


def run_status(states: List[str], store_in_use: bool) -> str:
    """A run's status from its executions': FAILED, RUNNING (its run holds the store), INTERRUPTED (it stopped
    without finishing: a killed process), or COMPLETE."""
    if "FAILED" in states:
        return "FAILED"
    if any(s in ("NEW", "RUNNING", "UNKNOWN") for s in states):
        return "RUNNING" if store_in_use else "INTERRUPTED"
    return "COMPLETE"


def runs(store: metadata_store.MetadataStore, pipeline_name: str, store_in_use: bool) -> List[RunRecord]:
    records = []
    run_list = mlmd.run_ids(store, pipeline_name)
    for position, run_id in enumerate(run_list):
        nodes = mlmd.run_executions(store, pipeline_name, run_id)
        states = [n.state for n in nodes]
        # Only the newest run can still be running; older unfinished ones were interrupted.
        in_use = store_in_use and position == len(run_list) - 1
        started = min((n.execution.create_time_since_epoch for n in nodes), default=0)
        ended = max((n.execution.last_update_time_since_epoch for n in nodes), default=0)
        records.append(RunRecord(run_id, started, ended, run_status(states, in_use), nodes))
    return records


# --- differences between runs ----------------------------------------------------------------------

def run_facts(lineage: Lineage, run_id: str, auc_by_slice) -> Dict[str, object]:
    """What an auditor compares between two runs, flattened to 'area.name' keys."""
    facts: Dict[str, object] = {}
    for node in mlmd.run_executions(lineage.store, lineage.pipeline_name, run_id):
        execution = lineage.executions([node.execution.id])[node.execution.id]
        content, others = content_inputs(execution.properties)
        facts.update({f"inputs.{node.node_id}.{name}": line for name, line in content.items()})
        for key, value in others.items():
            if code_digest(key, execution.properties):
                facts[f"code.{node.node_id}"] = code_digest(key, execution.properties)
            elif key == "input_base":
                facts["data.input_base"] = value
            elif key in ("input_fingerprint", "span"):
                continue  # read from the examples artifact: an execution served from the cache does not repeat them
            else:
                facts[f"parameters.{node.node_id}.{key}"] = value
        for artifacts in mlmd.output_artifacts(lineage.store, node.execution.id).values():
            for a in lineage.artifacts([x.id for x in artifacts]).values():
                props = a.properties
                if "input_fingerprint" in props:
                    facts.update({"data.input_fingerprint": props["input_fingerprint"], "data.span": props.get("span"),
                                  "data.raw_sha256": props.get("input_sha256")})
                if node.node_id in ("ImportSchemaGen", "SchemaGen") and "sha256" in props:
                    facts["schema.sha256"] = props["sha256"]
                if a.type == "Model" and "sha256" in props:
                    facts["model.sha256"] = props["sha256"]
                for name in ("verdict", "blocking_checks", "blessed", "pushed", "k", "l", "rows_out",
                             "top_features", "median_completeness_error"):
                    if name in props:
                        facts[f"results.{node.node_id}.{name}"] = props[name]
                if a.type == "ModelEvaluation":
                    facts.update({f"metrics.auc.{s}": round(v, 4) for s, v in auc_by_slice(a.uri).items()})
    return facts


def diff_facts(a: Dict[str, object], b: Dict[str, object]) -> List[Tuple[str, object, object]]:
    return [(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
