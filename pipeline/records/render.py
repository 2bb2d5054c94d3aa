"""The lineage graph for people: one line per artifact and execution, as an indented tree or as Graphviz DOT."""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from typing import Dict, List, Set, Tuple

from components.code import CODE_DIGEST
from components.digests import text_digest
from components.trainer.record import TRAINING_RECORD, describe_devices
from pipeline.modules import CODE_DIGEST_KEY
from pipeline.records.graph import Artifact, Execution, Graph


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


def content_inputs(properties: Dict[str, object]) -> Tuple[Dict[str, str], Dict[str, object]]:
    """The files an execution took as content (a parameter P next to P_source, as Privacy's policy or ModelAudit's
    model card), each as its source and the digest of the content: what an auditor compares, in one line; and the
    execution's other properties."""
    content = {name: f"{properties[f'{name}_source'] or '(no file)'} sha256 {text_digest(str(value))[:12]}"
               for name, value in properties.items() if f"{name}_source" in properties}
    covered = set(content) | {f"{name}_source" for name in content}
    return content, {key: value for key, value in properties.items() if key not in covered}


CODE_FUNCTIONS = ("run_fn", "preprocessing_fn")  # Trainer's and Transform's, as a dotted path (pipeline.py)


def code_digest(key: str, properties: Dict[str, object]) -> str | None:
    """'training (module digest <16 hex>)' for the execution property `key` that says where an execution's code was:
    a module file's wheel (module_path: training@.../tfx_user_code_Trainer-0.0+<sha>-..., the digest TFX puts in the
    wheel's version), or a function of Glassbox's own modules (run_fn, preprocessing_fn: pipeline.modules.training.
    run_fn, the digest in the custom_config beside it); None for another property."""
    value = str(properties[key])
    if key == CODE_DIGEST:
        return f"Glassbox components (digest {value[:16]})"
    if key == "module_path":
        name, _, wheel = value.partition("@")
        version = os.path.basename(wheel).split("-")[1] if wheel.count("-") >= 2 else ""
        return f"{name} (module digest {version.partition('+')[2][:16] or 'unknown'})"
    if key in CODE_FUNCTIONS and "." in value:
        digest = json.loads(str(properties.get("custom_config") or "{}")).get(CODE_DIGEST_KEY)
        return f"{value.split('.')[-2]} (module digest {(digest or 'unknown')[:16]})"
    return None


def training_record(graph: Graph, trainer: Execution) -> Dict[str, object]:
    """The strategy the Trainer recorded in its model_run artifact, when it did."""
    for edge in graph.outputs(trainer.id):
        if edge.key == "model_run":
            path = os.path.join(graph.artifacts[edge.artifact_id].uri, TRAINING_RECORD)
            if os.path.isfile(path):
                with open(path) as f:
                    return json.load(f)
    return {}


def trained_on(graph: Graph, trainer: Execution, record: Dict[str, object]) -> str | None:
    """'GPU:0 (NVIDIA H200), GPU:1 (NVIDIA H200)': the devices the Trainer's model trained on, from its `trained_on`
    property (set by Glassbox's Trainer executor), else from the training record; None for a run from before either
    said so."""
    model = next((graph.artifacts[e.artifact_id] for e in graph.outputs(trainer.id)
                  if e.key == "model" and e.artifact_id in graph.artifacts), None)
    properties = model.properties if model else {}
    if properties.get("trained_on"):
        devices = str(properties["trained_on"]).split(",")
        names = json.loads(str(properties.get("device_names") or "{}"))
    elif record.get("devices"):
        devices, names = list(record["devices"]), dict(record.get("device_names") or {})
    else:
        return None
    requested = properties.get("devices_requested") or record.get("devices_requested")
    return describe_devices(devices, names) + (f" (devices: {requested})" if requested else "")


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
    content, others = content_inputs(execution.properties)
    for key, value in execution.properties.items():
        if key in content:
            lines.append(f"{key}: {content[key]}")
        elif key not in others:
            continue  # a content input's source, named on that input's line
        elif code_digest(key, execution.properties):
            lines.append(f"code: {code_digest(key, execution.properties)}")
        elif key == "input_base":
            lines.append(f"raw data: {value}")
        else:
            lines.append(f"{key}: {_short(value, 400)}")
    if execution.component == "Trainer":
        record = training_record(graph, execution)
        if record:
            lines.append(f"strategy: {record['strategy']} on {record['replicas']} replica(s), "
                         f"global batch {record['global_batch_size']}")
        devices = trained_on(graph, execution, record)
        if devices:
            lines.append(f"trained on: {devices}")
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
