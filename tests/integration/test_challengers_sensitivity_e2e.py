"""Challengers, surrogate, PDP/ICE and what-if on the session's real pipeline run (no extra run)."""

import json
import os
import re

import numpy as np
import pandas as pd
import pytest

from pipeline import cli, metadata
from pipeline.records import mlmd
from tests.helpers import GERMAN_CREDIT_CSV

pytestmark = pytest.mark.e2e


def _latest_outputs(config):
    store = metadata.open_store(config)
    outputs = {}
    for node in mlmd.run_executions(store, config.pipeline_name):
        for key, artifacts in mlmd.output_artifacts(store, node.execution.id).items():
            outputs[(node.node_id, key)] = artifacts[0]
    return outputs


def _read(uri, name):
    with open(os.path.join(uri, name)) as f:
        return json.load(f)


def test_the_audit_compares_the_network_with_interpretable_challengers(pipeline_run):
    config, _ = pipeline_run
    audit = _latest_outputs(config)[("ModelAudit", "audit_report")]
    checks = {c["id"]: c for c in _read(audit.uri, "audit.json")["checks"]}
    challenger = checks["challenger_margin"]
    details = challenger["details"]
    # The network scored on the Transform output is the network the Explainer scored on the raw eval split.
    assert details["network_auc"] == pytest.approx(checks["overall_auc"]["measured"], abs=1e-4)
    assert set(details["challenger_aucs"]) == {"logistic_regression", "decision_tree_depth_3"}
    assert all(0.5 < auc < 1 for auc in details["challenger_aucs"].values())
    assert challenger["measured"] == pytest.approx(details["network_auc"] - max(details["challenger_aucs"].values()))
    assert challenger["ci"]["lower"] <= challenger["measured"] <= challenger["ci"]["upper"]
    assert challenger["status"] in ("pass", "fail")
    assert ("recommendation" in details) == (challenger["status"] == "fail")
    surrogate = details["surrogate"]
    assert 0.5 < surrogate["agreement"] <= 1 and surrogate["r2"] <= 1 and surrogate["depth"] == 3
    # Numeric splits read in raw units: each threshold lies inside its feature's range in the data.
    raw = pd.read_csv(GERMAN_CREDIT_CSV)
    splits = re.findall(r"--- (\w+) <= (-?[\d.]+)", surrogate["tree"])
    numeric = [(name, float(value)) for name, value in splits if name in raw and raw[name].dtype.kind in "if"]
    assert numeric and "z-score" not in surrogate["tree"]
    assert all(raw[name].min() <= value <= raw[name].max() for name, value in numeric), numeric
    page = open(os.path.join(audit.uri, "report.html")).read()
    assert 'id="surrogate-tree"' in page and 'alt="global surrogate tree"' in page
    assert page.count('data-figure="Partial dependence and ICE: ') == 5


def test_pdp_and_ice_curves_pass_through_the_raw_feature_path(pipeline_run):
    config, _ = pipeline_run
    explanations = _latest_outputs(config)[("Explainer", "explanations")]
    sensitivity = _read(explanations.uri, "sensitivity.json")
    top = explanations.custom_properties["top_features"].string_value.split(",")
    assert set(sensitivity["features"]) == set(top[:5])
    assert explanations.custom_properties["sensitivity_features"].string_value == ",".join(top[:5])
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    predicted = table[table["method"] == "shapley"].set_index("key")["prediction"]
    scores = predicted.loc[sensitivity["keys"]].to_numpy()
    for name, curve in sensitivity["features"].items():
        ice = np.asarray(curve["ice"])
        assert ice.shape == (sensitivity["examples"], len(curve["grid"]))
        np.testing.assert_allclose(curve["pdp"], ice.mean(axis=0), atol=1e-9)
        # At an example's own value its ICE curve is its score, as the Explainer scored it from the raw example.
        grid = [str(g) if curve["kind"] == "categorical" else f"{g:g}" for g in curve["grid"]]
        own = [(i, grid.index(v)) for i, v in enumerate(curve["observed"]) if v in grid]
        assert own, name
        rows, points = map(list, zip(*own))
        np.testing.assert_allclose(ice[rows, points], scores[rows], atol=1e-5)
        assert os.path.exists(os.path.join(explanations.uri, "plots", f"pdp_{name}.png"))


def test_what_if_prints_the_score_change_and_new_reasons(pipeline_run, capsys):
    config, _ = pipeline_run
    explanations = _latest_outputs(config)[("Explainer", "explanations")]
    sensitivity = _read(explanations.uri, "sensitivity.json")
    name, curve = next((n, c) for n, c in sensitivity["features"].items() if c["kind"] == "numeric")
    key, value = sensitivity["keys"][0], curve["grid"][-1]
    code = cli.main(["explain", "--output", str(config.output_dir), "--example", key, "--set", f"{name}={value:g}"])
    out = capsys.readouterr().out
    assert code == 0, out
    figures = {name: float(v) for name, v in re.findall(r"^  (score|new score|change)\s+(\S+)$", out, re.M)}
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    before = table[(table["method"] == "shapley") & (table["key"] == key)]["prediction"].item()
    assert figures["score"] == pytest.approx(before, abs=1e-3)
    # The new score is the applicant's ICE curve at that value.
    assert figures["new score"] == pytest.approx(curve["ice"][0][-1], abs=1e-3)
    assert figures["change"] == pytest.approx(figures["new score"] - figures["score"], abs=2e-3)
    assert "Top reasons after the change (shapley):" in out
    assert cli.main(["explain", "--output", str(config.output_dir), "--example", key, "--set", "income=3"]) == 2
    assert "not a model feature" in capsys.readouterr().err
