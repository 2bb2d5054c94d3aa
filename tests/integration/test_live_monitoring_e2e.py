"""Live monitoring in `glassbox serve`, as it runs in production: a `python -m pipeline.cli serve` process on the
session run's pushed model (real engine, TFDV statistics and explanations of the training run, a SQLite decision
record), spoken to over loopback HTTP. An undrifted replay raises no alert; a stream that drifts part-way (credit amount
scaled, age shifted) alerts on exactly those features within one window of the change, once each, in the record, on
/v1/monitoring, /metrics, a webhook on loopback and `glassbox lineage model --pushed`; a restart rebuilds the window
from the record and neither loses nor repeats an alert; the live figures are the batch functions' on the recorded
rows."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import numpy as np
import pandas as pd
import pytest
import yaml

from components.model_audit.checks.data import divergence, feature_statistics
from components.monitor import checks
from components.monitor.live import explanations_baseline
from components.monitor.policy import load_monitor_policy
from pipeline.config import REPO_ROOT, load_config
from pipeline.metadata import open_store as open_metadata
from pipeline.records.monitoring import latest_monitor_report
from pipeline.serving.served import find_served
from pipeline.serving.store import open_store
from tests.helpers import copy_of_store
from tests.integration.test_serve_e2e import AUTH, Service, applicants

pytestmark = pytest.mark.e2e
WINDOW, REQUEST = 300, 50
POLICY = load_monitor_policy(REPO_ROOT / "schemas" / "german_credit" / "monitor_policy.yaml")


class Receiver:
    """A webhook receiver on 127.0.0.1: keeps every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's interface
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def drifted(item: dict) -> dict:
    return {**item, "credit_amount": min(round(item["credit_amount"] * 2.5), 100000), "age": min(item["age"] + 12, 100)}


def glassbox(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True, cwd=REPO_ROOT,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)})


@pytest.fixture(scope="module")
def live(pipeline_run, tmp_path_factory):
    config, _ = pipeline_run
    directory = tmp_path_factory.mktemp("live")
    receiver = Receiver()
    config_file = directory / "live.yaml"
    config_file.write_text(yaml.safe_dump({"output_dir": str(config.output_dir), "serving": {
        "decisions": "live.sqlite", "monitoring": {"window": WINDOW, "webhook_url": receiver.url}}}))
    service = Service(config_file, directory / "live.log").start()
    service.record, service.receiver, service.config_file, service.run_config = (
        directory / "live.sqlite", receiver, config_file, config)
    try:
        yield service
    finally:
        if service.process.poll() is None:
            service.stop()
        receiver.server.shutdown()


def send(service, items) -> None:
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=120) as client:
        for start in range(0, len(items), REQUEST):
            response = client.post("/v1/decisions", json=items[start:start + REQUEST])
            assert response.status_code == 200, response.text


