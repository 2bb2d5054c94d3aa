"""audit.json against its schema, model_card.json in MCT's v0.0.2 field names, and the self-contained HTML."""

import base64
import dataclasses
import json
import re

import jsonschema
import pytest
import yaml

from components.model_audit.audit import run_checks
from components.model_audit.report.audit_json import (
    audit_report,
    baseline_figures,
    to_json_value,
    validate_audit_report,
    write_audit_json,
)
from components.model_audit.report.charts import fairness_charts
from components.model_audit.report.html import render_html, write_report_html
from components.model_audit.report.model_card import model_card_json, write_model_card
from tests.unit.model_audit.builders import LINEAGE, MODEL_CARD, audit_inputs

PNG = base64.b64decode(  # a 1 x 1 image
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")


@pytest.fixture(scope="module")
def charts(report):
    return fairness_charts(report)


@pytest.fixture(scope="module")
def html(report, charts):
    return render_html(report, charts, importance_png=PNG)


def test_audit_json_validates_and_is_written_atomically(tmp_path, report):
    validate_audit_report(report)
    path = tmp_path / "audit.json"
    write_audit_json(str(path), report)
    written = json.loads(path.read_text())
    assert written == json.loads(json.dumps(report))
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"]
    assert written["verdict"] == "fail" and written["blocking_failures"] == ["disparate_impact_ratio.sex"]
    check = next(c for c in written["checks"] if c["id"] == "overall_auc")
    assert set(check["ci"]) == {"lower", "upper", "confidence"}
    assert check["evidence"][0] == {"role": "model", "artifact_id": 8, "uri": "pipeline_root/Trainer/model/8",
                                    "sha256": "ab" * 32}


def test_a_report_that_breaks_the_schema_is_not_written(tmp_path, report):
    broken = json.loads(json.dumps(report))
    broken["checks"][0]["evidence"] = []
    with pytest.raises(jsonschema.ValidationError):
        write_audit_json(str(tmp_path / "audit.json"), broken)
    assert not list(tmp_path.iterdir())


def test_undefined_figures_become_null():
    assert to_json_value({"a": float("nan"), "b": [1.5, float("inf")]}) == {"a": None, "b": [1.5, None]}


def test_the_previous_report_is_the_next_audits_baseline(policy, report):
    baseline = baseline_figures(report)
    assert "auc_regression" not in baseline and baseline["overall_auc"] > 0.7
    [regression] = [r for r in run_checks(policy, audit_inputs(baseline=baseline)) if r.id == "auc_regression"]
    assert regression.status == "pass" and regression.measured == pytest.approx(0.0)


def obj(**properties) -> dict:
    return {"type": "object", "additionalProperties": False, "properties": properties}


def array(items) -> dict:
    return {"type": "array", "items": items}


TEXT = {"type": "string"}
DESCRIPTIONS = array(obj(description=TEXT))
GRAPHICS = obj(description=TEXT, collection=array(obj(name=TEXT, image=TEXT)))
# The structure and field names of Model Card Toolkit's model_card.schema.json v0.0.2, with unknown fields refused.
MCT_V0_0_2 = obj(
    schema_version=TEXT,
    model_details=obj(name=TEXT, overview=TEXT, documentation=TEXT, owners=array(obj(name=TEXT, contact=TEXT)),
                      version=obj(name=TEXT, date=TEXT, diff=TEXT),
                      licenses=array(obj(identifier=TEXT, custom_text=TEXT)), references=array(obj(reference=TEXT)),
                      citations=array(obj(style=TEXT, citation=TEXT)), path=TEXT),
    model_parameters=obj(model_architecture=TEXT, input_format=TEXT, output_format=TEXT,
                         data=array(obj(name=TEXT, link=TEXT, description=TEXT, graphics=GRAPHICS,
                                        sensitive=obj(sensitive_data=array(TEXT))))),
    quantitative_analysis=obj(
        performance_metrics=array(obj(type=TEXT, value=TEXT, slice=TEXT,
                                      confidence_interval=obj(lower_bound=TEXT, upper_bound=TEXT))),
        graphics=GRAPHICS),
    considerations=obj(users=DESCRIPTIONS, use_cases=DESCRIPTIONS, limitations=DESCRIPTIONS, tradeoffs=DESCRIPTIONS,
                       ethical_considerations=array(obj(name=TEXT, mitigation_strategy=TEXT))),
)


def test_model_card_json_uses_model_card_toolkit_field_names(tmp_path, report, charts):
    card = yaml.safe_load(MODEL_CARD.read_text())
    graphics = {f"fairness_{attribute}": png for attribute, png in charts.items()}
    model_card = model_card_json(card, report, version="8", graphics=graphics)
    jsonschema.validate(model_card, MCT_V0_0_2)
    assert model_card["schema_version"] == "0.0.2"
    assert model_card["model_details"]["version"] == {"name": "8"}
    assert model_card["model_details"]["owners"][0]["contact"] == "glassbox-maintainers@example.org"
    assert "Audit verdict: fail" in model_card["model_details"]["documentation"]
    metrics = model_card["quantitative_analysis"]["performance_metrics"]
    auc = next(m for m in metrics if m["type"] == "overall_auc")
    assert float(auc["confidence_interval"]["lower_bound"]) <= float(auc["value"])
    assert {m["slice"] for m in metrics if m["type"] == "disparate_impact_ratio"} == {"sex", "age_band"}
    assert any(m["type"] == "auc" and m["slice"] == "sex:female" for m in metrics)
    limitations = [item["description"] for item in model_card["considerations"]["limitations"]]
    assert sum(text.startswith("Out of scope: ") for text in limitations) == len(card["out_of_scope_uses"])
    assert base64.b64decode(model_card["quantitative_analysis"]["graphics"]["collection"][0]["image"]) == charts["sex"]
    write_model_card(str(tmp_path / "model_card.json"), model_card)
    assert json.loads((tmp_path / "model_card.json").read_text()) == model_card


def test_html_refers_to_nothing_outside_itself(html):
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()
    for source in re.findall(r'src="([^"]*)"', html):
        assert source.startswith("data:image/png;base64,")
    assert len(re.findall(r"<img ", html)) == 3  # two fairness charts and the importance plot


def test_html_names_every_check_and_the_verdict(html, report):
    for check in report["checks"]:
        assert f'data-check-id="{check["id"]}"' in html
    verdict = re.search(r'<div id="verdict" class="verdict (\w+)">Verdict: (\w+)', html)
    assert verdict.groups() == ("fail", "FAIL")
    assert "disparate_impact_ratio.sex" in html[verdict.end():html.index("</div>", verdict.end())]


def test_html_shows_each_methods_ground_truth_figures(html):
    table = html[html.index('<table id="ground-truth">'):]
    table = table[:table.index("</table>")]
    assert table.count("<tr><td>logistic_regression</td>") == 2
    assert "<td>integrated_gradients</td>" in table and "0.95 (k = 3)" in table


def test_html_puts_failed_checks_before_passed_ones(html, report):
    first_seen = {c["id"]: html.index(f'data-check-id="{c["id"]}"') for c in report["checks"]}
    failed = [first_seen[c["id"]] for c in report["checks"] if c["status"] == "fail"]
    passed = [first_seen[c["id"]] for c in report["checks"] if c["status"] == "pass"]
    assert failed and passed and max(failed) < min(passed)
    rows = re.findall(r'<tr data-check-id="[^"]+" data-status="(\w+)">', html)
    order = {"fail": 0, "inconclusive": 1, "pass": 2, "not_applicable": 3}
    assert rows == sorted(rows, key=order.get) and len(rows) == len(report["checks"])


def test_html_escapes_what_it_shows_and_is_written_whole(tmp_path, policy, results):
    hostile = [dataclasses.replace(r, reason="<img src=x onerror=alert(1)>") for r in results]
    page = render_html(audit_report(hostile, policy, LINEAGE), {}, importance_png=None)
    assert "<img src=x" not in page and "&lt;img src=x" in page
    write_report_html(str(tmp_path / "report.html"), page)
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page


def test_the_page_says_how_many_eval_examples_were_judged(report, charts):
    assert 'id="eval-examples"' not in render_html(report, charts)
    for judged, labelled, sampled in ((300, 300, False), (20_000, 200_000, True)):
        counted = {**report, "eval_examples": {"judged": judged, "labelled": labelled}}
        validate_audit_report(counted)
        line = re.search(r'<p id="eval-examples">(.*?)</p>', render_html(counted, charts), re.S).group(1)
        assert f"judged on {judged}" in line and f"the\n{labelled} labelled" in line
        assert ("seeded sample" in line) == sampled
    with pytest.raises(jsonschema.ValidationError):
        validate_audit_report({**report, "eval_examples": {"judged": 0, "labelled": 300}})
