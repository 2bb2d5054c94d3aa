"""Explanation checks: completeness, faithfulness, attribution share of protected features, proxy detection."""

import numpy as np
import pytest
from scipy.stats.contingency import association as scipy_association
from scipy.stats.contingency import crosstab
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import OneHotEncoder

from components.model_audit.checks import explanation
from tests.unit.model_audit.builders import audit_inputs, explanations, predictions


def run(check_id, policy, **overrides):
    check = getattr(policy.checks, check_id)
    return {r.id: r for r in explanation.CHECKS[check_id](check, policy, audit_inputs(**overrides))}


def test_cramers_v_is_one_for_a_function_of_the_groups():
    groups = np.random.default_rng(0).choice(["a", "b", "c"], size=400)
    assert explanation.cramers_v(np.char.add(groups, "!"), groups) == pytest.approx(1.0, abs=0.01)


def test_the_bias_correction_removes_chance_association_on_small_tables():
    """Independent 8 x 3 tables of 180 rows: scipy's uncorrected V has a median near 0.19; ours is 0."""
    rng = np.random.default_rng(0)
    pairs = [(rng.choice(list("pqrstuvw"), 180), rng.choice(list("abc"), 180)) for _ in range(100)]
    corrected = [explanation.cramers_v(x, g) for x, g in pairs]
    uncorrected = [scipy_association(crosstab(x, g).count, method="cramer") for x, g in pairs]
    assert np.median(corrected) < 0.02 and np.median(uncorrected) > 0.15
    assert np.percentile(corrected, 95) < 0.2


def test_cramers_v_approaches_scipys_uncorrected_value_on_large_samples():
    rng = np.random.default_rng(1)
    groups = rng.choice(["a", "b"], size=50_000)
    values = np.where(rng.random(50_000) < 0.3, groups, rng.choice(["a", "b", "c"], size=50_000))
    expected = scipy_association(crosstab(values, groups).count, method="cramer")
    assert explanation.cramers_v(values, groups) == pytest.approx(expected, abs=0.005)


def test_correlation_ratio_squared_is_the_adjusted_r2_of_a_one_way_anova():
    rng = np.random.default_rng(2)
    groups = rng.choice(["<25", "25-34", "35-49", "50+"], size=300)
    values = rng.normal(size=300) + (groups == "50+") * 0.8
    dummies = OneHotEncoder(drop="first").fit_transform(groups.reshape(-1, 1)).toarray()
    r2 = LinearRegression().fit(dummies, values).score(dummies, values)
    adjusted = 1 - (1 - r2) * (len(values) - 1) / (len(values) - dummies.shape[1] - 1)
    assert explanation.correlation_ratio(values, groups) ** 2 == pytest.approx(adjusted)
    assert explanation.correlation_ratio(np.ones(300), groups) == 0.0


def test_association_picks_the_measure_by_type():
    groups = np.array(["f", "m"] * 50)
    assert explanation.association(np.arange(100), groups)[0] == "correlation_ratio"
    assert explanation.association(np.array(["x", "y"] * 50), groups) == ("cramers_v", pytest.approx(1.0, abs=0.02))


def test_completeness_and_faithfulness_read_the_primary_method(policy):
    completeness = run("completeness_error", policy)["completeness_error"]
    assert completeness.status == "pass" and completeness.measured == 1e-7
    faithfulness = run("faithfulness", policy)["faithfulness"]
    assert faithfulness.measured == pytest.approx(0.52 / 0.60) and faithfulness.status == "pass"
    assert "deletion_curve" not in faithfulness.details


def test_missing_quality_figures_are_inconclusive(policy):
    prediction = predictions()
    bare = explanations(prediction)
    bare = type(bare)(bare.global_importance, {"methods": {}}, bare.method, bare.features)
    for check_id in ("completeness_error", "faithfulness"):
        result = run(check_id, policy, predictions=prediction, explanations=bare)[check_id]
        assert result.status == "inconclusive" and result.measured is None


