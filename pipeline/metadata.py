"""Reading a run back from ML Metadata: its executions per component and their artifacts.

Only MLMD's stable calls are used (contexts, executions and events by id), no filter
queries, so these helpers keep working on newer ml-metadata releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

PIPELINE_RUN_CONTEXT = "pipeline_run"
NODE_CONTEXT = "node"
State = metadata_store_pb2.Execution.State


def open_store(metadata_path: Path) -> metadata_store.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(metadata_path)
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return metadata_store.MetadataStore(config)


def run_ids(store: metadata_store.MetadataStore, pipeline_name: str) -> List[str]:
    """Runs of a pipeline, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    runs = [c for c in store.get_children_contexts_by_context(pipeline.id) if _is_run(store, c)]
    if not runs:  # TFX 1.16 does not parent run contexts; fall back to all runs of the type.
        runs = [
            c
            for c in store.get_contexts_by_type(PIPELINE_RUN_CONTEXT)
            if {e.id for e in store.get_executions_by_context(c.id)}
            & {e.id for e in store.get_executions_by_context(pipeline.id)}
        ]
    return [c.name for c in sorted(runs, key=lambda c: (c.create_time_since_epoch, c.id))]


def _is_run(store, context) -> bool:
    return store.get_context_types_by_id([context.type_id])[0].name == PIPELINE_RUN_CONTEXT


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
    run = store.get_context_by_type_and_name(PIPELINE_RUN_CONTEXT, run_id)
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
        NodeExecution(node_of.get(e.id, "?"), e)
        for e in sorted(in_run.values(), key=lambda e: (e.create_time_since_epoch, e.id))
    ]


_OUTPUT_EVENTS = (metadata_store_pb2.Event.OUTPUT, metadata_store_pb2.Event.DECLARED_OUTPUT)
_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


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
