"""Live monitoring in `glassbox serve`: the served model's recent decisions in a window (components/monitor/live.py),
judged with the monitor policy's thresholds after every recorded batch, alerts on each crossing.

The window is fed from the record's thread, after the batch's transaction committed: what it counts is what the
decision record holds. On start it is rebuilt from the record's last decisions of the same model (the last `window`
ones, younger than `max_age_s` when set), and which checks were failing is restored from the alert records, so a
restart neither loses an alert nor repeats one. GET /v1/monitoring and /metrics read the figures of the last
judgement; nothing rescans the record per request.
"""

from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any, Callable, Dict, List, Sequence

import numpy as np

from components.model_audit.checks.result import CheckResult, not_applicable
from components.model_audit.inputs import Predictions
from components.monitor import checks
from components.monitor.live import Alert, Baseline, Crossings, Window, explanations_baseline
from components.monitor.policy import MonitorPolicy, load_monitor_policy

log = logging.getLogger("glassbox.serve")
STATISTICS_FILE = os.path.join("Split-train", "FeatureStats.pb")
DRIFT_CHECKS = ("data_drift.", "prediction_drift", "attribution_drift.")  # the rest are outcome (audit) checks


def _plain(value: Any) -> Any:
    """JSON-able, NaN and infinities as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def epoch_seconds(recorded: str) -> float:
    return datetime.fromisoformat(recorded).timestamp()


class LiveMonitor:
    """The window of model `model_id`'s decisions, its last judgement and the alert state. `record_alerts(alerts)`
    persists new alerts (the decision store's alert table) before they count as raised."""

    def __init__(self, baseline: Baseline, model_id: int, *, size: int, max_age_s: float | None = None,
                 min_decisions: int | None = None, policy_source: str = "",
                 record_alerts: Callable[[List[dict]], Any] | None = None, metrics=None,
                 audit_policy=None, threshold: float = 0.5, min_outcomes: int = 100, judge_every: int | None = None):
        self.window = Window(baseline, size, max_age_s=max_age_s)
        # Judged once this many decisions arrived since the last judgement (1% of the window), and on every read:
        # adding a decision is O(features), judging O(features x buckets), so a busy service judges in strides.
        self.judge_every = max(1, size // 100) if judge_every is None else judge_every
        self._pending, self._last_time, self._labels_left = 0, None, False
        self.crossings = Crossings(size if min_decisions is None else min_decisions)
        # outcomes: the window's decisions by id (score, groups), the labels that arrived for them
        self.audit_policy, self.threshold = audit_policy, threshold
        self.outcome_crossings = Crossings(min_outcomes)
        self._decided: collections.deque = collections.deque(maxlen=size)
        self._labels: Dict[str, int] = {}
        self.outcome_results: List[CheckResult] = []
        self.model_id, self.policy_source = model_id, policy_source
        self._record_alerts, self.metrics = record_alerts, metrics
        self.webhook: Webhook | None = None
        self._lock = threading.Lock()
        # The monitor's own thread: the record's thread hands it each recorded batch and answers the requests at once;
        # what reads the monitor queues behind the batches handed over before, so it sees them (`later`).
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="glassbox-monitor")
        self.results = self.window.results()
        self.alerts_raised = 0

    def later(self, function: Callable, *args) -> Future:
        """Runs `function(*args)` on the monitor's thread, after everything handed to it before."""
        return self._thread.submit(function, *args)

    def close(self) -> None:
        """Finishes what was handed over (the alerts it raises recorded), then the webhook's deliveries."""
        self._thread.shutdown(wait=True)
        if self.webhook is not None:
            self.webhook.close()

    # -- feeding ----------------------------------------------------------------------------------------------------
    def _add(self, record) -> bool:
        payload = record.payload
        if payload is None or (payload.get("model") or {}).get("artifact_id") != self.model_id:
            return False  # purged, or another model's decision
        self.window.add(payload["inputs"], payload["score"], payload["attributions"]["values"],
                        at=epoch_seconds(record.time))
        if len(self._decided) == self._decided.maxlen:
            self._labels_left |= self._labels.pop(self._decided[0][0], None) is not None
        self._decided.append((record.id, float(payload["score"]), payload.get("groups") or {}))
        self._labels_left |= self._trim()
        return True

    def _trim(self) -> bool:
        """Keeps the ids in step with the window (a time window drops decisions by age); True when a labelled
        decision left."""
        left = False
        while len(self._decided) > self.window.count:
            left |= self._labels.pop(self._decided.popleft()[0], None) is not None
        return left

    def observe(self, records: Sequence) -> List[dict]:
        """Adds recorded decisions; once `judge_every` arrived since the last judgement, judges the window, records and
        returns the alerts."""
        with self._lock:
            added = sum([self._add(r) for r in records])
            if not added:
                return []
            self._pending += added
            self._last_time = records[-1].time
            return self._judge_pending() if self._pending >= self.judge_every else []

    def _judge_pending(self) -> List[dict]:
        alerts = self._judge(time_of=self._last_time)
        if self._labels_left:  # a labelled decision left the window
            alerts += self._judge_outcomes(time_of=self._last_time)
        self._pending, self._labels_left = 0, False
        return alerts

    def label(self, outcomes: Sequence[tuple]) -> List[dict]:
        """Outcomes that arrived ((decision record, 0/1 label), recorded): those of decisions in the window count;
        the audit's checks are judged again on the window's labelled decisions."""
        with self._lock:
            alerts = self._judge_pending() if self._pending else []
            inside = {decision_id for decision_id, _, _ in self._decided}
            added = 0
            for record, value in outcomes:
                if record.id in inside:
                    self._labels[record.id] = int(value)
                    added += 1
            return alerts + (self._judge_outcomes(time_of=None) if added else [])

    def _outcome_predictions(self) -> Predictions | None:
        rows = [(score, groups, self._labels[i]) for i, score, groups in self._decided if i in self._labels]
        if not rows:
            return None
        names = sorted({name for _, groups, _ in rows for name in groups})
        return Predictions(labels=np.array([label for _, _, label in rows], dtype=int),
                           scores=np.array([score for score, _, _ in rows]),
                           groups={name: np.array([groups.get(name, "") for _, groups, _ in rows]) for name in names},
                           decision_threshold=self.threshold)

    def _judge_outcomes(self, time_of: str | None) -> List[dict]:
        policy = self.window.baseline.policy
        if self.audit_policy is None or not policy.audit_checks:
            return []
        labelled = len(self._labels)
        if labelled < self.outcome_crossings.min_decisions:
            reason = (f"{labelled} of the window's decisions have outcomes; the checks need "
                      f"{self.outcome_crossings.min_decisions}")
            self.outcome_results = [not_applicable(c, "outcomes", getattr(self.audit_policy.checks, c), reason)
                                    for c in policy.audit_checks if getattr(self.audit_policy.checks, c) is not None]
            return []
        self.outcome_results = checks.span_checks(policy.audit_checks, self.audit_policy, self._outcome_predictions())
        events = self.outcome_crossings.update(self.window, self.outcome_results, count=labelled)
        return self._raise(events, self.outcome_results, time_of)

    def _judge(self, time_of: str | None) -> List[dict]:
        self.results = self.window.results()
        return self._raise(self.crossings.update(self.window, self.results), self.results, time_of,
                           crossings=self.crossings)

    def _raise(self, events: Sequence[Alert], results: Sequence[CheckResult], time_of: str | None,
               crossings: Crossings | None = None) -> List[dict]:
        crossings = crossings or self.outcome_crossings
        alerts = [self._alert_record(a, results, time_of) for a in events]
        if alerts and self._record_alerts is not None:
            try:
                recorded = self._record_alerts(alerts)
            except BaseException:
                for event in events:  # not recorded, not raised: the next judgement crosses again
                    (crossings.failing.discard if event.status == "fail" else crossings.failing.add)(event.check)
                raise
            alerts = [{**a, "alert_id": r.id, "recorded_at": r.time, "seq": r.seq} for a, r in zip(alerts, recorded)]
        self.alerts_raised += sum(a["status"] == "fail" for a in alerts)
        self._publish(alerts)
        if alerts and self.webhook is not None:
            self.webhook.send(alerts)
        return alerts

    def _alert_record(self, alert: Alert, results: Sequence[CheckResult], time_of: str | None) -> dict:
        return _plain({"kind": "monitoring_alert", "model": {"artifact_id": self.model_id},
                       "check": alert.check, "status": alert.status, "severity": alert.severity,
                       "value": alert.value,
                       "threshold": alert.threshold,
                       "comparison": next((r.comparison for r in results if r.id == alert.check), None),
                       "window": {**alert.window, "max_age_s": self.window.max_age_s, "last_decision_at": time_of,
                                  "labelled": len(self._labels)},
                       "policy": self.policy_source})

    def restore(self, records: Sequence, failing: Sequence[str], outcomes: Dict[str, int] | None = None) -> None:
        """Rebuilds the window from recorded decisions (chain order) and the alert state from the checks whose last
        alert record says they are failing; then judges once (a crossing while the service was down alerts now)."""
        with self._lock:
            for record in records:
                self._add(record)
            self.window.expire()
            self._trim()
            self._labels, self._pending, self._labels_left = outcomes or {}, 0, False
            self._last_time = records[-1].time if records else None
            drift = {c for c in failing if c.startswith(DRIFT_CHECKS)}
            self.crossings.failing, self.outcome_crossings.failing = drift, set(failing) - drift
            self._judge(time_of=records[-1].time if records else None)
            self._judge_outcomes(time_of=records[-1].time if records else None)

    # -- reading ----------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """A time window loses decisions as time passes, without new ones: expire and judge again."""
        if self.window.max_age_s is None:
            return
        with self._lock:
            before = self.window.count
            self.window.expire()
            if self.window.count != before:
                self._judge(time_of=None)
                if self._trim():
                    self._judge_outcomes(time_of=None)

    def snapshot(self) -> Dict[str, Any]:
        """The window, its counts and its checks, judged on every decision observed so far."""
        self.refresh()
        with self._lock:
            if self._pending:
                self._judge_pending()
            window, baseline = self.window, self.window.baseline
            return _plain({
                "model_id": self.model_id,
                "policy": self.policy_source,
                "window": {"size": window.size, "max_age_s": window.max_age_s, "count": window.count,
                           "observed": window.observed, "min_decisions": self.crossings.min_decisions,
                           "judged": window.count >= self.crossings.min_decisions},
                "counts": {
                    "numeric": {name: {"edges": edges.tolist(), "counts": counts.tolist(),
                                       "buckets": "below the training range, the training histogram's buckets, above"}
                                for (name, edges), counts in zip(baseline.numeric.items(), window.numeric_counts)},
                    "categorical": {name: dict(zip(labels, counts)) for name, labels, counts in
                                    zip(baseline.categorical, window.category_labels, window.category_counts)},
                    "scores": window.score_counts.tolist(),
                    "mean_score": window.score_mean,
                    "mean_abs_attribution": window.mean_abs_attributions(),
                },
                "checks": [{"id": r.id, "family": r.family, "value": r.measured, "threshold": r.threshold,
                            "comparison": r.comparison, "severity": r.severity, "status": r.status,
                            "reason": r.reason} for r in self.results],
                "outcomes": {"labelled": len(self._labels), "min_outcomes": self.outcome_crossings.min_decisions,
                             "checks": [{"id": r.id, "family": r.family, "value": r.measured,
                                         "threshold": r.threshold, "comparison": r.comparison,
                                         "severity": r.severity, "status": r.status, "reason": r.reason,
                                         "ci": None if r.ci is None else [r.ci.lower, r.ci.upper]}
                                        for r in self.outcome_results]},
                "alerting": sorted(self.crossings.failing | self.outcome_crossings.failing),
                "alerts_raised": self.alerts_raised,
            })

    def _publish(self, alerts: Sequence[dict]) -> None:
        if self.metrics is None:
            return
        m = self.metrics
        m.window_decisions.set(self.window.count)
        for r in [*self.results, *self.outcome_results]:
            m.check_value.set(r.measured if r.measured is not None else float("nan"), r.id)
            if r.threshold is not None:
                m.check_threshold.set(r.threshold, r.id)
            failing = self.crossings.failing | self.outcome_crossings.failing
            m.check_failing.set(1 if r.id in failing else 0, r.id, r.severity)
        for alert in alerts:
            if alert["status"] == "fail":
                m.alerts.inc(alert["check"], alert["severity"])


class Webhook:
    """POSTs each alert record (JSON) to a URL, from a thread of its own: a slow receiver never holds up the record.
    Failures are logged (status or error type), never retried into a storm."""

    def __init__(self, url: str, timeout_s: float):
        self.url, self.timeout_s = url, timeout_s
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="glassbox-webhook")
        self.sent = 0

    def send(self, alerts: Sequence[dict]) -> None:
        for alert in alerts:
            self._thread.submit(self._post, alert)

    def _post(self, alert: dict) -> None:
        import json
        import urllib.request

        request = urllib.request.Request(self.url, data=json.dumps(alert).encode("utf-8"), method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                response.read()
            self.sent += 1
        except Exception as error:  # noqa: BLE001 - the alert is recorded; the webhook is a courtesy
            log.warning("the monitoring webhook failed: %s", type(error).__name__)

    def close(self) -> None:
        self._thread.shutdown(wait=True)


def live_monitor(served, config, store, metrics=None) -> LiveMonitor | None:
    """The service's live monitor for `served` with the config's monitor policy (config.monitor.policy) and window
    (config.serving.monitoring), rebuilt from `store`; None when turned off or the run has no training statistics."""
    settings = config.serving.monitoring
    if not settings.enabled:
        return None
    if not getattr(served, "statistics_uri", None):
        log.warning("live monitoring is off: the model's run has no StatisticsGen output")
        return None
    import tensorflow_data_validation as tfdv

    policy: MonitorPolicy = load_monitor_policy(config.monitor.policy)
    statistics = tfdv.load_stats_binary(os.path.join(served.statistics_uri, STATISTICS_FILE))
    importance, scores = explanations_baseline(served.explanations_uri, served.settings.primary_method)
    baseline = Baseline.from_scores(statistics, importance, scores, policy)
    audit_policy = None
    if served.audit_policy:
        from components.model_audit.policy import policy_from_json

        audit_policy = policy_from_json(served.audit_policy, source=served.audit_source or "the run's audit policy")
    monitor = LiveMonitor(baseline, served.model_id, size=settings.window, max_age_s=settings.max_age_s,
                          min_decisions=settings.min_decisions, policy_source=str(config.monitor.policy),
                          record_alerts=getattr(store, "append_alerts", None), metrics=metrics,
                          audit_policy=audit_policy, threshold=served.threshold, min_outcomes=settings.min_outcomes)
    if settings.webhook_url:
        monitor.webhook = Webhook(settings.webhook_url, settings.webhook_timeout_s)
    started = time.perf_counter()
    recent = store.recent(served.model_id, settings.window)
    failing = store.failing_checks(served.model_id)
    monitor.restore(recent, failing, store.outcomes([r.id for r in recent]))
    log.info("live monitoring: window rebuilt from %d recorded decision(s) in %.2f s", len(recent),
             time.perf_counter() - started)
    return monitor
