"""The monitoring pipeline on new spans against the session run's pushed model: one drawn from the training
distribution, one with credit amount, age and purpose shifted, both labelled, so the audit's performance and fairness
checks run on them too; and one without the label, as production data comes."""

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipeline import cli, metadata
from pipeline.config import PipelineConfig, load_config
from pipeline.records import mlmd
from pipeline.records.lineage import Lineage
from pipeline.records.monitoring import block_alerts, latest_monitor_report
from pipeline.runners.local import run_monitor
from tests.helpers import GERMAN_CREDIT_CSV, copy_of_store, read_rows, write_rows
from tests.unit.privacy.helpers import make_raw_data

pytestmark = pytest.mark.e2e

SPANS = {"undrifted": ("--seed", "11"), "drifted": ("--seed", "12", "--drift")}
DRIFT_FAMILIES = ("schema", "data_drift", "prediction_drift", "attribution_drift")


@dataclass
class Monitored:
    config: PipelineConfig
    config_file: Path
    reports: dict
    uris: dict


@pytest.fixture(scope="module")
def monitored(pipeline_run, tmp_path_factory):
    """Both spans monitored with `glassbox monitor`, on a copy of the session run's store: the monitoring runs'
    executions stay out of what the other e2e tests read."""
    trained, _ = pipeline_run
    tmp = tmp_path_factory.mktemp("monitor")
    shutil.copy(trained.metadata_path, tmp / "metadata.sqlite")
    config_file = tmp / "monitor.yaml"
    config_file.write_text(yaml.safe_dump({"output_dir": str(tmp / "outputs"),
                                           "metadata": {"sqlite_path": str(tmp / "metadata.sqlite")}}))
    config = load_config(config_file)
    reports, uris = {}, {}
    for name, args in SPANS.items():
        make_raw_data(tmp / name / "span.csv", "--rows", "300", *args)
        code = cli.main(["monitor", "--data", str(tmp / name), "--config", str(config_file)])
        uris[name] = latest_monitor_report(metadata.open_store(config), config)
        reports[name] = json.loads(Path(uris[name], "monitor.json").read_text())
        assert code == (4 if block_alerts(reports[name]) else 0)  # a scheduler acts on a block alert
    return Monitored(config, config_file, reports, uris)


def _alerts(report, families=DRIFT_FAMILIES):
    return sorted(a["id"] for a in report["alerts"] if a["family"] in families)


def test_the_drifted_span_raises_drift_alerts_on_exactly_the_shifted_features(monitored):
    report = monitored.reports["drifted"]
    assert sorted(report["drifted_features"]) == ["age", "credit_amount", "purpose"]
    assert {"data_drift.age", "data_drift.credit_amount", "data_drift.purpose"} <= set(_alerts(report))
    checked = {c["id"] for c in report["checks"] if c["family"] == "data_drift" and c["status"] == "pass"}
    assert {"data_drift.duration", "data_drift.checking_account", "data_drift.sex"} <= checked


def test_the_undrifted_span_raises_no_drift_alert(monitored):
    report = monitored.reports["undrifted"]
    assert _alerts(report) == [] and report["drifted_features"] == []
    assert {c["status"] for c in report["checks"] if c["family"] in DRIFT_FAMILIES} == {"pass"}


def test_labelled_spans_are_judged_with_the_audits_performance_and_fairness_checks(monitored):
    for report in monitored.reports.values():
        assert report["span"]["labelled"] and report["span"]["examples"] > 250
        by_id = {c["id"]: c for c in report["checks"]}
        assert by_id["overall_auc"]["status"] in ("pass", "fail") and 0.5 < by_id["overall_auc"]["measured"] <= 1
        assert by_id["overall_auc"]["threshold"] == 0.70  # the audit policy's
        assert {"disparate_impact_ratio.sex", "equal_opportunity_difference.age_band"} <= set(by_id)


def test_mlmd_links_each_report_to_the_pushed_model_and_its_training_artifacts(monitored):
    store = metadata.open_store(monitored.config)
    lineage = Lineage(store, monitored.config.pipeline_name)
    model_id = lineage.pushed_model()
    graph = lineage.model_lineage(model_id)
    runs = graph.monitoring_runs()
    assert [r["uri"] for r in runs] == [monitored.uris[name] for name in SPANS]
    assert [r["alerts"] for r in runs] == [len(monitored.reports[name]["alerts"]) for name in SPANS]
    # The Importers reused the training run's artifacts: the Monitor read the very ids the training run wrote.
    training = {n.node_id: mlmd.output_artifacts(store, n.execution.id)
                for n in mlmd.run_executions(store, monitored.config.pipeline_name)}
    for run in runs:
        inputs = mlmd.input_artifacts(store, run["execution"])
        assert inputs["model"][0].id == model_id
        assert inputs["baseline_statistics"][0].id == training["StatisticsGen"]["statistics"][0].id
        assert inputs["baseline_explanations"][0].id == training["Explainer"]["explanations"][0].id
    # ...and re-registering the model did not make the Importer one of its origins.
    producers = {graph.executions[x].component for x in graph.producers(model_id) if graph.roles.get(x) == "upstream"}
    assert producers == {"Trainer"}


