"""Interpretable models on the embedded data, end to end, in two runs that start from the session run's steps up to
Transform, from TFX's cache (`upstream_run`), with the Explainer at the tests' small budget.

`training.challengers: [scorecard]` with the policy's `prefer_interpretable`: the network and a points scorecard are
both trained, explained, evaluated and audited; the network's audit finds that it does not beat the scorecard by the
margin (on 180 eval applicants the gain's interval reaches well below 0.01), so the scorecard's Pusher ships it,
lineage names it as the pushed model, and the decision service serves it with points-lost reasons. The scorecard's
own branch is blessed and audited like the network, its table is in its audit report, and its reasons agree with its
exact Shapley values on every decline. The other way round is tests/unit/model_audit/test_preference.py.

`training.model: rules`: a depth-3 rule list goes through the same steps, with its rules in the report, and is
stopped: its AUC is below the blessing threshold."""

import json
import os
from html import escape

import pandas as pd
import pytest

from components.evaluator.executor import EVALUATED_BY, VECTORISED
from pipeline import metadata
from pipeline.config import REPO_ROOT
from pipeline.records.lineage import Lineage
from pipeline.records.summary import auc_by_slice, summarize_run
from pipeline.serving.engine import Engine
from tests.helpers import (
    GERMAN_CREDIT_CSV,
    SMALL_EXPLAINER,
    assert_same_evaluation,
    evaluate_with_tfma,
    evaluation_records,
    run_from_upstream,
)

pytestmark = pytest.mark.e2e
INTEGERS = ("job", "credit_amount", "duration", "age")
POLICY = REPO_ROOT / "schemas" / "german_credit" / "audit_policy.yaml"


