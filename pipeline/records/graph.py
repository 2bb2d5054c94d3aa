"""The lineage graph: artifacts, executions and the events between them, each execution with its role."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Set

# What a MonitorReport says in MLMD, shown for each monitoring run of a model.
MONITOR_FIGURES = ("alerts", "block_alerts", "warn_alerts", "alert_checks", "drifted_features", "examples")


class LineageError(LookupError):
    """The artifact, model or run asked for is not in the store; the message says what is."""


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
