"""Interpretable challengers: known answers for the comparison, the surrogate's fidelity and the policy check."""

from dataclasses import replace

import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from components.model_audit.audit import run_checks
from components.model_audit.challengers import compare, in_raw_units, r_squared
from components.model_audit.policy import AuditPolicyError, parse_policy
from components.model_audit.report.audit_json import audit_report, validate_audit_report
from tests.unit.model_audit.builders import DEFAULT_POLICY, LINEAGE, audit_inputs, challenger_data, default_policy


def _compare(data, **settings):
    policy = default_policy()
    return compare(data, policy.checks.challenger_margin.model_copy(update=settings), policy.bootstrap, 0.5)


def test_a_logistic_challenger_matches_a_network_that_is_the_logistic_model():
    comparison = _compare(challenger_data(n_train=2000, n_eval=600))
    assert comparison.best == "logistic_regression"
    # The network scores with the true probabilities; the challenger learns them, so there is no gain to speak of.
    assert comparison.challenger_aucs["logistic_regression"] == pytest.approx(comparison.network_auc, abs=0.005)
    assert comparison.gain_ci.lower < 0 < comparison.gain_ci.upper
    assert comparison.gain_ci.lower <= comparison.gain <= comparison.gain_ci.upper


def test_the_policy_recommends_the_challenger_when_the_network_does_not_beat_it():
    result, = [r for r in run_checks(default_policy(), audit_inputs()) if r.id == "challenger_margin"]
    assert result.family == "challenger" and result.status == "fail" and result.severity == "warn"
    assert result.measured < 0.01 == result.threshold
    assert "recommended: ship the logistic regression" in result.reason
    assert result.details["recommendation"] == result.reason
    block = parse_policy(DEFAULT_POLICY.read_text().replace("    severity: warn  # on 180", "    severity: block  #"))
    result, = [r for r in run_checks(block, audit_inputs()) if r.id == "challenger_margin"]
    assert result.severity == "block"
    assert "challenger_margin" in audit_report([result], block, LINEAGE)["blocking_failures"]


def test_a_network_that_captures_an_interaction_beats_the_challengers():
    # The label depends on sign(a * b): no linear model or depth-1 tree can express it.
    def xor(x):
        return np.where(x[:, 0] * x[:, 1] > 0, 0.9, 0.1)

    data = challenger_data(n_train=2000, n_eval=600, scores=xor)
    rng = np.random.default_rng(1)
    train_labels, eval_labels = ((rng.random(len(s)) < s).astype(int) for s in (data.train_scores, data.eval_scores))
    data = replace(data, train_labels=train_labels, eval_labels=eval_labels)
    comparison = _compare(data, tree_depth=1)
    assert comparison.gain > 0.3 and comparison.gain_ci.lower > 0.2
    inputs = audit_inputs(challengers=comparison)
    result, = [r for r in run_checks(default_policy(), inputs) if r.id == "challenger_margin"]
    assert result.status == "pass" and "recommendation" not in result.details


def test_the_surrogate_of_a_network_that_is_a_shallow_tree_agrees_everywhere():
    def tree(x):
        return np.where(x[:, 0] > 0.3, np.where(x[:, 2] > -0.5, 0.9, 0.6), 0.2)

    comparison = _compare(challenger_data(scores=tree), surrogate_depth=2)
    assert comparison.surrogate_agreement == 1.0
    assert comparison.surrogate_r2 == pytest.approx(1.0, abs=1e-9)
    text = comparison.surrogate_text
    assert "a <=" in text and "c <=" in text and "b <=" not in text


def test_a_surrogate_in_raw_units_splits_raw_rows_as_the_fitted_tree_splits_their_dense_rows():
    data = challenger_data()
    scales = {0: (0.25, -3.0), 2: (4.0, 1.5)}  # dense = slope * raw + intercept; column 1 is shown as is
    raw = data.train_x.copy()
    for column, (slope, intercept) in scales.items():
        raw[:, column] = (data.train_x[:, column] - intercept) / slope
    comparison = _compare(replace(data, scales=scales), surrogate_depth=3)
    readable = comparison.surrogate
    fitted = DecisionTreeRegressor(max_depth=3, random_state=default_policy().bootstrap.seed).fit(
        data.train_x, data.train_scores)
    assert np.array_equal(readable.apply(raw), fitted.apply(data.train_x))
    assert np.allclose(readable.predict(raw), fitted.predict(data.train_x))
    split_on_a = readable.tree_.threshold[readable.tree_.feature == 0]
    assert split_on_a.size and np.all((split_on_a > raw[:, 0].min()) & (split_on_a < raw[:, 0].max()))
    with pytest.raises(ValueError, match="positive slope"):
        in_raw_units(fitted, {1: (-1.0, 0.0)})


def test_r_squared_known_values():
    target = np.array([0.0, 1.0, 2.0, 3.0])
    assert r_squared(target, target) == 1.0
    assert r_squared(target, np.full(4, target.mean())) == 0.0


def test_the_challenger_check_reports_in_a_valid_audit_json():
    policy = default_policy()
    report = audit_report(run_checks(policy, audit_inputs()), policy, LINEAGE)
    validate_audit_report(report)
    check, = [c for c in report["checks"] if c["id"] == "challenger_margin"]
    assert set(check["details"]["challenger_aucs"]) == {"logistic_regression", "decision_tree_depth_3"}
    assert check["details"]["surrogate"]["tree"].startswith("|---")


@pytest.mark.parametrize("line, bad", [("tree_depth: 3", "tree_depth: 0"),
                                       ("surrogate_depth: 3", 'surrogate_depth: "3"'), ("tree_depth: 3", "depth: 2")])
def test_a_bad_challenger_setting_names_the_field(line, bad):
    text = DEFAULT_POLICY.read_text().replace(f"    {line}\n", f"    {bad}\n")
    assert bad in text
    with pytest.raises(AuditPolicyError, match="challenger_margin"):
        parse_policy(text, source="policy.yaml")


def test_the_challenger_check_needs_the_transform_output():
    with pytest.raises(AuditPolicyError, match="checks.challenger_margin"):
        run_checks(default_policy(), audit_inputs(challengers=None))