def monitoring(service) -> dict:
    response = httpx.get(f"{service.url}/v1/monitoring", headers=AUTH, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()


def recorded_alerts(service) -> list:
    with open_store(service.record) as store:
        return [a.payload for a in store.alerts()]


def test_an_undrifted_replay_raises_no_alert(live):
    send(live, applicants()[:400])
    state = monitoring(live)
    assert state["window"]["count"] == WINDOW and state["window"]["observed"] == 400 and state["window"]["judged"]
    failing = [c for c in state["checks"] if c["status"] == "fail"]
    assert failing == [] and state["alerting"] == [] and recorded_alerts(live) == []
    assert {c["id"] for c in state["checks"]} >= {"data_drift.age", "data_drift.credit_amount", "prediction_drift",
                                                  "attribution_drift.rank", "attribution_drift.share"}


def test_the_live_figures_are_the_batch_functions_on_the_recorded_window(live):
    import tensorflow_data_validation as tfdv

    state = monitoring(live)
    with open_store(live.record) as store:
        model_id = state["model_id"]
        records = store.recent(model_id, WINDOW)
    rows = pd.DataFrame([r.payload["inputs"] for r in records])
    served = find_served(live.run_config)
    training = tfdv.load_stats_binary(os.path.join(served.statistics_uri, "Split-train", "FeatureStats.pb"))
    importance, training_scores = explanations_baseline(served.explanations_uri, served.settings.primary_method)
    features = sorted(importance)
    live_checks = {c["id"]: c for c in state["checks"]}
    batch = {r.id: r for r in checks.data_drift(training, tfdv.generate_statistics_from_dataframe(rows[features]),
                                                features, POLICY.data_drift)}
    by_name = feature_statistics(training)
    for name in features:
        if by_name[name].HasField("num_stats"):  # exact counts on the training buckets
            histogram = next(h for h in by_name[name].num_stats.histograms if h.type == h.STANDARD)
            edges = np.unique([v for b in histogram.buckets for v in (b.low_value, b.high_value)])
            values = rows[name].to_numpy(dtype=float)
            expected = divergence(np.r_[0, [b.sample_count for b in histogram.buckets], 0],
                                  np.r_[(values < edges[0]).sum(), np.histogram(values, bins=edges)[0],
                                        (values > edges[-1]).sum()])
        else:
            expected = batch[f"data_drift.{name}"].measured
        assert live_checks[f"data_drift.{name}"]["value"] == pytest.approx(expected, abs=1e-6), name
    scores = np.array([r.payload["score"] for r in records])
    prediction = checks.prediction_drift(POLICY.prediction_drift, training_scores, scores, POLICY.score_bins)
    assert live_checks["prediction_drift"]["value"] == pytest.approx(prediction.measured, abs=1e-6)
    mean_abs = pd.DataFrame([r.payload["attributions"]["values"] for r in records]).abs().mean().to_dict()
    for result in checks.attribution_drift(importance, mean_abs, POLICY.attribution_drift):
        assert live_checks[result.id]["value"] == pytest.approx(result.measured, abs=1e-6)


def test_a_stream_that_drifts_part_way_alerts_on_exactly_the_drifted_features(live):
    changed_at = monitoring(live)["window"]["observed"]  # 400 undrifted decisions so far
    items = [drifted(item) for item in applicants()[400:1000]]
    first_alert = {}
    for start in range(0, len(items), REQUEST):
        send(live, items[start:start + REQUEST])
        state = monitoring(live)
        for check in state["alerting"]:
            first_alert.setdefault(check, state["window"]["observed"])
    alerts = recorded_alerts(live)
    drift_alerts = sorted(a["check"] for a in alerts if a["check"].startswith("data_drift.") and a["status"] == "fail")
    assert drift_alerts == ["data_drift.age", "data_drift.credit_amount"]  # each once, no other feature
    for check in drift_alerts:
        assert first_alert[check] - changed_at <= WINDOW  # within one window of the change point
    print("alerts:", [(a["check"], a["status"], round(a["value"], 4), a["window"]["observed"]) for a in alerts])
    assert all(a["threshold"] is not None and a["severity"] in ("warn", "block") for a in alerts)

    metrics = httpx.get(f"{live.url}/metrics", headers=AUTH, timeout=30).text
    assert 'glassbox_monitoring_check_failing{check="data_drift.age",severity="warn"} 1' in metrics
    assert 'glassbox_monitoring_alerts_total{check="data_drift.credit_amount",severity="warn"} 1' in metrics
    assert f"glassbox_monitoring_window_decisions {WINDOW}" in metrics

    deadline = time.monotonic() + 30
    while len(live.receiver.received) < len(alerts) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(a["check"], a["status"]) for a in live.receiver.received] == [(a["check"], a["status"]) for a in alerts]

    shown = glassbox("lineage", "model", "--pushed", "--config", str(live.config_file))
    assert shown.returncode == 0, shown.stderr
    assert "alerts: " in shown.stdout and "data_drift.age" in shown.stdout, shown.stdout
    print(shown.stdout[shown.stdout.index("serving:"):])
    verified = glassbox("decisions", "verify", "--config", str(live.config_file))
    assert verified.returncode == 0 and f"{len(alerts)} monitoring alert(s), alert chain intact" in verified.stdout, \
        verified.stdout + verified.stderr
    print(verified.stdout)


