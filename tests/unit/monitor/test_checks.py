"""The Monitor's measurements as plain functions: drift per feature, score drift, attribution drift, span checks."""

import numpy as np
import pytest

from components.model_audit.inputs import Predictions
from components.model_audit.policy import load_policy
from components.monitor import checks
from components.monitor.policy import MonitorPolicyError, load_monitor_policy
from components.monitor.report import monitor_report, render_monitor_html
from pipeline.config import REPO_ROOT
from pipeline.records.monitoring import block_alerts
from tests.unit.model_audit.builders import categorical_feature, numeric_feature, statistics

POLICY = load_monitor_policy(REPO_ROOT / "schemas" / "german_credit" / "monitor_policy.yaml")
AUDIT_POLICY = load_policy(REPO_ROOT / "schemas" / "german_credit" / "audit_policy.yaml")
TRAINING = statistics(categorical_feature("purpose", {"car": 300, "radio/TV": 280, "business": 100}),
                      numeric_feature("age", [(18, 40, 600), (40, 80, 400)]),
                      numeric_feature("duration", [(4, 24, 500), (24, 72, 200)]))


def test_only_the_shifted_features_drift():
    span = statistics(categorical_feature("purpose", {"car": 90, "radio/TV": 30, "business": 80}),
                      numeric_feature("age", [(30, 60, 150), (60, 92, 50)]),
                      numeric_feature("duration", [(4, 24, 140), (24, 72, 60)]))
    results = {r.id: r for r in checks.data_drift(TRAINING, span, ["age", "duration", "purpose"], POLICY.data_drift)}
    assert {i for i, r in results.items() if r.status == "fail"} == {"data_drift.age", "data_drift.purpose"}
    assert results["data_drift.purpose"].details["measure"] == "L-infinity distance"
    # radio/TV: 280/680 in training, 30/200 on the span
    assert results["data_drift.purpose"].measured == pytest.approx(280 / 680 - 30 / 200)
    assert results["data_drift.duration"].measured < 0.01 and results["data_drift.duration"].status == "pass"


def test_a_per_feature_threshold_overrides_the_kind_threshold():
    policy = POLICY.data_drift.model_copy(update={"features": {"duration": 0.0001}})
    span = statistics(numeric_feature("duration", [(4, 24, 130), (24, 72, 70)]))
    (result,) = checks.data_drift(TRAINING, span, ["duration"], policy)
    assert result.threshold == 0.0001 and result.status == "fail"


def test_a_feature_missing_from_the_span_is_not_applicable():
    (result,) = checks.data_drift(TRAINING, statistics(), ["age"], POLICY.data_drift)
    assert result.status == "not_applicable"


def test_prediction_drift_is_zero_for_the_same_scores_and_large_for_shifted_ones():
    rng = np.random.default_rng(0)
    scores = rng.beta(5, 2, 2000)
    same = checks.prediction_drift(POLICY.prediction_drift, scores, scores, 10)
    shifted = checks.prediction_drift(POLICY.prediction_drift, scores, rng.beta(2, 5, 2000), 10)
    assert same.measured == 0 and same.status == "pass"
    assert shifted.measured > 0.3 and shifted.status == "fail"
    assert sum(shifted.details["span_histogram"]) == 2000


def test_attribution_drift_sees_a_reordered_ranking_and_a_moved_share():
    training = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
    rank, share = checks.attribution_drift(training, {k: 2 * v for k, v in training.items()}, POLICY.attribution_drift)
    assert rank.measured == pytest.approx(1) and share.measured == pytest.approx(0) and "fail" not in (
        rank.status, share.status)
    rank, share = checks.attribution_drift(training, {"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, POLICY.attribution_drift)
    assert rank.measured == pytest.approx(-1) and rank.status == "fail"
    assert share.measured == pytest.approx(0.3) and share.details["worst_feature"] in ("a", "d")


def _predictions(n=400, seed=1):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    scores = np.clip(0.5 + 0.3 * (labels - 0.5) + rng.normal(0, 0.2, n), 0, 1)
    return Predictions(labels=labels, scores=scores, groups={"sex": rng.choice(["f", "m"], n),
                                                             "age_band": rng.choice(["<25", "25-35", "35+"], n)})


def test_span_checks_rerun_the_audit_checks_with_the_audit_thresholds():
    results = checks.span_checks(POLICY.audit_checks, AUDIT_POLICY, _predictions())
    ids = {r.id for r in results}
    assert {"overall_auc", "calibration_ece", "disparate_impact_ratio.sex", "equal_opportunity_difference.age_band"
            } <= ids
    auc = next(r for r in results if r.id == "overall_auc")
    assert auc.threshold == AUDIT_POLICY.checks.overall_auc.threshold and auc.measured > 0.7
    unlabelled = checks.span_checks(POLICY.audit_checks, AUDIT_POLICY, None)
    assert {r.status for r in unlabelled} == {"not_applicable"} and len(unlabelled) == len(POLICY.audit_checks)


def test_the_report_counts_alerts_by_severity_and_renders():
    span = statistics(categorical_feature("purpose", {"car": 90, "radio/TV": 30, "business": 80}))
    results = [checks.schema_anomalies(POLICY.schema_anomalies, ["age: out of range"]),
               *checks.data_drift(TRAINING, span, ["purpose"], POLICY.data_drift)]
    report = monitor_report(results, span={"examples": 200, "explained": 200, "labelled": False},
                            policy={"source": "p.yaml", "audit_source": None}, lineage=[])
    assert report["counts"] == {"block": 1, "warn": 1, "checks": 2}
    assert report["drifted_features"] == ["purpose"]
    html = render_monitor_html(report, "Monitoring of model 7")
    assert 'data-check-id="data_drift.purpose" data-status="fail"' in html and "2 alert(s)" in html


def test_block_alerts_are_the_failed_checks_of_block_severity():
    """What `glassbox monitor`'s exit code rests on: a warn alert or a block check that passed does not count."""
    drifted = statistics(categorical_feature("purpose", {"car": 90, "radio/TV": 30, "business": 80}))
    passing = [checks.schema_anomalies(POLICY.schema_anomalies, []),
               *checks.data_drift(TRAINING, drifted, ["purpose"], POLICY.data_drift)]
    report = monitor_report(passing, span={}, policy={}, lineage=[])
    assert [a["severity"] for a in report["alerts"]] == ["warn"] and block_alerts(report) == []
    failing = [checks.schema_anomalies(POLICY.schema_anomalies, ["age: out of range"]), *passing[1:]]
    assert block_alerts(monitor_report(failing, span={}, policy={}, lineage=[])) == ["schema_anomalies"]


def test_a_bad_policy_names_the_file_and_the_field(tmp_path):
    path = tmp_path / "monitor_policy.yaml"
    text = (REPO_ROOT / "schemas" / "german_credit" / "monitor_policy.yaml").read_text()
    path.write_text(text.replace("threshold: 0.70", "threshold: high"))
    with pytest.raises(MonitorPolicyError, match=r"monitor_policy.yaml: field 'attribution_drift.rank.threshold'"):
        load_monitor_policy(path)
    path.write_text(text.replace("audit_checks: [overall_auc", "audit_checks: [auc_regression"))
    with pytest.raises(MonitorPolicyError, match=r"field 'audit_checks': unknown check 'auc_regression'"):
        load_monitor_policy(path)
