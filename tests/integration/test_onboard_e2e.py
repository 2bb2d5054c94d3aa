"""Two new datasets onboarded with `glassbox init` and run from the generated files: no code changes.

breast_cancer: 30 numeric columns and a 0/1 label, no PII, no protected attribute (so no Privacy step and no
fairness checks). mixed: numeric and categorical columns with missing values, a free-text column with PII, an
identifier, a protected attribute of each kind and a text label. Each is run once (a module-scoped fixture), with the
Explainer at the tests' small budget on top of its generated settings: what is under test is onboarding, and the
default budget's Explainer on breast_cancer's 30 features took longer than the rest of its run.
"""

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from pipeline import metadata
from pipeline.cli import main as glassbox
from pipeline.config import load_config
from pipeline.records import mlmd
from pipeline.records.summary import summarize_run
from scripts.make_onboarding_data import breast_cancer, mixed, write
from tests.helpers import SMALL_BUDGET

pytestmark = pytest.mark.e2e


def _onboard_and_run(root, frame, name, *init_args):
    """Writes the CSV, runs `glassbox init` in `root`, then the pipeline on the generated config, its Explainer
    settings at the small budget."""
    from pipeline.runners.local import run_local

    write(frame, root / "data" / name / f"{name}.csv")
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert glassbox(["init", "--data", f"data/{name}/{name}.csv", "--out", f"configs/{name}.yaml",
                         *init_args]) == 0
    finally:
        os.chdir(cwd)
    generated = root / "configs" / f"{name}.yaml"
    config = load_config(generated, explainer={**yaml.safe_load(generated.read_text())["explainer"], **SMALL_BUDGET})
    started = time.monotonic()
    run_local(config)
    return config, time.monotonic() - started


@pytest.fixture(scope="module")
def breast_cancer_run(tmp_path_factory):
    return _onboard_and_run(tmp_path_factory.mktemp("onboard"), breast_cancer(), "breast_cancer", "--label", "benign")


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    return _onboard_and_run(tmp_path_factory.mktemp("onboard"), mixed(), "mixed", "--label", "decision",
                            "--positive-label", "approved", "--protected", "sex,age")


def _outputs(config):
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[-1]
    executions = mlmd.run_executions(store, config.pipeline_name, run_id)
    return {node.node_id: (node.state, mlmd.output_artifacts(store, node.execution.id)) for node in executions}


def _audit(outputs):
    with open(os.path.join(outputs["ModelAudit"][1]["audit_report"][0].uri, "audit.json")) as f:
        return json.load(f)


def _feature_map(config):
    model_uri = summarize_run(config).model_uri
    with open(os.path.join(model_uri, "Format-Serving", "assets", "glassbox_feature_map.json")) as f:
        return {entry["feature"]: entry for entry in json.load(f)["features"]}


def _completed_until_the_audit(outputs):
    done = {"CsvExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "Transform", "Trainer",
            "Explainer", "Evaluator", "ModelAudit"}
    assert done <= set(outputs)
    assert all(outputs[node][0] == "COMPLETE" for node in done), {n: s for n, (s, _) in outputs.items()}


def _unreviewed_card_blocks(audit):
    card = next(c for c in audit["checks"] if c["id"] == "model_card")
    assert card["status"] == "fail" and "owners" in card["reason"]
    assert audit["verdict"] == "fail"


def test_numeric_data_without_pii_runs_from_its_generated_config(breast_cancer_run):
    config, seconds = breast_cancer_run
    print(f"breast_cancer pipeline: {seconds:.1f} s")
    outputs = _outputs(config)
    _completed_until_the_audit(outputs)
    assert "Privacy" not in outputs and config.privacy_policy is None
    summary = summarize_run(config)
    assert summary.auc_by_slice["Overall"] > 0.9  # the measurements separate the classes well
    assert len(_feature_map(config)) == 30
    audit = _audit(outputs)
    # No protected attribute named: the fairness family is reported as not applicable, with the draft's reason.
    fairness = [c for c in audit["checks"] if c["family"] == "fairness"]
    assert [(c["status"], c["reason"]) for c in fairness] == [
        ("not_applicable", "No protected attribute was named when the data was onboarded.")]
    assert {c["id"] for c in audit["checks"] if c["family"] == "performance"} >= {"overall_auc", "calibration_ece"}
    _unreviewed_card_blocks(audit)
    assert summary.blessed and summary.pushed_uri is None  # blessed, but an unreviewed draft does not ship


def test_mixed_data_with_gaps_text_and_pii_runs_from_its_generated_config(mixed_run):
    config, seconds = mixed_run
    print(f"mixed pipeline: {seconds:.1f} s")
    outputs = _outputs(config)
    _completed_until_the_audit(outputs)
    assert outputs["Privacy"][0] == "COMPLETE"
    summary = summarize_run(config)
    # The label follows income, debt ratio and employment (scripts/make_onboarding_data.py): chance is 0.5.
    assert summary.auc_by_slice["Overall"] > 0.75
    assert {"sex:female", "sex:male"} <= set(summary.auc_by_slice)
    assert any(key.startswith("age_band:") for key in summary.auc_by_slice)
    features = _feature_map(config)
    assert set(features) == {"age", "income", "debt_ratio", "region", "employment", "sex"}
    assert {name: entry.get("imputed") for name, entry in features.items()} == {
        "age": None, "income": "mean", "debt_ratio": "mean", "region": "<MISSING>", "employment": None, "sex": None}
    assert "<MISSING>" in features["region"]["vocabulary"]
    audit = _audit(outputs)
    checks = {c["id"]: c for c in audit["checks"]}
    assert {"disparate_impact_ratio.sex", "disparate_impact_ratio.age_band"} <= set(checks)
    assert checks["disparate_impact_ratio.sex"]["status"] == "pass"  # sex plays no part in the label
    assert checks["pii_after_deidentification"]["status"] == "pass"
    _unreviewed_card_blocks(audit)


def test_the_explanations_hold_the_text_label_as_0_and_1(mixed_run):
    config, _ = mixed_run
    explanations = _outputs(config)["Explainer"][1]["explanations"][0]
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    assert set(np.unique(table["label"])) == {0.0, 1.0}
    assert table["example_id"].str.startswith("A07-").all()