def test_a_restart_restores_the_window_without_losing_or_repeating_an_alert(live):
    before, alerts_before = monitoring(live), recorded_alerts(live)
    assert live.stop() in (0, -15)
    live.start()
    after = monitoring(live)
    assert after["window"]["count"] == before["window"]["count"]
    for kind in ("numeric", "categorical", "scores"):  # the same decisions in the window
        assert after["counts"][kind] == before["counts"][kind]
    assert after["counts"]["mean_score"] == pytest.approx(before["counts"]["mean_score"], abs=1e-12)
    assert after["alerting"] == before["alerting"]
    for b, a in zip(before["checks"], after["checks"]):
        assert a["id"] == b["id"] and a["status"] == b["status"]
        assert a["value"] == pytest.approx(b["value"], abs=1e-9) if b["value"] is not None else a["value"] is None
    assert recorded_alerts(live) == alerts_before  # nothing repeated on start
    send(live, [drifted(item) for item in applicants()[:100]])  # still drifted: still no repeat
    assert [a for a in recorded_alerts(live) if a["status"] == "fail"] == [
        a for a in alerts_before if a["status"] == "fail"]


def decide(service, items) -> list:
    answers = []
    with httpx.Client(base_url=service.url, headers=AUTH, timeout=120) as client:
        for start in range(0, len(items), REQUEST):
            response = client.post("/v1/decisions", json=items[start:start + REQUEST])
            assert response.status_code == 200, response.text
            answers += response.json()
    return answers


def post_outcomes(service, outcomes) -> httpx.Response:
    return httpx.post(f"{service.url}/v1/outcomes", headers=AUTH, json=outcomes, timeout=120)


def label(service, outcomes) -> dict:
    """Posts outcomes 100 at a time; (how many recorded, the window's labelled decisions after the last post)."""
    recorded, answer = 0, {}
    for start in range(0, len(outcomes), 100):
        response = post_outcomes(service, outcomes[start:start + 100])
        assert response.status_code == 200, response.text
        answer = response.json()
        recorded += answer["recorded"]
    return {"recorded": recorded, "labelled_in_window": answer["labelled_in_window"]}


