"""What a decision is made with, found in ML Metadata: the model, and what the run that trained it recorded about it.

The pushed model is the one behind the latest successful push (`Lineage.pushed_model`, as `glassbox lineage model
--pushed` finds it), which the Evaluator blessed and the audit passed; any other Model artifact can be named by id.
From the run that pushed it (or, for a model never pushed, the latest run that trained it) come the Explainer's
settings and its output (the background rows the attributions were computed against), the schema, the privacy policy
and the pseudonymization key's id, the audit policy and the decision threshold the model was audited at. Policies are
read as the components received them (their execution parameters: validated content, not a file that may have
changed since), and every file read is checked against the sha256 that lineage sealed: a model, a background or a
schema changed after its run is refused, as `glassbox lineage verify` would report it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Dict, List

from ml_metadata.proto import metadata_store_pb2
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx.utils import io_utils, path_utils

from components.digests import DIGEST_PROPERTY, MANIFEST_PROPERTY, content_manifest, file_digest
from components.explainer.config import ExplainerConfig, parse_config
from components.explainer.explain import BACKGROUND_FILE
from pipeline import metadata
from pipeline.config import PipelineConfig, node_role
from pipeline.records import mlmd
from pipeline.records.graph import LineageError
from pipeline.records.lineage import Lineage

_DONE = ("COMPLETE", "CACHED")


class ServingSetupError(ValueError):
    """What a decision needs is missing or was altered; one sentence says what and where."""


class NoPushedModelError(ServingSetupError, LookupError):
    """No model has been pushed in the store: nothing passed the Evaluator and the audit yet."""


@dataclass(frozen=True)
class Served:
    """A model and what its run recorded, with the ids and digests a decision cites."""

    model_id: int
    model_uri: str
    model_dir: str  # the SavedModel (Format-Serving) inside the Model artifact
    model_sha256: str
    run_id: str
    pushed_uri: str | None
    explanations_id: int
    explanations_uri: str
    settings: ExplainerConfig
    schema: schema_pb2.Schema
    privacy_policy: str | None  # canonical JSON, as Privacy received it; None when the run de-identified nothing
    privacy_source: str | None
    key_id: str | None  # the id of the key the run pseudonymized with (never the key)
    audit_policy: str | None  # canonical JSON, as ModelAudit received it
    audit_source: str | None
    audit_verdict: str | None
    threshold: float
    statistics_uri: str | None = None  # the run's StatisticsGen output: what live monitoring compares with

    @property
    def background_path(self) -> str:
        return os.path.join(self.explanations_uri, BACKGROUND_FILE)


def _string(message, name: str) -> str | None:
    value = message.custom_properties.get(name)
    return mlmd.plain_value(value) if value is not None else None


def verify_sealed(artifact: metadata_store_pb2.Artifact, what: str, files: List[str] | None = None) -> str:
    """The artifact's sealed sha256, after checking its content against the seal's manifest: every file (`files`
    None) or the named ones (paths relative to its URI). Raises ServingSetupError when it is unsealed or differs."""
    digest, manifest = _string(artifact, DIGEST_PROPERTY), _string(artifact, MANIFEST_PROPERTY)
    if not digest or not manifest:
        raise ServingSetupError(f"The {what} (artifact {artifact.id}, {artifact.uri}) is not sealed: run "
                                "`glassbox lineage seal` on its run before serving it.")
    recorded: Dict[str, str] = json.loads(manifest)
    if files is None:
        current = content_manifest(artifact.uri) if os.path.exists(artifact.uri) else {}
        changed = sorted(p for p in set(recorded) | set(current) if recorded.get(p) != current.get(p))
    else:
        changed = [p for p in files if p not in recorded or not os.path.isfile(os.path.join(artifact.uri, p))
                   or file_digest(os.path.join(artifact.uri, p)) != recorded[p]]
    if changed:
        raise ServingSetupError(f"The {what} at {artifact.uri} differs from what its run sealed ({changed[0]}"
                                f"{f' and {len(changed) - 1} more' if len(changed) > 1 else ''}); "
                                "`glassbox lineage verify` names every change.")
    return digest


def _serving_run(lineage: Lineage, model_id: int) -> tuple[str, str | None]:
    """(run id, pushed copy's directory): the latest run that pushed the model, else the latest that trained it."""
    edges = lineage.events_of_artifacts([model_id])
    executions = lineage.executions({e.execution_id for e in edges})

    def latest(component: str, reading: bool) -> list:
        """The finished executions of the training pipeline's `component` that read (or wrote) the model, newest
        first."""
        ids = {e.execution_id for e in edges if e.is_input == reading}
        return sorted((x for i, x in executions.items() if i in ids and node_role(x.component) == component
                       and x.state in _DONE and not x.monitoring), key=lambda x: (x.started_ms, x.id), reverse=True)

    for pusher in latest("Pusher", reading=True):
        for artifact in mlmd.output_artifacts(lineage.store, pusher.id).get("pushed_model", []):
            if _string(artifact, "pushed") == 1:
                return pusher.run_id, _string(artifact, "pushed_destination")
    trainers = latest("Trainer", reading=False)
    if not trainers:
        raise ServingSetupError(f"Model {model_id} was not trained by {lineage.pipeline_name}'s Trainer.")
    return trainers[0].run_id, None


def find_served(config: PipelineConfig, model_id: int | None = None) -> Served:
    """The pushed model (or Model artifact `model_id`) and what its run recorded; see the module docstring."""
    if config.image is not None:
        raise ServingSetupError("The decision service serves tabular models; this config is an image model's.")
    store = metadata.open_store(config)
    lineage = Lineage(store, config.pipeline_name)
    if model_id is None:
        try:
            model_id = lineage.pushed_model()
        except LineageError:
            raise NoPushedModelError(
                f"No model has been pushed in the metadata store of {config.pipeline_name} "
                f"({config.metadata_path if config.metadata.kind == 'sqlite' else config.metadata.host}): "
                "run `glassbox run` until a model passes the Evaluator and the audit, or name a model id.") from None
    [model] = store.get_artifacts_by_id([model_id]) or [None]
    if model is None or lineage.artifact(model_id).type != "Model":
        raise ServingSetupError(f"Artifact {model_id} is not a Model in the metadata store of {config.pipeline_name}.")
    run_id, pushed_uri = _serving_run(lineage, model_id)

    found: Dict[str, tuple] = {}  # node -> (execution, its outputs by key)
    for node in mlmd.run_executions(store, config.pipeline_name, run_id):
        if node.state not in _DONE:
            continue
        inputs = mlmd.input_artifacts(store, node.execution.id)
        role = node_role(node.node_id)  # a challenger's Explainer_scorecard explains the scorecard it trained
        if role in ("Explainer", "ModelAudit") and [a.id for a in inputs.get("model", [])] != [model_id]:
            continue
        found[role] = (node.execution, mlmd.output_artifacts(store, node.execution.id))
    if "Explainer" not in found:
        raise ServingSetupError(f"Run {run_id} has no finished Explainer execution on model {model_id}: its "
                                "attributions have no background to be computed against.")
    explainer, explainer_outputs = found["Explainer"]
    [explanations] = explainer_outputs["explanations"]
    schema_node = next((n for n in ("ImportSchemaGen", "SchemaGen") if n in found), None)
    if schema_node is None:
        raise ServingSetupError(f"Run {run_id} has no schema: requests cannot be checked against its contract.")
    [schema_artifact] = found[schema_node][1]["schema"]
    statistics = (found["StatisticsGen"][1].get("statistics") or [None])[-1] if "StatisticsGen" in found else None

    model_sha256 = verify_sealed(model, f"model {model_id}")
    verify_sealed(explanations, "Explainer's output", [BACKGROUND_FILE])
    schema_file = io_utils.get_only_uri_in_dir(schema_artifact.uri)
    verify_sealed(schema_artifact, "schema", [os.path.relpath(schema_file, schema_artifact.uri)])
    schema = io_utils.SchemaReader().read(schema_file)
    if statistics is not None:
        verify_sealed(statistics, "training statistics", [os.path.join("Split-train", "FeatureStats.pb")])

    settings = parse_config(_string(explainer, "config"))
    privacy = found.get("Privacy")
    audit = found.get("ModelAudit")
    privacy_json = _string(privacy[0], "policy") if privacy else None
    reports = privacy[1].get("privacy_report", []) if privacy else []
    key_id = (_string(reports[0], "key_id") if reports else None) or (_string(privacy[0], "key_id") if privacy
                                                                      else None)
    audit_reports = audit[1].get("audit_report", []) if audit else []
    threshold = _string(audit[0], "decision_threshold") if audit else None
    return Served(
        model_id=model_id, model_uri=model.uri, model_dir=path_utils.serving_model_path(model.uri),
        model_sha256=model_sha256, run_id=run_id, pushed_uri=pushed_uri,
        explanations_id=explanations.id, explanations_uri=explanations.uri, settings=settings, schema=schema,
        privacy_policy=privacy_json, privacy_source=_string(privacy[0], "policy_source") if privacy else None,
        key_id=key_id or None,
        audit_policy=_string(audit[0], "policy") if audit else None,
        audit_source=_string(audit[0], "policy_source") if audit else None,
        audit_verdict=_string(audit_reports[0], "verdict") if audit_reports else None,
        threshold=float(threshold) if threshold is not None else settings.decision_threshold,
        statistics_uri=statistics.uri if statistics is not None else None,
    )
