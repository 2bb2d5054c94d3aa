"""The Monitor executor through `Do`, on a span that is the training run's eval split seen again: BulkInferrer's
scores, the span's own Explainer run and statistics against the training's. The same model on the same examples must
show no prediction drift; statistics of several splits passed as the span's fail before anything is written."""

import json
import os

import pytest

from components.artifacts import MonitorReport
from components.model_audit.policy import load_policy, policy_json
from components.monitor import executor as monitor
from components.monitor.policy import load_monitor_policy, monitor_policy_json
from pipeline.config import REPO_ROOT
from tests.unit.executors.builders import MODEL_ID, artifact, assert_sealed, files_under, split_rows

# The session's chain of executor outputs (conftest.py) is made once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("executors")

SCHEMAS = REPO_ROOT / "schemas" / "german_credit"


def _properties():
    """The Monitor's execution parameters, as the component makes them from its files (with the audit policy, whose
    checks a labelled span reruns)."""
    policy_file, audit_policy = SCHEMAS / "monitor_policy.yaml", load_policy(SCHEMAS / "audit_policy.yaml")
    return {"policy": monitor_policy_json(load_monitor_policy(policy_file)), "policy_source": str(policy_file),
            "audit_policy": policy_json(audit_policy), "audit_policy_source": audit_policy.source,
            "decision_threshold": 0.5}


@pytest.fixture
def inputs(model, statistics, explanations, span_examples, span_anomalies, inference_result, span_explanations):
    """The Monitor's inputs as pipeline/monitor.py wires them."""
    return {"model": [model], "baseline_statistics": [statistics], "baseline_explanations": [explanations],
            "examples": [span_examples], "anomalies": [span_anomalies], "inference_result": [inference_result],
            "explanations": [span_explanations]}


def _watch(inputs, folder):
    """The Monitor's `Do` on `inputs`: its MonitorReport artifact and monitor.json."""
    report = artifact(MonitorReport, folder / "monitor_report")
    monitor.Executor().Do(inputs, {"monitor_report": [report]}, _properties())
    with open(os.path.join(report.uri, monitor.MONITOR_FILE)) as f:
        return report, json.load(f)


def test_watches_the_span_records_the_alerts_and_seals_the_report(inputs, examples, tmp_path):
    report, watched = _watch(inputs, tmp_path)

    assert files_under(report.uri) == sorted([monitor.MONITOR_FILE, monitor.REPORT_FILE])
    span = len(split_rows(examples, "eval"))
    assert watched["span"] == {"examples": span, "explained": span, "labelled": span}
    checks = {check["id"]: check for check in watched["checks"]}
    assert checks["prediction_drift"]["measured"] == 0
    assert checks["schema_anomalies"]["measured"] == 0
    assert {f"data_drift.{name}" for name in ("age", "checking_account", "credit_amount", "duration", "housing",
                                              "sex")} <= set(checks)

    assert report.get_int_custom_property("watched_model_id") == MODEL_ID
    assert report.get_int_custom_property("examples") == span
    assert report.get_int_custom_property("alerts") == len(watched["alerts"])
    assert report.get_int_custom_property("block_alerts") == watched["counts"]["block"]
    assert report.get_int_custom_property("warn_alerts") == watched["counts"]["warn"]
    assert report.get_string_custom_property("alert_checks") == ",".join(a["id"] for a in watched["alerts"])
    assert report.get_string_custom_property("drifted_features") == ",".join(watched["drifted_features"])
    assert report.get_float_custom_property("prediction_drift") == 0
    assert report.get_float_custom_property("attribution_rank_correlation") == checks["attribution_drift.rank"][
        "measured"]
    assert report.get_float_custom_property("span_auc") == checks["overall_auc"]["measured"]
    assert_sealed(report)


def test_a_span_without_labels_is_watched_for_drift_and_its_performance_and_fairness_are_not_applicable(
        inputs, unlabeled_span, tmp_path):
    span = {name: [unlabeled_span[name]] for name in ("examples", "anomalies", "inference_result", "explanations")}
    report, watched = _watch({**inputs, **span}, tmp_path / "unlabeled")

    examples = len(split_rows(unlabeled_span["examples"], "eval"))
    assert watched["span"] == {"examples": examples, "explained": examples, "labelled": 0}
    checks = {check["id"]: check for check in watched["checks"]}
    for check_id in ("overall_auc", "calibration_ece", "disparate_impact_ratio", "equal_opportunity_difference"):
        assert (checks[check_id]["status"], checks[check_id]["reason"]) == ("not_applicable", "the span has no labels")
    assert checks["schema_anomalies"]["status"] == "pass"
    # The labelled span's examples without the label: the same scores, and the same data drift as the labelled span.
    assert checks["prediction_drift"]["measured"] == 0
    _, with_labels = _watch(inputs, tmp_path / "labelled")
    data_drift = {c["id"]: c["measured"] for c in watched["checks"] if c["family"] == "data_drift"}
    assert len(data_drift) == 6 and data_drift == pytest.approx(
        {c["id"]: c["measured"] for c in with_labels["checks"] if c["family"] == "data_drift"})
    # Attributions are taken against a background sample chosen by each example's digest, which the label is part of.
    assert checks["attribution_drift.rank"]["measured"] > 0.7 and checks["attribution_drift.share"]["measured"] < 0.1
    assert not report.has_custom_property("span_auc")
    assert_sealed(report)


def test_examples_of_several_splits_as_the_span_fail_before_anything_is_written(inputs, examples, tmp_path):
    report = artifact(MonitorReport, tmp_path / "monitor_report")
    with pytest.raises(ValueError, match=r"^Monitor: the span's examples have splits \['train', 'eval'\]; the span "
                                         r"must be one split\.$"):
        monitor.Executor().Do({**inputs, "examples": [examples]}, {"monitor_report": [report]}, _properties())
    assert files_under(report.uri) == []
