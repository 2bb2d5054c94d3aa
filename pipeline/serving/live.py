"""Live monitoring in `glassbox serve`: the served model's recent decisions in a window (components/monitor/live.py),
judged with the monitor policy's thresholds after every recorded batch, alerts on each crossing.

The window is fed from the record's thread, after the batch's transaction committed: what it counts is what the
decision record holds. On start it is rebuilt from the record's last decisions of the same model (the last `window`
ones, younger than `max_age_s` when set), and which checks were failing is restored from the alert records, so a
restart neither loses an alert nor repeats one. GET /v1/monitoring and /metrics read the figures of the last
judgement; nothing rescans the record per request.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from datetime import datetime
from typing import Any, Callable, Dict, List, Sequence

from components.monitor.live import Alert, Baseline, Crossings, Window, explanations_baseline
from components.monitor.policy import MonitorPolicy, load_monitor_policy

log = logging.getLogger("glassbox.serve")
STATISTICS_FILE = os.path.join("Split-train", "FeatureStats.pb")


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
                 record_alerts: Callable[[List[dict]], Any] | None = None, metrics=None):
        self.window = Window(baseline, size, max_age_s=max_age_s)
        self.crossings = Crossings(size if min_decisions is None else min_decisions)
        self.model_id, self.policy_source = model_id, policy_source
        self._record_alerts, self.metrics = record_alerts, metrics
        self.webhook: Webhook | None = None
        self._lock = threading.Lock()
        self.results = self.window.results()
        self.alerts_raised = 0

    # -- feeding ----------------------------------------------------------------------------------------------------
    def _add(self, record) -> bool:
        payload = record.payload
        if payload is None or (payload.get("model") or {}).get("artifact_id") != self.model_id:
            return False  # purged, or another model's decision
        self.window.add(payload["inputs"], payload["score"], payload["attributions"]["values"],
                        at=epoch_seconds(record.time))
        return True

    def observe(self, records: Sequence) -> List[dict]:
        """Adds recorded decisions, judges the window once, records and returns the alerts of this batch."""
        with self._lock:
            if not any([self._add(r) for r in records]):
                return []
            return self._judge(time_of=records[-1].time)

    def _judge(self, time_of: str | None) -> List[dict]:
        self.results = self.window.results()
        before = set(self.crossings.failing)
        alerts = [self._alert_record(a, time_of) for a in self.crossings.update(self.window, self.results)]
        if alerts and self._record_alerts is not None:
            try:
                recorded = self._record_alerts(alerts)
            except BaseException:
                self.crossings.failing = before  # not recorded, not raised: the next judgement crosses again
                raise
            alerts = [{**a, "alert_id": r.id, "recorded_at": r.time, "seq": r.seq} for a, r in zip(alerts, recorded)]
        self.alerts_raised += sum(a["status"] == "fail" for a in alerts)
        self._publish(alerts)
        if alerts and self.webhook is not None:
            self.webhook.send(alerts)
        return alerts

    def _alert_record(self, alert: Alert, time_of: str | None) -> dict:
        return _plain({"kind": "monitoring_alert", "model": {"artifact_id": self.model_id},
                       "check": alert.check, "status": alert.status, "severity": alert.severity,
                       "value": alert.value,
                       "threshold": alert.threshold,
                       "comparison": next((r.comparison for r in self.results if r.id == alert.check), None),
                       "window": {**alert.window, "max_age_s": self.window.max_age_s, "last_decision_at": time_of},
                       "policy": self.policy_source})

    def restore(self, records: Sequence, failing: Sequence[str]) -> None:
        """Rebuilds the window from recorded decisions (chain order) and the alert state from the checks whose last
        alert record says they are failing; then judges once (a crossing while the service was down alerts now)."""
        with self._lock:
            for record in records:
                self._add(record)
            self.window.expire()
            self.crossings.failing = set(failing)
            self._judge(time_of=records[-1].time if records else None)

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

    def snapshot(self) -> Dict[str, Any]:
        self.refresh()
        with self._lock:
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
                "alerting": sorted(self.crossings.failing),
                "alerts_raised": self.alerts_raised,
            })

    def _publish(self, alerts: Sequence[dict]) -> None:
        if self.metrics is None:
            return
        m = self.metrics
        m.window_decisions.set(self.window.count)
        for r in self.results:
            m.check_value.set(r.measured if r.measured is not None else float("nan"), r.id)
            if r.threshold is not None:
                m.check_threshold.set(r.threshold, r.id)
            m.check_failing.set(1 if r.id in self.crossings.failing else 0, r.id, r.severity)
        for alert in alerts:
            if alert["status"] == "fail":
                m.alerts.inc(alert["check"], alert["severity"])


class Webhook:
    """POSTs each alert record (JSON) to a URL, from a thread of its own: a slow receiver never holds up the record.
    Failures are logged (status or error type), never retried into a storm."""

    def __init__(self, url: str, timeout_s: float):
        from concurrent.futures import ThreadPoolExecutor

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
    monitor = LiveMonitor(baseline, served.model_id, size=settings.window, max_age_s=settings.max_age_s,
                          min_decisions=settings.min_decisions, policy_source=str(config.monitor.policy),
                          record_alerts=getattr(store, "append_alerts", None), metrics=metrics)
    if settings.webhook_url:
        monitor.webhook = Webhook(settings.webhook_url, settings.webhook_timeout_s)
    started = time.perf_counter()
    recent = store.recent(served.model_id, settings.window)
    failing = store.failing_checks(served.model_id) if hasattr(store, "failing_checks") else []
    monitor.restore(recent, failing)
    log.info("live monitoring: window rebuilt from %d recorded decision(s) in %.2f s", len(recent),
             time.perf_counter() - started)
    return monitor