def test_protected_share_counts_the_features_of_every_protected_attribute(policy):
    result = run("protected_attribution_share", policy)["protected_attribution_share"]
    assert result.measured == pytest.approx((0.02 + 0.01) / 0.20)
    assert list(result.details["importance"])[0] == "checking_account"


def test_proxy_detection_finds_the_feature_that_encodes_age_band(policy):
    results = run("proxy_features", policy)
    age = results["proxy_features.age_band"]
    assert age.status == "fail" and age.severity == "warn"
    assert age.details["proxies"] == ["housing"] and "housing" in age.reason
    assert age.details["associations"]["housing"]["measure"] == "cramers_v"
    assert "age" not in age.details["associations"]  # a protected feature is not a proxy of one
    assert results["proxy_features.sex"].status == "pass" and results["proxy_features.sex"].details["proxies"] == []


def _with_lime(prediction, repeated_seeds):
    base = explanations(prediction)
    quality = {"methods": {**base.quality["methods"], "lime": {
        "stability": {"repeated_seeds": repeated_seeds}, "fidelity": {"median": 0.9},
        "agreement_with_exact_shapley": {"correlation": 0.97}}}}
    return type(base)(base.global_importance, quality, base.method, base.features)


@pytest.mark.parametrize("vsi, csi, status", [(95.0, 88.0, "pass"), (95.0, 60.0, "fail"), (70.0, 99.0, "fail")])
def test_lime_stability_judges_the_lower_of_the_two_indices(policy, vsi, csi, status):
    prediction = predictions()
    result = run("lime_stability", policy, predictions=prediction,
                 explanations=_with_lime(prediction, {"vsi": vsi, "csi": csi, "runs": 5}))["lime_stability"]
    assert result.status == status and result.measured == min(vsi, csi)
    assert result.details["fidelity"] == {"median": 0.9} and result.details["runs"] == 5


def test_lime_stability_is_inconclusive_without_lime(policy):
    result = run("lime_stability", policy)["lime_stability"]
    assert result.status == "inconclusive" and "did not run LIME" in result.reason


def _with_truth(prediction, methods):
    base = explanations(prediction)
    quality = {**base.quality, "ground_truth": {"logistic_regression": {"model": "logistic_regression",
                                                                        "methods": methods}}}
    return type(base)(base.global_importance, quality, base.method, base.features)


def test_ground_truth_judges_every_method_on_correlation_and_precision(policy):
    prediction = predictions()
    methods = {"shapley": {"correlation": 0.99, "precision_at_k": 1.0, "k": 3},
               "lime": {"correlation": 0.95, "precision_at_k": 0.5, "k": 3},
               "integrated_gradients": {"correlation": 0.5, "precision_at_k": 1.0, "k": 3}}
    results = run("ground_truth_challenger", policy, predictions=prediction,
                  explanations=_with_truth(prediction, methods))
    assert {k: r.status for k, r in results.items()} == {
        "ground_truth_challenger.shapley": "pass", "ground_truth_challenger.lime": "fail",
        "ground_truth_challenger.integrated_gradients": "fail"}
    assert "precision@3 is 0.50" in results["ground_truth_challenger.lime"].reason
    assert results["ground_truth_challenger.lime"].measured == 0.95


def test_ground_truth_is_inconclusive_when_the_explainer_skipped_it(policy):
    prediction = predictions()
    base = explanations(prediction)
    skipped = type(base)(base.global_importance, {**base.quality, "ground_truth": {"logistic_regression": {
        "skipped": "the train examples do not hold both label classes"}}}, base.method, base.features)
    result = run("ground_truth_challenger", policy, predictions=prediction, explanations=skipped)
    assert result["ground_truth_challenger"].status == "inconclusive"
    assert "both label classes" in result["ground_truth_challenger"].reason
