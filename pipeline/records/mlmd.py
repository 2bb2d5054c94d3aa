"""Reading a run back from ML Metadata: its executions per component and their artifacts.

Only MLMD's stable calls are used (contexts, executions and events by id), no filter
queries, so these helpers keep working on newer ml-metadata releases.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Dict, List, Tuple

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

PIPELINE_RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
# TFX's classic launcher (the Airflow runner) records a run as a 'run' context named '<pipeline>.<run id>', and an
# execution's component in its `component_id` property, where the local and Kubeflow launchers use the two above.
RUN_CONTEXTS = (PIPELINE_RUN_CONTEXT, "run")
COMPONENT_ID_PROPERTY = "component_id"
State = metadata_store_pb2.Execution.State


def run_ids(store: metadata_store.MetadataStore, pipeline_name: str) -> List[str]:
    """Runs of a pipeline, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    runs = [c for c in store.get_children_contexts_by_context(pipeline.id) if _is_run(store, c)]
    if not runs:  # TFX 1.16 does not parent run contexts; fall back to all runs of the types.
        in_pipeline = {e.id for e in store.get_executions_by_context(pipeline.id)}
        runs = [
            c
            for kind in RUN_CONTEXTS
            for c in store.get_contexts_by_type(kind)
            if {e.id for e in store.get_executions_by_context(c.id)} & in_pipeline
        ]
    return [c.name for c in sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))]


def _is_run(store, context) -> bool:
    return store.get_context_types_by_id([context.type_id])[0].name in RUN_CONTEXTS


def _run_context(store, run_id: str) -> metadata_store_pb2.Context | None:
    for kind in RUN_CONTEXTS:
        run = store.get_context_by_type_and_name(kind, run_id)
        if run is not None:
            return run
    return None


def component_of(execution: metadata_store_pb2.Execution, node_name: str | None) -> str:
    """The component an execution ran: its node context's name without the pipeline prefix, else the classic
    launcher's `component_id` property, else '?'."""
    if node_name is not None:
        return node_name
    component = execution.properties.get(COMPONENT_ID_PROPERTY)
    return component.string_value if component is not None else "?"


@dataclass
class NodeExecution:
    node_id: str
    execution: metadata_store_pb2.Execution

    @property
    def state(self) -> str:
        return State.Name(self.execution.last_known_state)

    @property
    def seconds(self) -> float:
        e = self.execution
        return max(0.0, (e.last_update_time_since_epoch - e.create_time_since_epoch) / 1000.0)


def run_executions(
    store: metadata_store.MetadataStore, pipeline_name: str, run_id: str | None = None
) -> List[NodeExecution]:
    """Executions of one run (the latest by default), in the order they were created."""
    if run_id is None:
        runs = run_ids(store, pipeline_name)
        if not runs:
            return []
        run_id = runs[-1]
    run = _run_context(store, run_id)
    if run is None:
        raise KeyError(f"No run {run_id!r} in this metadata store.")
    in_run = {e.id: e for e in store.get_executions_by_context(run.id)}
    node_of: Dict[int, str] = {}
    for node in store.get_contexts_by_type(NODE_CONTEXT):
        prefix = f"{pipeline_name}."
        if not node.name.startswith(prefix):
            continue
        for execution in store.get_executions_by_context(node.id):
            if execution.id in in_run:
                node_of[execution.id] = node.name[len(prefix):]
    return [
        NodeExecution(component_of(e, node_of.get(e.id)), e)
        for e in sorted(in_run.values(), key=lambda e: (e.create_time_since_epoch, e.id))
    ]


_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def plain_value(value: metadata_store_pb2.Value):
    """An MLMD property value as the Python value it holds (a struct as a dict)."""
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    return getattr(value, kind) if kind else None


def plain_properties(properties) -> Dict[str, object]:
    """An artifact's or execution's (custom) properties as plain values, by name."""
    return {key: plain_value(value) for key, value in sorted(properties.items())}


def _artifacts_by_key(store, execution_id: int, event_types) -> Dict[str, List[metadata_store_pb2.Artifact]]:
    events = [e for e in store.get_events_by_execution_ids([execution_id]) if e.type in event_types]
    artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
    by_key: Dict[str, List[metadata_store_pb2.Artifact]] = {}
    for event in events:
        key = event.path.steps[0].key if event.path.steps else ""
        by_key.setdefault(key, []).append(artifacts[event.artifact_id])
    return by_key


def output_artifacts(store, execution_id: int) -> Dict[str, List[metadata_store_pb2.Artifact]]:
    """Output artifacts of an execution by output key ('model', 'blessing', ...)."""
    return _artifacts_by_key(store, execution_id, _OUTPUT_EVENTS)


def input_artifacts(store, execution_id: int) -> Dict[str, List[metadata_store_pb2.Artifact]]:
    """Input artifacts of an execution by input key ('examples', 'schema', ...)."""
    return _artifacts_by_key(store, execution_id, _INPUT_EVENTS)


def executor_call(store, execution: metadata_store_pb2.Execution, out_dir: str) -> Tuple[Dict, Dict, Dict]:
    """(inputs, outputs, exec_properties) to call the executor of a recorded `execution` again: its input artifacts
    as recorded, new output artifacts of the recorded types and properties in `out_dir`/<output key>, and its
    properties as plain values. TFX is imported here: the lineage commands start without it."""
    from tfx.types import artifact_utils

    artifact_types = {t.id: t for t in store.get_artifact_types()}

    def tfx_artifacts(by_key, fresh: bool) -> Dict[str, List]:
        made = {}
        for key, artifacts in by_key.items():
            made[key] = []
            for artifact in artifacts:
                if fresh:
                    artifact = metadata_store_pb2.Artifact(type_id=artifact.type_id, uri=os.path.join(out_dir, key),
                                                           properties=artifact.properties)
                made[key].append(artifact_utils.deserialize_artifact(artifact_types[artifact.type_id], artifact))
        return made

    return (tfx_artifacts(input_artifacts(store, execution.id), fresh=False),
            tfx_artifacts(output_artifacts(store, execution.id), fresh=True),
            {**plain_properties(execution.custom_properties), **plain_properties(execution.properties)})
