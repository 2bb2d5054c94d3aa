"""The service's metrics in Prometheus' text exposition format (version 0.0.4), written here rather than with
prometheus_client, which only one of the two stacks' locks holds: a counter and a histogram are a few lines each.

Labels are bounded: routes by their template (`/v1/decisions/{id}`, never a decision's id), statuses, outcomes.
Updated from the event loop and the batcher's threads alike, hence one lock."""

from __future__ import annotations

import math
import threading
from typing import Dict, Iterable, List, Sequence, Tuple

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a decision with exact Shapley values takes milliseconds; a queue under overload, seconds.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _escape(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    pairs = [f'{name}="{_escape(value)}"' for name, value in zip(names, values)] + ([extra] if extra else [])
    return "{" + ",".join(pairs) + "}" if pairs else ""


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class Counter:
    def __init__(self, name: str, help: str, labels: Sequence[str] = ()):
        self.name, self.help, self.label_names = name, help, tuple(labels)
        self._values: Dict[Tuple[str, ...], float] = {}
        self._lock = threading.Lock()

    def inc(self, *labels: str, amount: float = 1.0) -> None:
        key = tuple(str(label) for label in labels)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, *labels: str) -> float:
        with self._lock:
            return self._values.get(tuple(str(label) for label in labels), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        with self._lock:
            items = sorted(self._values.items()) or ([((), 0.0)] if not self.label_names else [])
        for key, value in items:
            yield f"{self.name}{_labels(self.label_names, key)} {_number(value)}"


class Histogram:
    def __init__(self, name: str, help: str, buckets: Sequence[float], labels: Sequence[str] = ()):
        self.name, self.help, self.label_names = name, help, tuple(labels)
        self.buckets = tuple(sorted(buckets))
        self._series: Dict[Tuple[str, ...], List[float]] = {}  # per-bucket counts (not cumulative), then sum, count
        self._lock = threading.Lock()

    def observe(self, value: float, *labels: str) -> None:
        key = tuple(str(label) for label in labels)
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 3))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
                    break
            else:
                series[len(self.buckets)] += 1  # only +Inf holds it
            series[-2] += value
            series[-1] += 1

    def count(self, *labels: str) -> int:
        with self._lock:
            series = self._series.get(tuple(str(label) for label in labels))
            return int(series[-1]) if series else 0

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        with self._lock:
            items = sorted((key, list(series)) for key, series in self._series.items())
        for key, series in items:
            cumulative = 0.0
            for bound, count in zip((*self.buckets, math.inf), series):
                cumulative += count
                le = 'le="' + _number(bound) + '"'
                yield f"{self.name}_bucket{_labels(self.label_names, key, le)} {_number(cumulative)}"
            yield f"{self.name}_sum{_labels(self.label_names, key)} {_number(series[-2])}"
            yield f"{self.name}_count{_labels(self.label_names, key)} {_number(series[-1])}"


class Gauge(Counter):
    def set(self, value: float, *labels: str) -> None:
        with self._lock:
            self._values[tuple(str(label) for label in labels)] = float(value)

    def render(self) -> Iterable[str]:
        lines = list(super().render())
        lines[1] = f"# TYPE {self.name} gauge"
        return lines


class ServiceMetrics:
    """Everything /metrics shows. `engine_calls` counts engine.decide calls: with micro-batching, fewer than requests
    under concurrent load (batch sizes in `batch_items`)."""

    def __init__(self) -> None:
        self.requests = Counter("glassbox_http_requests_total", "HTTP requests by route template, method and status.",
                                ("route", "method", "status"))
        self.latency = Histogram("glassbox_http_request_duration_seconds",
                                 "Time from a request's arrival to its response's last byte, by route template.",
                                 LATENCY_BUCKETS, ("route",))
        self.decisions = Counter("glassbox_decisions_total", "Decisions recorded and returned, by outcome.",
                                 ("decision",))
        self.engine_calls = Counter("glassbox_engine_calls_total",
                                    "Calls of the decision engine (one per micro-batch, or per request when a batch "
                                    "was split after an error).")
        self.batch_items = Histogram("glassbox_batch_items", "Applicants decided per engine call.", BATCH_BUCKETS)
        self.batch_requests = Histogram("glassbox_batch_requests", "Requests gathered per engine call.",
                                        BATCH_BUCKETS)
        self.engine_seconds = Histogram("glassbox_engine_seconds", "Seconds per engine call.", LATENCY_BUCKETS)
        self.append_seconds = Histogram("glassbox_store_append_seconds",
                                        "Seconds per decision-record transaction (one per micro-batch).",
                                        LATENCY_BUCKETS)
        self.failures = Counter("glassbox_batch_failures_total",
                                "Micro-batches that failed, by stage (decide, record); their requests got a 5xx and "
                                "nothing of them was recorded.", ("stage",))
        self.model = Gauge("glassbox_model_info", "The model being served (value 1).", ("artifact_id", "sha256"))
        # live monitoring (pipeline/serving/live.py): the last judgement of the window
        self.window_decisions = Gauge("glassbox_monitoring_window_decisions",
                                      "Decisions in the live monitoring window.")
        self.check_value = Gauge("glassbox_monitoring_check_value",
                                 "A monitoring check's value on the window (NaN when undefined).", ("check",))
        self.check_threshold = Gauge("glassbox_monitoring_check_threshold",
                                     "A monitoring check's threshold (monitor policy).", ("check",))
        self.check_failing = Gauge("glassbox_monitoring_check_failing",
                                   "1 while a check has crossed its threshold on the window (alerting), else 0.",
                                   ("check", "severity"))
        self.alerts = Counter("glassbox_monitoring_alerts_total",
                              "Monitoring alerts raised (threshold crossings) since the service started.",
                              ("check", "severity"))

    def render(self) -> str:
        families = (self.requests, self.latency, self.decisions, self.engine_calls, self.batch_items,
                    self.batch_requests, self.engine_seconds, self.append_seconds, self.failures, self.model,
                    self.window_decisions, self.check_value, self.check_threshold, self.check_failing, self.alerts)
        return "\n".join(line for family in families for line in family.render()) + "\n"
