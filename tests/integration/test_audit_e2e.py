"""The audit inside the real pipeline: its verdict gates the Pusher, and its report renders in a browser."""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import jsonschema
import pytest

from components.model_audit.report.audit_json import validate_audit_report
from pipeline import metadata
from pipeline.config import load_config
from pipeline.records import mlmd
from pipeline.runners.local import run_local
from tests.helpers import CHROMIUM_FLAGS, SMALL_EXPLAINER, browse, chromium, read_rows, write_rows

pytestmark = pytest.mark.e2e

def _audit_of_run(config, run_index):
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[run_index]
    executions = {n.node_id: n for n in mlmd.run_executions(store, config.pipeline_name, run_id)}
    (audit,) = mlmd.output_artifacts(store, executions["ModelAudit"].execution.id)["audit_report"]
    with open(os.path.join(audit.uri, "audit.json")) as f:
        report = json.load(f)
    return store, executions, audit, report


def _pushed(store, executions) -> bool:
    pusher = executions.get("Pusher")
    if pusher is None:
        return False
    outputs = mlmd.output_artifacts(store, pusher.execution.id).get("pushed_model", [])
    return any(a.custom_properties["pushed"].int_value == 1 for a in outputs)


def test_verdict_is_recorded_and_gates_the_push(pipeline_run):
    config, _ = pipeline_run
    store, executions, audit, report = _audit_of_run(config, 0)
    validate_audit_report(report)
    assert audit.custom_properties["verdict"].string_value == report["verdict"] in ("pass", "fail")
    assert audit.custom_properties["blocking_failures"].int_value == len(report["blocking_failures"])
    (blessing,) = mlmd.output_artifacts(store, executions["Evaluator"].execution.id)["blessing"]
    blessed = blessing.custom_properties["blessed"].int_value == 1
    assert _pushed(store, executions) == (blessed and report["verdict"] == "pass")
    # Every check names its evidence, down to the sha256 of the artifact it read.
    for check in report["checks"]:
        assert check["evidence"] and all(len(e["sha256"]) == 64 for e in check["evidence"]), check["id"]
    # The explanation methods judged against ground truth, and LIME's stability over seeds.
    by_id = {check["id"]: check for check in report["checks"]}
    for method in ("integrated_gradients", "shapley", "lime"):
        challenger = by_id[f"ground_truth_challenger.{method}"]
        assert challenger["status"] == "pass", challenger
        assert by_id[f"ground_truth_planted.{method}"]["measured"] is not None
    assert by_id["lime_stability"]["measured"] is not None
    print({k: (c["status"], c["measured"]) for k, c in by_id.items() if k.startswith(("ground_truth", "lime"))})
    model_card = json.load(open(os.path.join(audit.uri, "model_card.json")))
    assert {"model_details", "considerations", "quantitative_analysis"} <= set(model_card)
    assert model_card["considerations"]["use_cases"] and model_card["considerations"]["limitations"]


def test_report_renders_in_a_real_browser(pipeline_run, tmp_path):
    config, _ = pipeline_run
    _, _, audit, report = _audit_of_run(config, 0)
    page = os.path.join(audit.uri, "report.html")
    with open(page) as f:
        assert "http://" not in f.read().replace("http://www.w3.org", "")  # self-contained: no network
    dom, console_errors = browse(Path(page))
    with tempfile.TemporaryDirectory() as profile:
        shot = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                               f"--screenshot={tmp_path / 'report.png'}", "--window-size=1280,2400", f"file://{page}"],
                              capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (tmp_path / "report.png").stat().st_size > 10_000
    assert 'id="verdict"' in dom and report["verdict"].upper() in dom.upper()
    for check in report["checks"]:
        assert f'data-check-id="{check["id"]}"' in dom, check["id"]
    assert not console_errors, console_errors


def test_a_model_biased_against_one_group_is_stopped_before_the_pusher(data_copy, tmp_path):
    rows = read_rows(data_copy)
    for row in rows:
        if row["sex"] == "female":
            # Flipped, not zeroed: a group with one label only would be suppressed whole by the
            # privacy policy's l-diversity, and there would be nobody left to be unfair to.
            row["risk"] = str(1 - int(row["risk"]))
    write_rows(data_copy, rows, list(rows[0]))
    # The Explainer explains 40 eval examples, too few women among them to judge; the audit judges every one of the
    # eval split's examples all the same (explaining fewer once made every fairness check inconclusive, and the
    # model was pushed).
    config = load_config(data_dir=data_copy.parent, output_dir=tmp_path / "outputs", explainer=SMALL_EXPLAINER)
    run_local(config)
    store, executions, audit, report = _audit_of_run(config, 0)
    assert report["eval_examples"]["judged"] == report["eval_examples"]["labelled"] > 100
    by_id = {check["id"]: check for check in report["checks"]}
    assert by_id["disparate_impact_ratio.sex"]["status"] == "fail", by_id["disparate_impact_ratio.sex"]
    assert report["verdict"] == "fail" and "disparate_impact_ratio.sex" in report["blocking_failures"]
    assert not _pushed(store, executions)
    with pytest.raises(jsonschema.ValidationError):
        validate_audit_report({**report, "verdict": "maybe"})
