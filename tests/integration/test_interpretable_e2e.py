"""`training.model: scorecard` and `rules` on the embedded data, end to end. The same pipeline blesses, audits and
pushes a points scorecard whose table is in the audit report, whose reasons agree with its exact Shapley values on
every decline, and which the decision service serves with points-lost reasons. A depth-3 rule list goes through the
same steps, with its rules in the report, and is stopped: its AUC is below the blessing threshold. Both start from
the session run's steps up to Transform, from TFX's cache (`upstream_run`)."""

import json
import os
from html import escape

import pandas as pd
import pytest

from pipeline.records.summary import summarize_run
from pipeline.serving.engine import Engine
from tests.helpers import GERMAN_CREDIT_CSV, run_from_upstream

pytestmark = pytest.mark.e2e
INTEGERS = ("job", "credit_amount", "duration", "age")


@pytest.fixture(scope="module")
def scorecard_run(upstream_run, tmp_path_factory):
    return run_from_upstream(upstream_run, tmp_path_factory.mktemp("scorecard"), training={"model": "scorecard"})


@pytest.fixture(scope="module")
def rules_run(upstream_run, tmp_path_factory):
    return run_from_upstream(upstream_run, tmp_path_factory.mktemp("rules"), training={"model": "rules"})


def _property(artifact, name):
    value = artifact.custom_properties[name]
    return getattr(value, value.WhichOneof("value"))


def test_the_scorecard_is_blessed_audited_and_pushed(scorecard_run):
    summary, outputs = summarize_run(scorecard_run.config, scorecard_run.run_id), scorecard_run.outputs
    print(f"scorecard run: {scorecard_run.seconds:.0f} s, eval AUC {summary.auc_by_slice['Overall']:.3f}")
    assert summary.blessed is True and summary.auc_by_slice["Overall"] >= 0.70
    assert summary.audit["verdict"] == "pass"
    assert summary.pushed_uri and os.path.isfile(os.path.join(summary.pushed_uri, "assets", "glassbox_scorecard.json"))
    assert _property(outputs[("Trainer", "model")], "model_kind") == "scorecard"
    audit = json.loads(open(os.path.join(outputs[("ModelAudit", "audit_report")].uri, "audit.json")).read())
    checks = {c["id"]: c for c in audit["checks"]}
    # recorded like the network's: its AUC and its fairness checks, with their intervals
    assert checks["overall_auc"]["status"] == "pass"
    for check in ("disparate_impact_ratio", "equal_opportunity_difference", "equalized_odds_difference"):
        assert {f"{check}.sex", f"{check}.age_band"} <= set(checks)
        assert checks[f"{check}.sex"]["ci"] is not None


def test_the_report_shows_the_table(scorecard_run):
    outputs = scorecard_run.outputs
    html = open(os.path.join(outputs[("ModelAudit", "audit_report")].uri, "report.html"), encoding="utf-8").read()
    table = json.loads(open(os.path.join(outputs[("Trainer", "model")].uri, "Format-Serving", "assets",
                                         "glassbox_scorecard.json")).read())
    assert '<section id="scorecard">' in html
    assert {row["feature"] for row in table["rows"]} == set(table["best_points"])
    for row in table["rows"]:
        assert f'<tr data-feature="{row["feature"]}"><td>{row["feature"]}</td><td>{escape(row["bin"])}</td>' \
               f'<td class="num">{row["points"]}</td>' in html


def test_every_decline_has_reasons_in_the_order_of_its_shapley_values(scorecard_run):
    explanations = scorecard_run.outputs[("Explainer", "explanations")]
    declines = _property(explanations, "scorecard_declines")
    assert declines > 0 and _property(explanations, "scorecard_reasons_agreeing_with_shapley") == declines
    assert "integrated_gradients" in _property(explanations, "skipped_methods")
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    assert set(table["method"]) == {"shapley", "lime"}  # the per-example methods but integrated gradients
    declined = table[(table["method"] == "shapley") & (table["prediction"] < 0.5)]
    assert len(declined) == declines
    assert all(r[0].endswith("points below its best bin") for r in declined["reasons"])


def test_the_service_declines_with_points_lost(scorecard_run):
    engine = Engine.from_store(scorecard_run.config)
    raw = pd.read_csv(GERMAN_CREDIT_CSV, dtype=str, keep_default_na=False).replace({"": None}).head(60)
    items = [{k: (None if pd.isna(v) else int(v) if k in INTEGERS else str(v)) for k, v in row.items()}
             for row in raw.drop(columns="risk").to_dict("records")]
    decisions = engine.decide(items)
    declines = [d for d in decisions if d["decision"] == "decline"]
    assert declines and all(d["reasons"][0].endswith("points below its best bin") for d in declines)
    for d in decisions:  # the attributions still add up to the score
        assert d["attributions"]["base_value"] + sum(d["attributions"]["values"].values()) == pytest.approx(
            d["score"], abs=1e-5)


def test_a_rule_list_goes_through_the_same_pipeline_and_is_stopped_below_the_bar(rules_run):
    summary, outputs = summarize_run(rules_run.config, rules_run.run_id), rules_run.outputs
    print(f"rules run: {rules_run.seconds:.0f} s, eval AUC {summary.auc_by_slice['Overall']:.3f}")
    assert summary.auc_by_slice["Overall"] < 0.70 and summary.blessed is False and not summary.pushed_uri
    assert _property(outputs[("Trainer", "model")], "model_kind") == "rules"
    explanations = outputs[("Explainer", "explanations")]
    assert "integrated_gradients" in _property(explanations, "skipped_methods")
    audit = outputs[("ModelAudit", "audit_report")]
    report = json.loads(open(os.path.join(audit.uri, "audit.json")).read())
    assert report["verdict"] == "fail" and "overall_auc" in report["blocking_failures"]
    html = open(os.path.join(audit.uri, "report.html"), encoding="utf-8").read()
    table = json.loads(open(os.path.join(outputs[("Trainer", "model")].uri, "Format-Serving", "assets",
                                         "glassbox_rules.json")).read())
    assert '<section id="rules">' in html and 2 <= len(table["rules"]) <= 8
    for index, rule in enumerate(table["rules"], start=1):
        assert f'<tr data-rule="{index}"><td>{escape(rule["rule"])}</td>' in html
