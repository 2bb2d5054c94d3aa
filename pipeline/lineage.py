"""Lineage questions answered from ML Metadata: which data and code made a model, what was done with it.

The graph is walked hop by hop through MLMD's stable calls (events by artifact and by execution ids,
contexts by execution), never through the filter-query API that newer ml-metadata releases remove.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Dict, Iterable, List, Set, Tuple

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from components.digests import MANIFEST_PROPERTY
from pipeline import metadata
from pipeline.config import MONITOR_SUFFIX
from pipeline.modules.training_record import TRAINING_RECORD

Event = metadata_store_pb2.Event
_INPUTS = (Event.INPUT, Event.DECLARED_INPUT)
_OUTPUTS = (Event.OUTPUT, Event.DECLARED_OUTPUT)
# Inputs that compare against an earlier model or audit: following them would walk into other runs' models.
BASELINE_KEYS = ("baseline_model", "baseline_audit")
_HIDDEN = {"tfx_version", "is_external", "stats_dashboard_link"}
# What a MonitorReport says in MLMD, shown for each monitoring run of a model.
MONITOR_FIGURES = ("alerts", "block_alerts", "warn_alerts", "alert_checks", "drifted_features", "examples")


class LineageError(LookupError):
    """The artifact, model or run asked for is not in the store; the message says what is."""


def _plain(properties) -> Dict[str, object]:
    return {k: v for k, v in metadata.plain_properties(properties).items()
            if k not in _HIDDEN and not k.endswith(MANIFEST_PROPERTY)}


@dataclass
class Artifact:
    id: int
    type: str
    uri: str
    properties: Dict[str, object]
    created_ms: int

    def to_json(self) -> dict:
        return {"id": self.id, "type": self.type, "uri": self.uri, "properties": self.properties}


@dataclass
class Execution:
    id: int
    component: str
    run_id: str
    state: str
    started_ms: int
    seconds: float
    properties: Dict[str, object]
    monitoring: bool = False  # an execution of the monitoring pipeline

    def to_json(self) -> dict:
        return {"id": self.id, "component": self.component, "run": self.run_id, "state": self.state,
                "started_ms": self.started_ms, "seconds": round(self.seconds, 3), "properties": self.properties,
                "monitoring": self.monitoring}


@dataclass(frozen=True)
class Edge:
    """An event: artifact -> execution for an input, execution -> artifact for an output."""

    artifact_id: int
    execution_id: int
    key: str
    is_input: bool


@dataclass
class Graph:
    """A piece of the lineage graph, with a role for each execution ('upstream', 'check', 'downstream', or
    'monitoring' for a monitoring run's step that read the model)."""

    focus: int | None = None
    artifacts: Dict[int, Artifact] = field(default_factory=dict)
    executions: Dict[int, Execution] = field(default_factory=dict)
    edges: Set[Edge] = field(default_factory=set)
    roles: Dict[int, str] = field(default_factory=dict)

    def inputs(self, execution_id: int) -> List[Edge]:
        return sorted((e for e in self.edges if e.is_input and e.execution_id == execution_id),
                      key=lambda e: (e.key, e.artifact_id))

    def outputs(self, execution_id: int) -> List[Edge]:
        return sorted((e for e in self.edges if not e.is_input and e.execution_id == execution_id),
                      key=lambda e: (e.key, e.artifact_id))

    def producers(self, artifact_id: int) -> List[int]:
        return sorted(e.execution_id for e in self.edges if not e.is_input and e.artifact_id == artifact_id)

    def monitoring_runs(self) -> List[dict]:
        """Each monitoring run that watched the focus: its MonitorReport's alert counts, oldest first."""
        runs = []
        for x in sorted(i for i, role in self.roles.items() if role == "monitoring"):
            for edge in self.outputs(x):
                report = self.artifacts.get(edge.artifact_id)
                if report is not None and report.type == "glassbox.MonitorReport":
                    runs.append({"run": self.executions[x].run_id, "execution": x, "monitor_report": report.id,
                                 "uri": report.uri, **{k: report.properties.get(k) for k in MONITOR_FIGURES}})
        return runs

    def to_json(self) -> dict:
        return {
            "focus": self.focus,
            "monitoring": self.monitoring_runs(),
            "artifacts": [a.to_json() for _, a in sorted(self.artifacts.items())],
            "executions": [{**x.to_json(), "role": self.roles.get(i)} for i, x in sorted(self.executions.items())],
            "events": [{"artifact": e.artifact_id, "execution": e.execution_id, "key": e.key,
                        "type": "input" if e.is_input else "output"}
                       for e in sorted(self.edges, key=lambda e: (e.execution_id, not e.is_input, e.key))],
        }


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
                if kind == metadata.NODE_CONTEXT:
                    for pipeline in (self.pipeline_name, self.pipeline_name + MONITOR_SUFFIX):
                        if context.name.startswith(f"{pipeline}."):
                            node, monitoring = context.name[len(pipeline) + 1:], pipeline != self.pipeline_name
                elif kind in metadata.RUN_CONTEXTS:
                    run_id = context.name
            classic_pipeline = x.properties.get("pipeline_name")  # the classic launcher's (Airflow) record
            if node is None and classic_pipeline is not None:
                monitoring = classic_pipeline.string_value == self.pipeline_name + MONITOR_SUFFIX
            self._executions[x.id] = Execution(
                x.id, metadata.component_of(x, node), run_id, metadata.State.Name(x.last_known_state),
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
        nodes = metadata.run_executions(self.store, self.pipeline_name, run_id)
        ids = [n.execution.id for n in nodes]
        graph = Graph(edges=set(self.events_of_executions(ids)), roles={i: "upstream" for i in ids})
        graph.executions = self.executions(ids)
        graph.artifacts = self.artifacts({e.artifact_id for e in graph.edges})
        return graph

    # --- finding models ----------------------------------------------------------------------------
    def model_of_run(self, run_id: str | None) -> int:
        for node in reversed(metadata.run_executions(self.store, self.pipeline_name, run_id)):
            if node.node_id == "Trainer":
                models = metadata.output_artifacts(self.store, node.execution.id).get("model")
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


# --- presentation ----------------------------------------------------------------------------------

def _short(value: object, limit: int = 120) -> str:
    """One line: JSON compacted, a sha256 cut to 12 digits, anything longer than `limit` replaced by its digest."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            pass
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text):
        return text[:12]
    if len(text) <= limit:
        return text
    return f"<{len(text)} chars, sha256 {hashlib.sha256(text.encode()).hexdigest()[:12]}>"


def code_digest(module_path: str) -> str:
    """The user-code digest TFX puts in a module wheel's version (training@.../tfx_user_code_Trainer-0.0+<sha>-...)."""
    name, _, wheel = module_path.partition("@")
    version = os.path.basename(wheel).split("-")[1] if wheel.count("-") >= 2 else ""
    return f"{name} (module digest {version.partition('+')[2][:16] or 'unknown'})"


def training_record(graph: Graph, trainer: Execution) -> Dict[str, object]:
    """The strategy the Trainer recorded in its model_run artifact, when it did."""
    for edge in graph.outputs(trainer.id):
        if edge.key == "model_run":
            path = os.path.join(graph.artifacts[edge.artifact_id].uri, TRAINING_RECORD)
            if os.path.isfile(path):
                with open(path) as f:
                    return json.load(f)
    return {}


def describe_artifact(artifact: Artifact) -> str:
    shown = [f"{k}={_short(v, 60)}" for k, v in artifact.properties.items()
             if k not in ("sha256", "input_sha256", "pushed_sha256")]
    digest = artifact.properties.get("sha256")
    seal = f" sha256 {str(digest)[:12]}" if digest else " (unsealed)"
    return f"{artifact.type} #{artifact.id} {artifact.uri}{seal}" + (f"  [{', '.join(shown)}]" if shown else "")


def describe_execution(graph: Graph, execution: Execution) -> List[str]:
    """A headline line and detail lines for an execution."""
    lines = [f"{execution.component} execution #{execution.id} {execution.state} {execution.seconds:.1f} s, "
             f"run {execution.run_id}"]
    for key, value in execution.properties.items():
        if key == "module_path":
            lines.append(f"code: {code_digest(str(value))}")
        elif key == "input_base":
            lines.append(f"raw data: {value}")
        else:
            lines.append(f"{key}: {_short(value, 400)}")
    if execution.component == "Trainer":
        record = training_record(graph, execution)
        if record:
            lines.append(f"strategy: {record['strategy']} on {record['replicas']} replica(s), "
                         f"global batch {record['global_batch_size']}")
    return lines


def render_tree(graph: Graph) -> str:
    """The model (or artifact) at the root; under it, what produced it, recursively; then checks and consumers."""
    lines: List[str] = []
    shown: Set[int] = set()

    def artifact(artifact_id: int, key: str, depth: int) -> None:
        a = graph.artifacts[artifact_id]
        prefix = "  " * depth + (f"{key}: " if key else "")
        if artifact_id in shown:
            lines.append(f"{prefix}{a.type} #{a.id} (shown above)")
            return
        shown.add(artifact_id)
        lines.append(prefix + describe_artifact(a))
        for producer in graph.producers(artifact_id):
            if graph.roles.get(producer) == "upstream" and producer in graph.executions:
                execution(producer, depth + 1, "◂ made by ")
        for edge in sorted((e for e in graph.edges if e.is_input and e.artifact_id == artifact_id
                            and graph.roles.get(e.execution_id) == "check"), key=lambda e: e.execution_id):
            execution(edge.execution_id, depth + 1, "✓ checked by ")

    executed: Set[int] = set()

    def execution(execution_id: int, depth: int, verb: str) -> None:
        if execution_id in executed:
            return
        executed.add(execution_id)
        x = graph.executions[execution_id]
        head, *details = describe_execution(graph, x)
        lines.append("  " * depth + verb + head)
        lines.extend("  " * (depth + 2) + d for d in details)
        for edge in graph.outputs(execution_id):
            if edge.artifact_id != graph.focus and edge.artifact_id not in shown:
                artifact(edge.artifact_id, f"→ {edge.key}", depth + 1)
        if graph.roles.get(execution_id) == "upstream":
            for edge in graph.inputs(execution_id):
                artifact(edge.artifact_id, f"← {edge.key}", depth + 1)

    artifact(graph.focus, "", 0)
    consumers = sorted(x for x, role in graph.roles.items() if role == "downstream")
    if consumers:
        lines.append("Downstream:")
        for x in consumers:
            execution(x, 1, "▸ ")
    runs = graph.monitoring_runs()
    if runs:
        lines.append("Monitoring:")
    for run in runs:
        lines.append(f"  ▸ run {run['run']}: {run['alerts']} alert(s) ({run['block_alerts']} block, "
                     f"{run['warn_alerts']} warn) on {run['examples']} examples"
                     + (f"; {run['alert_checks'].replace(',', ', ')}" if run["alert_checks"] else "")
                     + f"; MonitorReport #{run['monitor_report']} {run['uri']}/report.html")
    return "\n".join(lines)


_COLOURS = {"upstream": "#dbe9f6", "check": "#e8f3df", "downstream": "#fbe8d3", "monitoring": "#f3e0f7"}


def _dot_id(kind: str, i: int) -> str:
    return f"{kind}{i}"


def _dot_label(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def render_dot(graph: Graph, href=None) -> str:
    """Graphviz DOT: executions as boxes (coloured by role), artifacts as ellipses, events as arrows.
    `href(kind, id)` may give each node a link (used by the static site)."""
    lines = ["digraph lineage {", '  rankdir=TB; node [fontname="Helvetica", fontsize=10];']
    for i, x in sorted(graph.executions.items()):
        link = f', URL="{href("execution", i)}"' if href else ""
        lines.append(f'  {_dot_id("e", i)} [shape=box, style="rounded,filled", '
                     f'fillcolor="{_COLOURS.get(graph.roles.get(i), "#eeeeee")}", '
                     f'label="{_dot_label(x.component)}\\n#{i} {x.state}"{link}];')
    for i, a in sorted(graph.artifacts.items()):
        link = f', URL="{href("artifact", i)}"' if href else ""
        extra = ", penwidth=2.5" if i == graph.focus else ""
        seal = "sealed" if a.properties.get("sha256") else "unsealed"
        lines.append(f'  {_dot_id("a", i)} [shape=ellipse, label="{_dot_label(a.type)} #{i}\\n{seal}"{extra}{link}];')
    for e in sorted(graph.edges, key=lambda e: (e.execution_id, e.artifact_id, e.key)):
        if e.artifact_id not in graph.artifacts or e.execution_id not in graph.executions:
            continue
        a, x = _dot_id("a", e.artifact_id), _dot_id("e", e.execution_id)
        source, target = (a, x) if e.is_input else (x, a)
        lines.append(f'  {source} -> {target} [label="{_dot_label(e.key)}", fontsize=8];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def when(ms: int) -> str:
    """An MLMD timestamp (ms since the epoch) as local date and time; '-' for none."""
    return datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M:%S") if ms else "-"


# --- runs ------------------------------------------------------------------------------------------

@dataclass
class RunRecord:
    run_id: str
    started_ms: int
    ended_ms: int
    status: str
    components: List[metadata.NodeExecution]


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
    run_list = metadata.run_ids(store, pipeline_name)
    for position, run_id in enumerate(run_list):
        nodes = metadata.run_executions(store, pipeline_name, run_id)
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
    for node in metadata.run_executions(lineage.store, lineage.pipeline_name, run_id):
        execution = lineage.executions([node.execution.id])[node.execution.id]
        for key, value in execution.properties.items():
            if key == "module_path":
                facts[f"code.{node.node_id}"] = code_digest(str(value))
            elif key == "input_base":
                facts["data.input_base"] = value
            elif key in ("input_fingerprint", "span"):
                continue  # read from the examples artifact: an execution served from the cache does not repeat them
            else:
                facts[f"parameters.{node.node_id}.{key}"] = value
        for artifacts in metadata.output_artifacts(lineage.store, node.execution.id).values():
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