def test_outcomes_raise_the_fairness_alert_when_labels_flip_for_one_group(live):
    truth = pd.read_csv(REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv")
    answers = decide(live, applicants()[:300])  # the window: 300 undrifted decisions
    assert all(set(a["groups"]) == {"sex", "age_band"} for a in answers)
    assert label(live, [{"decision_id": a["decision_id"], "label": int(truth.risk[i])}
                        for i, a in enumerate(answers)]) == {"recorded": 300, "labelled_in_window": 300}
    honest = {c["id"]: c for c in monitoring(live)["outcomes"]["checks"]}
    print("outcome checks, true labels:", {k: (c["status"], c["value"]) for k, c in honest.items()})
    assert set(honest) >= {"overall_auc", "calibration_ece", "equal_opportunity_difference.sex",
                           "disparate_impact_ratio.sex"}
    assert honest["equal_opportunity_difference.sex"]["status"] == "pass"
    before = len(recorded_alerts(live))
    assert [a for a in recorded_alerts(live) if a["check"].startswith("equal_opportunity_difference")] == []

    # refused: an unknown decision, a second outcome, a label that is not 0/1; nothing recorded by them
    assert post_outcomes(live, {"decision_id": "f" * 32, "label": 1}).status_code == 404
    assert post_outcomes(live, {"decision_id": answers[0]["decision_id"], "label": 1}).status_code == 409
    assert post_outcomes(live, {"decision_id": answers[0]["decision_id"], "label": 2}).status_code == 422

    # the model degrades for one group: women's outcomes are the opposite of the data's
    answers = decide(live, applicants()[300:600])
    flipped = [{"decision_id": a["decision_id"],
                "label": 1 - int(truth.risk[300 + i]) if truth.sex[300 + i] == "female" else int(truth.risk[300 + i])}
               for i, a in enumerate(answers)]
    assert label(live, flipped) == {"recorded": 300, "labelled_in_window": 300}
    degraded = {c["id"]: c for c in monitoring(live)["outcomes"]["checks"]}
    print("outcome checks, women's labels flipped:", {k: (c["status"], c["value"]) for k, c in degraded.items()})
    new = [a for a in recorded_alerts(live)[before:] if a["status"] == "fail"]
    print("alerts on outcomes:", [(a["check"], a["severity"], a["value"], a["window"]["labelled"]) for a in new])
    assert degraded["equal_opportunity_difference.sex"]["status"] == "fail"
    assert [a["check"] for a in new].count("equal_opportunity_difference.sex") == 1


def test_the_batch_monitor_on_the_same_window_of_the_record_has_the_live_figures(live, tmp_path):
    """`glassbox monitor --decisions --since T`: the monitoring pipeline on the window's decisions (imported from the
    record, scored by BulkInferrer, explained by the Explainer against the training background, their outcomes as
    labels), recorded in MLMD, with the live monitor's figures to 1e-6."""
    state = monitoring(live)
    with open_store(live.record) as store:
        window = store.recent(state["model_id"], WINDOW)
    assert state["window"]["count"] == len(window) == WINDOW and state["outcomes"]["labelled"] == WINDOW
    # The monitoring run goes to a copy of the session's store, which other tests read as the pipeline run left it.
    copied = copy_of_store(live.run_config, tmp_path)
    batch_file = tmp_path / "batch.yaml"
    batch_file.write_text(yaml.safe_dump({**yaml.safe_load(live.config_file.read_text()), "metadata": {
        "sqlite_path": str(copied.metadata_path)}, "serving": {"decisions": str(live.record)}}))
    ran = glassbox("monitor", "--decisions", "--since", window[0].time, "--config", str(batch_file))
    print(ran.stdout)
    assert ran.returncode in (0, 4), ran.stdout + ran.stderr  # 4: the flipped labels' block alert, if any
    assert f"on {WINDOW} decision(s) of model {state['model_id']}" in ran.stdout and f"{WINDOW} with outcomes" in \
        ran.stdout
    config = load_config(batch_file)  # the run recorded in MLMD as a monitoring run, its report the latest
    uri = latest_monitor_report(open_metadata(config), config)
    assert f"Report: {uri}/report.html" in ran.stdout
    with open(os.path.join(uri, "monitor.json")) as f:
        batch = {c["id"]: c for c in json.load(f)["checks"]}
    live_figures = {c["id"]: c["value"] for c in [*state["checks"], *state["outcomes"]["checks"]]}
    compared = sorted(set(live_figures) & set(batch))
    assert {"prediction_drift", "attribution_drift.rank", "attribution_drift.share", "data_drift.age",
            "overall_auc", "equal_opportunity_difference.sex"} <= set(compared)
    gaps = {k: abs(batch[k]["measured"] - live_figures[k]) for k in compared if live_figures[k] is not None}
    print("largest batch-live gaps:", sorted(gaps.items(), key=lambda kv: -kv[1])[:5])
    assert all(batch[k]["measured"] is None for k in compared if live_figures[k] is None)
    assert max(gaps.values()) <= 1e-6, gaps
    assert {k: batch[k]["status"] for k in compared} == {
        k: c["status"] for c in [*state["checks"], *state["outcomes"]["checks"]] for k in [c["id"]] if k in batch}