@pytest.fixture(scope="module")
def preferring_run(upstream_run, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prefer")
    policy = directory / "audit_policy.yaml"
    policy.write_text(POLICY.read_text(encoding="utf-8") + "\nprefer_interpretable: {within_auc: 0.01}\n",
                      encoding="utf-8")
    return run_from_upstream(upstream_run, directory, audit_policy=policy, explainer=SMALL_EXPLAINER,
                             training={"challengers": ["scorecard"]})


@pytest.fixture(scope="module")
def rules_run(upstream_run, tmp_path_factory):
    return run_from_upstream(upstream_run, tmp_path_factory.mktemp("rules"), explainer=SMALL_EXPLAINER,
                             training={"model": "rules"})


def _property(artifact, name):
    value = artifact.custom_properties[name]
    return getattr(value, value.WhichOneof("value"))


def test_both_models_are_audited_and_the_scorecard_ships(preferring_run):
    states, outputs = preferring_run.states, preferring_run.outputs
    print(f"network + scorecard run: {preferring_run.seconds:.0f} s")
    for node in ("Trainer", "Explainer", "Evaluator", "ModelAudit"):
        assert states[node] == states[f"{node}_scorecard"] == "COMPLETE", node
    assert states["Pusher_scorecard"] == "COMPLETE" and "Pusher" not in states
    audit = outputs[("ModelAudit", "audit_report")]
    scorecard = outputs[("Trainer_scorecard", "model")]
    assert audit.custom_properties["ships"].string_value == "interpretable"
    assert audit.custom_properties["shipped_model_id"].int_value == scorecard.id
    reason = audit.custom_properties["preference_reason"].string_value
    assert reason.startswith("the candidate does not beat the scorecard by the margin (lower CI bound vs within_auc")
    report = json.loads(open(os.path.join(audit.uri, "audit.json")).read())
    preference = report["preference"]
    assert preference["ships"] == "interpretable" and preference["judged"] < 0.01
    assert preference["gain_ci"][0] <= preference["gain"] <= preference["gain_ci"][1]
    print(f"AUC network {preference['candidate_auc']:.3f}, scorecard {preference['interpretable_auc']:.3f}, "
          f"gain {preference['gain']:+.3f} CI {preference['gain_ci'][0]:+.3f} to {preference['gain_ci'][1]:+.3f}")
    html = open(os.path.join(audit.uri, "report.html"), encoding="utf-8").read()
    assert 'data-ships="interpretable"' in html


def test_the_scorecard_is_blessed_audited_and_pushed(preferring_run):
    outputs = preferring_run.outputs
    auc = auc_by_slice(outputs[("Evaluator_scorecard", "evaluation")].uri)["Overall"]
    print(f"scorecard eval AUC {auc:.3f}")
    assert _property(outputs[("Evaluator_scorecard", "blessing")], "blessed") == 1 and auc >= 0.70
    pushed = outputs[("Pusher_scorecard", "pushed_model")]
    assert _property(pushed, "pushed") == 1
    assert os.path.isfile(os.path.join(_property(pushed, "pushed_destination"), "assets", "glassbox_scorecard.json"))
    scorecard = outputs[("Trainer_scorecard", "model")]
    assert _property(scorecard, "model_kind") == "scorecard"
    # its own audit, recorded like the network's: its AUC and its fairness checks, with their intervals, and the
    # scorecard as evidence
    audit = json.loads(open(os.path.join(outputs[("ModelAudit_scorecard", "audit_report")].uri, "audit.json")).read())
    assert audit["verdict"] == "pass"
    assert {"role": "model", "artifact_id": scorecard.id} in [
        {"role": e["role"], "artifact_id": e["artifact_id"]} for e in audit["lineage"]]
    checks = {c["id"]: c for c in audit["checks"]}
    assert checks["overall_auc"]["status"] == "pass"
    for check in ("disparate_impact_ratio", "equal_opportunity_difference", "equalized_odds_difference"):
        assert {f"{check}.sex", f"{check}.age_band"} <= set(checks)
        assert checks[f"{check}.sex"]["ci"] is not None


def test_lineage_and_the_service_name_the_pushed_scorecard(preferring_run):
    config, outputs = preferring_run.config, preferring_run.outputs
    scorecard = outputs[("Trainer_scorecard", "model")]
    assert Lineage(metadata.open_store(config), config.pipeline_name).pushed_model() == scorecard.id
    engine = Engine.from_store(config)
    assert engine.model.kind == "scorecard" and engine.served.model_id == scorecard.id
    assert engine.served.audit_verdict == "pass"
    assert engine.served.explanations_id == outputs[("Explainer_scorecard", "explanations")].id


def test_the_report_shows_the_table(preferring_run):
    outputs = preferring_run.outputs
    html = open(os.path.join(outputs[("ModelAudit_scorecard", "audit_report")].uri, "report.html"),
                encoding="utf-8").read()
    table = json.loads(open(os.path.join(outputs[("Trainer_scorecard", "model")].uri, "Format-Serving", "assets",
                                         "glassbox_scorecard.json")).read())
    assert '<section id="scorecard">' in html
    assert {row["feature"] for row in table["rows"]} == set(table["best_points"])
    for row in table["rows"]:
        assert f'<tr data-feature="{row["feature"]}"><td>{row["feature"]}</td><td>{escape(row["bin"])}</td>' \
               f'<td class="num">{row["points"]}</td>' in html


def test_every_decline_has_reasons_in_the_order_of_its_shapley_values(preferring_run):
    explanations = preferring_run.outputs[("Explainer_scorecard", "explanations")]
    declines = _property(explanations, "scorecard_declines")
    assert declines > 0 and _property(explanations, "scorecard_reasons_agreeing_with_shapley") == declines
    assert "integrated_gradients" in _property(explanations, "skipped_methods")
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    assert set(table["method"]) == {"shapley", "lime"}  # the per-example methods but integrated gradients
    declined = table[(table["method"] == "shapley") & (table["prediction"] < 0.5)]
    assert len(declined) == declines
    assert all(r[0].endswith("points below its best bin") for r in declined["reasons"])


def test_the_service_declines_with_points_lost(preferring_run):
    engine = Engine.from_store(preferring_run.config)
    raw = pd.read_csv(GERMAN_CREDIT_CSV, dtype=str, keep_default_na=False).replace({"": None}).head(60)
    items = [{k: (None if pd.isna(v) else int(v) if k in INTEGERS else str(v)) for k, v in row.items()}
             for row in raw.drop(columns="risk").to_dict("records")]
    decisions = engine.decide(items)
    declines = [d for d in decisions if d["decision"] == "decline"]
    assert declines and all(d["reasons"][0].endswith("points below its best bin") for d in declines)
    for d in decisions:  # the attributions still add up to the score
        assert d["attributions"]["base_value"] + sum(d["attributions"]["values"].values()) == pytest.approx(
            d["score"], abs=1e-5)


def test_the_network_against_the_scorecard_as_baseline_is_evaluated_as_tfma_does(preferring_run, tmp_path):
    """A baseline model, as in every run after the first: the Evaluator's vectorised pass and TFMA's pipeline on the
    network, with the scorecard as its baseline, write the same metrics of both models, their differences, and the
    change threshold's validation."""
    scorecard = preferring_run.outputs[("Trainer_scorecard", "model")]
    results = evaluate_with_tfma(preferring_run.config, "Evaluator", tmp_path, baseline_model=scorecard)
    ours, theirs = (results[name]["evaluation"][0] for name in ("glassbox", "tfma"))
    assert ours.get_string_custom_property(EVALUATED_BY) == VECTORISED
    assert_same_evaluation(ours.uri, theirs.uri)
    overall = next(record for (kind, key), record in evaluation_records(ours.uri).items()
                   if kind == "metrics" and key == "{}")
    models = {item["key"].get("modelName") for item in overall["metricKeysAndValues"]}
    diffs = [item for item in overall["metricKeysAndValues"] if item["key"].get("isDiff")]
    assert models == {"candidate", "baseline"} and any(item["key"]["name"] == "auc" for item in diffs), overall
    assert results["glassbox"]["blessing"][0].get_int_custom_property("baseline_model_id") == scorecard.id


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
