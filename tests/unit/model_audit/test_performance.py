"""Performance checks against sklearn on hand-made predictions, and their edge cases."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from components.model_audit.checks import performance
from components.model_audit.checks.bootstrap import stratified_resamples
from components.model_audit.inputs import Predictions
from tests.unit.model_audit.builders import audit_inputs, predictions


def run(check_id, policy, **overrides):
    check = getattr(policy.checks, check_id)
    return performance.CHECKS[check_id](check, policy, audit_inputs(**overrides))


def test_overall_auc_has_a_bootstrap_interval_that_contains_it_and_shrinks_with_n(policy):
    small, large = (run("overall_auc", policy, predictions=predictions(n, seed=4))[0] for n in (120, 1200))
    for result in (small, large):
        assert result.ci.lower <= result.measured <= result.ci.upper
        assert result.status == "pass" and result.details["examples"] in (120, 1200)
    assert large.ci.upper - large.ci.lower < (small.ci.upper - small.ci.lower) / 2


def test_worst_slice_is_the_lowest_auc_of_any_group(policy):
    base = predictions(seed=5)
    [result] = run("worst_slice_auc", policy, predictions=base)
    aucs = {}
    for column, values in base.groups.items():
        for value in np.unique(values):
            member = values == value
            aucs[f"{column}:{value}"] = roc_auc_score(base.labels[member], base.scores[member])
    worst = min(aucs, key=aucs.get)
    assert result.details["worst_slice"] == worst
    assert result.measured == pytest.approx(aucs[worst])


def with_slice(base: Predictions, labels, scores, size: int, sex: str = "other") -> Predictions:
    """`base` with `size` more examples forming their own sex group, of the given labels and scores."""
    groups = {k: np.concatenate([v, np.full(size, sex if k == "sex" else "25-34")]) for k, v in base.groups.items()}
    return Predictions(np.concatenate([base.labels, labels]), np.concatenate([base.scores, scores]), groups)


@pytest.mark.parametrize(
    "labels, size, reason",
    [(np.ones(30, int), 30, "a single label class"), (np.array([0, 1, 1, 0, 1]), 5, "5 examples, fewer than 20")],
)
def test_a_slice_without_an_auc_makes_the_check_inconclusive(policy, labels, size, reason):
    extended = with_slice(predictions(seed=6), labels, np.linspace(0.2, 0.9, size), size)
    [result] = run("worst_slice_auc", policy, predictions=extended)
    assert result.details["slices"]["sex:other"] == {"examples": size, "auc": None, "reason": reason}
    assert result.status == "inconclusive" and "sex:other" in result.reason


def test_a_failing_slice_fails_even_when_another_is_unmeasured(policy):
    base = predictions(seed=7)
    bad = with_slice(base, np.array([1, 0] * 15), np.array([0.3, 0.7] * 15), 30)  # AUC 0 in 'other'
    extended = with_slice(bad, np.ones(3, int), np.full(3, 0.5), 3, sex="unknown")
    [result] = run("worst_slice_auc", policy, predictions=extended)
    assert result.details["slices"]["sex:unknown"]["auc"] is None
    assert result.status == "fail" and result.measured == 0.0 and result.details["worst_slice"] == "sex:other"


def test_calibration_check_reports_its_reliability_table(policy):
    [result] = run("calibration_ece", policy)
    assert sum(b["examples"] for b in result.details["bins"]) == 180
    assert result.ci.lower <= result.measured <= result.ci.upper
    assert result.comparison == "<=" and result.rule == "point"


def test_regression_needs_a_baseline(policy):
    [first] = run("auc_regression", policy, baseline=None)
    assert first.status == "not_applicable" and first.measured is None
    current = roc_auc_score(predictions().labels, predictions().scores)
    [held] = run("auc_regression", policy, baseline={"overall_auc": current + 0.01})
    [dropped] = run("auc_regression", policy, baseline={"overall_auc": current + 0.08})
    assert held.status == "pass" and held.measured == pytest.approx(0.01)
    assert dropped.status == "fail" and dropped.measured == pytest.approx(0.08)


def test_the_same_strata_give_the_same_resamples_read_only():
    """The checks ask for one attribute's resamples once per fairness metric and group table: the index is made
    once and given again, unchangeable, whether the groups come as text or as Python objects."""
    groups = np.array(["a", "b", "a", "c", "b", "a"] * 50)
    first = stratified_resamples(groups, 200, 7)
    assert stratified_resamples(groups.astype(object), 200, 7) is first
    assert not first.flags.writeable
    assert (groups[first] == groups).all()  # every column draws within its own stratum
    assert not np.array_equal(stratified_resamples(groups, 200, 8), first)