def test_lineage_tree_and_json_show_the_monitoring_history(monitored, capsys):
    assert cli.main(["lineage", "model", "--pushed", "--config", str(monitored.config_file)]) == 0
    tree = capsys.readouterr().out
    drifted = monitored.reports["drifted"]
    undrifted_line, drifted_line = tree.split("Monitoring:\n")[1].splitlines()[:2]
    assert f"{len(drifted['alerts'])} alert(s)" in drifted_line and "data_drift.credit_amount" in drifted_line
    assert f"{len(monitored.reports['undrifted']['alerts'])} alert(s)" in undrifted_line
    assert cli.main(["lineage", "model", "--pushed", "--json", "--config", str(monitored.config_file)]) == 0
    graph = json.loads(capsys.readouterr().out)
    assert [r["drifted_features"] for r in graph["monitoring"]] == [
        ",".join(monitored.reports[name]["drifted_features"]) for name in SPANS]
    assert {x["component"] for x in graph["executions"] if x["role"] == "monitoring"} == {
        "BulkInferrer", "Explainer", "Monitor"}


def test_the_report_page_shows_each_alert(monitored):
    html = Path(monitored.uris["drifted"], "report.html").read_text()
    for alert in monitored.reports["drifted"]["alerts"]:
        assert f'data-check-id="{alert["id"]}" data-status="fail"' in html


@dataclass
class Unlabeled:
    report: dict
    privacy_report: dict
    privacy_artifact: object


@pytest.fixture(scope="module")
def unlabeled(pipeline_run, tmp_path_factory):
    """The embedded data's first 300 rows without `risk`, monitored on a copy of the session run's store, with an
    output folder of its own: the copy's executions get the ids that other copies' get, and TFX names output folders
    by execution id."""
    trained, _ = pipeline_run
    tmp = tmp_path_factory.mktemp("unlabeled")
    config = copy_of_store(trained, tmp).model_copy(update={"output_dir": tmp / "outputs"})
    rows = read_rows(GERMAN_CREDIT_CSV)[:300]
    (tmp / "span").mkdir()
    write_rows(tmp / "span" / "span.csv", rows, [column for column in rows[0] if column != "risk"])
    run_monitor(config, str(tmp / "span"))
    store = metadata.open_store(config)
    with open(Path(latest_monitor_report(store, config), "monitor.json")) as f:
        report = json.load(f)
    privacy = next(n for n in mlmd.run_executions(store, config.monitor_pipeline_name) if n.node_id == "Privacy")
    privacy_artifact = mlmd.output_artifacts(store, privacy.execution.id)["privacy_report"][0]
    with open(Path(privacy_artifact.uri, "privacy_report.json")) as f:
        return Unlabeled(report, json.load(f), privacy_artifact)


def test_a_span_without_labels_is_watched_for_drift_and_its_performance_and_fairness_are_not_applicable(unlabeled):
    report = unlabeled.report
    assert not report["span"]["labelled"] and report["span"]["examples"] > 250
    by_id = {c["id"]: c for c in report["checks"]}
    for check_id in ("overall_auc", "calibration_ece", "disparate_impact_ratio", "equal_opportunity_difference"):
        assert (by_id[check_id]["status"], by_id[check_id]["reason"]) == ("not_applicable", "the span has no labels")
    # The label's absence is expected in the schema's SERVING environment: no anomaly, no block alert.
    assert (by_id["schema_anomalies"]["status"], by_id["schema_anomalies"]["measured"]) == ("pass", 0)
    assert block_alerts(report) == []
    ran = {c["id"] for c in report["checks"] if c["status"] in ("pass", "fail") and c["measured"] is not None}
    assert {"prediction_drift", "attribution_drift.rank", "attribution_drift.share"} <= ran
    assert {f"data_drift.{name}" for name in ("age", "checking_account", "credit_amount", "duration", "housing",
                                              "job", "purpose", "saving_accounts", "sex")} <= ran


def test_privacy_skips_l_diversity_on_the_span_without_labels_and_says_why(unlabeled):
    anonymity = unlabeled.privacy_report["anonymity"]
    reason = ("the sensitive column 'risk' is absent from this SERVING data (a span without labels): there is no "
              "label for a class to reveal")
    assert anonymity["l_diversity_skipped"] == reason and "l" not in anonymity and anonymity["k"] >= 5
    assert unlabeled.privacy_artifact.custom_properties["l_diversity_skipped"].string_value == reason
    assert "risk" not in unlabeled.privacy_report["columns"]
