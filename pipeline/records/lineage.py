"""Lineage questions answered from ML Metadata: which data and code made a model, what was done with it.

The graph is walked hop by hop through MLMD's stable calls (events by artifact and by execution ids,
contexts by execution), never through the filter-query API that newer ml-metadata releases remove.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, List

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.digests import MANIFEST_PROPERTY
from pipeline.config import MONITOR_SUFFIX
from pipeline.records import mlmd
from pipeline.records.graph import Artifact, Edge, Execution, Graph, LineageError

Event = metadata_store_pb2.Event
_INPUTS = (Event.INPUT, Event.DECLARED_INPUT)
_OUTPUTS = (Event.OUTPUT, Event.DECLARED_OUTPUT)
# Inputs that compare against an earlier model or audit: following them would walk into other runs' models.
BASELINE_KEYS = ("baseline_model", "baseline_audit")
_HIDDEN = {"tfx_version", "is_external", "stats_dashboard_link"}


def _plain(properties) -> Dict[str, object]:
    return {k: v for k, v in mlmd.plain_properties(properties).items()
            if k not in _HIDDEN and not k.endswith(MANIFEST_PROPERTY)}


class Lineage:
    """Reads artifacts, executions and events of one pipeline's store, caching what it has read."""

    def __init__(self, store: metadata_store.MetadataStore, pipeline_name: str):
        self.store = store
        self.pipeline_name = pipeline_name
        self._artifact_types = {t.id: t.name for t in store.get_artifact_types()}
        self._context_types = {t.id: t.name for t in store.get_context_types()}
        self._artifacts: Dict[int, Artifact] = {}
        self._executions: Dict[int, Execution] = {}

    # --- nodes -------------------------------------------------------------------------------------
    def artifacts(self, ids: Iterable[int]) -> Dict[int, Artifact]:
        missing = [i for i in set(ids) if i not in self._artifacts]
        for a in self.store.get_artifacts_by_id(missing) if missing else []:
            self._artifacts[a.id] = Artifact(a.id, self._artifact_types.get(a.type_id, "?"), a.uri,
                                             _plain(a.custom_properties), a.create_time_since_epoch)
        return {i: self._artifacts[i] for i in ids if i in self._artifacts}

    def artifact(self, artifact_id: int) -> Artifact:
        found = self.artifacts([artifact_id])
        if not found:
            raise LineageError(f"No artifact {artifact_id} in this metadata store.")
        return found[artifact_id]

    def executions(self, ids: Iterable[int]) -> Dict[int, Execution]:
        missing = [i for i in set(ids) if i not in self._executions]
        for x in self.store.get_executions_by_id(missing) if missing else []:
            node, run_id, monitoring = None, "?", False
            for context in self.store.get_contexts_by_execution(x.id):
                kind = self._context_types.get(context.type_id)
                if kind == mlmd.NODE_CONTEXT:
                    for pipeline in (self.pipeline_name, self.pipeline_name + MONITOR_SUFFIX):
                        if context.name.startswith(f"{pipeline}."):
                            node, monitoring = context.name[len(pipeline) + 1:], pipeline != self.pipeline_name
                elif kind in mlmd.RUN_CONTEXTS:
                    run_id = context.name
            classic_pipeline = x.properties.get("pipeline_name")  # the classic launcher's (Airflow) record
            if node is None and classic_pipeline is not None:
                monitoring = classic_pipeline.string_value == self.pipeline_name + MONITOR_SUFFIX
            self._executions[x.id] = Execution(
                x.id, mlmd.component_of(x, node), run_id, mlmd.State.Name(x.last_known_state),
                x.create_time_since_epoch,
                max(0.0, (x.last_update_time_since_epoch - x.create_time_since_epoch) / 1000.0),
                _plain(x.custom_properties), monitoring)
        return {i: self._executions[i] for i in ids if i in self._executions}

    # --- events ------------------------------------------------------------------------------------
    @staticmethod
    def _edge(event: metadata_store_pb2.Event) -> Edge | None:
        if event.type not in _INPUTS + _OUTPUTS:
            return None
        key = event.path.steps[0].key if event.path.steps else ""
        return Edge(event.artifact_id, event.execution_id, key, event.type in _INPUTS)

    def events_of_artifacts(self, ids: Iterable[int]) -> List[Edge]:
        ids = list(set(ids))
        return [e for e in map(self._edge, self.store.get_events_by_artifact_ids(ids) if ids else []) if e]

    def events_of_executions(self, ids: Iterable[int]) -> List[Edge]:
        ids = list(set(ids))
        return [e for e in map(self._edge, self.store.get_events_by_execution_ids(ids) if ids else []) if e]

    # --- walks -------------------------------------------------------------------------------------
    def walk(self, start: int, upstream: bool = True, downstream: bool = True, hops: int | None = None,
             follow_baselines: bool = False) -> Graph:
        """The artifacts and executions within `hops` executions of artifact `start`, in the directions asked."""
        self.artifact(start)
        graph = Graph(focus=start)
        artifact_ids, execution_ids = {start}, set()
        for direction, wanted in (("up", upstream), ("down", downstream)):
            frontier, hop = {start}, 0
            while wanted and frontier and (hops is None or hop < hops):
                edges = [e for e in self.events_of_artifacts(frontier)
                         if e.is_input == (direction == "down") and (follow_baselines or e.key not in BASELINE_KEYS)]
                if direction == "up":
                    edges = self._original_producers(edges)
                new_executions = {e.execution_id for e in edges} - execution_ids
                graph.edges.update(edges)
                edges = [e for e in self.events_of_executions(new_executions)
                         if (e.is_input == (direction == "up")) and (follow_baselines or e.key not in BASELINE_KEYS)]
                graph.edges.update(edges)
                execution_ids |= new_executions
                frontier = {e.artifact_id for e in edges} - artifact_ids
                artifact_ids |= frontier
                for x in new_executions:
                    graph.roles.setdefault(x, "upstream" if direction == "up" else "downstream")
                hop += 1
        # Each execution's other outputs (the privacy report beside the examples, the blessing beside the evaluation).
        siblings = [e for e in self.events_of_executions(execution_ids)
                    if not e.is_input and e.key not in BASELINE_KEYS]
        graph.edges.update(siblings)
        artifact_ids |= {e.artifact_id for e in siblings} | {e.artifact_id for e in graph.edges}
        graph.artifacts = self.artifacts(artifact_ids)
        graph.executions = self.executions(execution_ids)
        return graph

    def _original_producers(self, edges: List[Edge]) -> List[Edge]:
        """Of an artifact's producers, the execution that made it: a later run that reused it from the cache, or
        an Importer that registered it again (a monitoring run importing the model), records an output event too,
        which is history, not origin."""
        executions = self.executions({e.execution_id for e in edges})
        created = {i: a.created_ms for i, a in self.artifacts({e.artifact_id for e in edges}).items()}

        def reused(e: Edge) -> bool:
            x = executions.get(e.execution_id)
            return x is not None and (x.state == "CACHED" or x.started_ms > created.get(e.artifact_id, x.started_ms))

        made = {e.artifact_id for e in edges if not reused(e)}
        return [e for e in edges if not reused(e) or e.artifact_id not in made]

    def model_lineage(self, model_id: int) -> Graph:
        """Everything upstream of a model, the data checks made on its training data in the same run, and what
        consumed the model directly (explanations, evaluation, blessing, audit, push), in every run, with the
        monitoring runs that watched it."""
        model = self.artifact(model_id)
        if model.type != "Model":
            raise LineageError(f"Artifact {model_id} is a {model.type}, not a Model.")
        graph = self.walk(model_id, upstream=True, downstream=False)
        below = self.walk(model_id, upstream=False, downstream=True, hops=1)
        below.roles.update({i: "monitoring" for i, x in below.executions.items() if x.monitoring})
        self._merge(graph, below)
        self._add_checks(graph, model_id)
        return graph

    def _merge(self, graph: Graph, other: Graph) -> None:
        graph.artifacts.update(other.artifacts)
        graph.executions.update(other.executions)
        graph.edges |= other.edges
        for x, role in other.roles.items():
            graph.roles.setdefault(x, role)

    def _add_checks(self, graph: Graph, model_id: int) -> None:
        """Executions of the training run that read the model's upstream data without feeding the model:
        statistics, validation against the schema, the data gate. MLMD has no event for a pure ordering
        dependency (the gate before Transform), so they are found as readers of the same artifacts."""
        trainers = [graph.executions[x] for x in graph.producers(model_id) if x in graph.executions]
        if not trainers:
            return
        runs = {t.run_id for t in trainers}
        consumers_of_model = {e.execution_id for e in self.events_of_artifacts([model_id]) if e.is_input}
        known = set(graph.executions)
        outputs_by_role = [(graph.roles.get(e.execution_id), e.artifact_id) for e in graph.edges if not e.is_input]
        frontier = {a for role, a in outputs_by_role if role == "upstream"}
        downstream = {a for role, a in outputs_by_role if role == "downstream"}
        while frontier:
            readers = {e.execution_id for e in self.events_of_artifacts(frontier) if e.is_input} - known
            readers -= consumers_of_model
            candidates = {i: x for i, x in self.executions(readers).items() if x.run_id in runs}
            # A reader that also consumes anything downstream of the model (the audit) is not a data check.
            edges = [e for e in self.events_of_executions(candidates) if e.key not in BASELINE_KEYS]
            candidates = {i: x for i, x in candidates.items()
                          if not any(e.is_input and e.execution_id == i and e.artifact_id in downstream for e in edges)}
            if not candidates:
                return
            known |= set(candidates)
            edges = [e for e in edges if e.execution_id in candidates]
            graph.edges.update(edges)
            graph.executions.update(candidates)
            graph.roles.update({i: "check" for i in candidates})
            new_artifacts = {e.artifact_id for e in edges} - set(graph.artifacts)
            graph.artifacts.update(self.artifacts(new_artifacts))
            frontier = {e.artifact_id for e in edges if not e.is_input}

    def run_graph(self, run_id: str) -> Graph:
        """Every execution of one run, with the artifacts it read and wrote."""
        nodes = mlmd.run_executions(self.store, self.pipeline_name, run_id)
        ids = [n.execution.id for n in nodes]
        graph = Graph(edges=set(self.events_of_executions(ids)), roles={i: "upstream" for i in ids})
        graph.executions = self.executions(ids)
        graph.artifacts = self.artifacts({e.artifact_id for e in graph.edges})
        return graph

    # --- finding models ----------------------------------------------------------------------------
    def model_of_run(self, run_id: str | None) -> int:
        for node in reversed(mlmd.run_executions(self.store, self.pipeline_name, run_id)):
            if node.node_id == "Trainer":
                models = mlmd.output_artifacts(self.store, node.execution.id).get("model")
                if models:
                    return models[0].id
        raise LineageError(f"Run {run_id or '(latest)'} has no trained model (it stopped before the Trainer).")

    def pushed_model(self) -> int:
        """The model behind the most recent successful push."""
        pushes = [a for a in self.store.get_artifacts_by_type("PushedModel")
                  if a.custom_properties.get("pushed") and a.custom_properties["pushed"].int_value == 1]
        for pushed in sorted(pushes, key=lambda a: (a.create_time_since_epoch, a.id), reverse=True):
            model = self._model_pushed_as(pushed.id)
            if model is not None:
                return model
        raise LineageError("No model has been pushed in this metadata store.")

    def model_at(self, path: str) -> int:
        """The model stored at `path`: a Model artifact's URI (or its Format-Serving folder), or a pushed copy."""
        path = os.path.abspath(path).rstrip("/")
        candidates = [path, os.path.dirname(path)] if path.endswith("Format-Serving") else [path]
        for uri in candidates:
            models = [a for a in self.store.get_artifacts_by_uri(uri)
                      if self._artifact_types.get(a.type_id) == "Model"]
            if models:
                return models[-1].id
        for pushed in self.store.get_artifacts_by_type("PushedModel"):
            destination = pushed.custom_properties.get("pushed_destination")
            if destination is not None and destination.string_value.rstrip("/") == path:
                model = self._model_pushed_as(pushed.id)
                if model is not None:
                    return model
        raise LineageError(f"No model artifact or pushed model at {path} in this metadata store.")

    def _model_pushed_as(self, pushed_id: int) -> int | None:
        """The Model artifact that the Pusher execution which wrote PushedModel `pushed_id` read."""
        pusher = [e.execution_id for e in self.events_of_artifacts([pushed_id]) if not e.is_input]
        models = [e.artifact_id for e in self.events_of_executions(pusher) if e.is_input and e.key == "model"]
        return models[0] if models else None
