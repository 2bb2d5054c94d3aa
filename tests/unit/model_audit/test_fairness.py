"""Fairness checks: group rates against fairlearn, bootstrap intervals, groups too small or without positives."""

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, false_positive_rate, true_positive_rate

from components.model_audit.checks import fairness
from components.model_audit.inputs import Predictions
from tests.unit.model_audit.builders import audit_inputs, predictions


def run(check_id, policy, prediction):
    check = getattr(policy.checks, check_id)
    return {r.id: r for r in fairness.CHECKS[check_id](check, policy, audit_inputs(predictions=prediction))}


def test_group_rates_match_fairlearn_per_group(policy):
    p = predictions(seed=3)
    bands = p.groups["age_band"]
    table = fairness.group_rates(p.labels, p.decisions, bands, policy.bootstrap)
    for name, metric in {"tpr": true_positive_rate, "fpr": false_positive_rate}.items():
        frame = MetricFrame(metrics=metric, y_true=p.labels, y_pred=p.decisions, sensitive_features=bands)
        for group, value in frame.by_group.items():
            assert table[group][name] == pytest.approx(value)
            low, high = table[group][f"{name}_ci"]
            assert low <= value <= high


def test_results_per_attribute_with_intervals_that_contain_the_estimate_and_shrink_with_n(policy):
    small, large = (run("disparate_impact_ratio", policy, predictions(n, seed=5)) for n in (200, 2000))
    assert set(small) == {"disparate_impact_ratio.sex", "disparate_impact_ratio.age_band"}
    for result in [*small.values(), *large.values()]:
        assert result.ci.lower <= result.measured <= result.ci.upper
        assert result.status in ("pass", "fail")
    width = {n: r["disparate_impact_ratio.sex"].ci.upper - r["disparate_impact_ratio.sex"].ci.lower
             for n, r in ((200, small), (2000, large))}
    assert width[2000] < width[200] / 2


def test_the_bootstrap_is_seeded(policy):
    first = run("equalized_odds_difference", policy, predictions(seed=6))
    again = run("equalized_odds_difference", policy, predictions(seed=6))
    assert first == again


def with_group(base: Predictions, labels: np.ndarray, scores: np.ndarray, name: str) -> Predictions:
    """`base` with more examples in a new age band `name`."""
    groups = {k: np.concatenate([v, np.full(len(labels), name if k == "age_band" else "male")])
              for k, v in base.groups.items()}
    return Predictions(np.concatenate([base.labels, labels]), np.concatenate([base.scores, scores]), groups)


def test_a_tiny_group_is_inconclusive_with_a_wide_interval(policy):
    base = predictions(seed=7)
    tiny = with_group(base, np.array([1, 0, 1, 1, 0]), np.array([0.9, 0.2, 0.4, 0.8, 0.6]), "75+")
    results = run("disparate_impact_ratio", policy, tiny)
    result = results["disparate_impact_ratio.age_band"]
    assert result.status == "inconclusive" and "75+" in result.reason and "fewer than 20" in result.reason
    assert result.details["groups"]["75+"]["examples"] == 5
    rates = result.details["groups"]
    width = {g: rates[g]["selection_rate_ci"][1] - rates[g]["selection_rate_ci"][0] for g in ("75+", "25-34")}
    assert width["75+"] > 2 * width["25-34"]
    assert results["disparate_impact_ratio.sex"].status in ("pass", "fail")


def test_a_group_without_positives_makes_only_the_tpr_checks_inconclusive(policy):
    base = predictions(seed=8)
    no_positives = with_group(base, np.zeros(25, int), np.linspace(0.1, 0.9, 25), "none-good")
    for check_id in ("equal_opportunity_difference", "equalized_odds_difference"):
        result = run(check_id, policy, no_positives)[f"{check_id}.age_band"]
        assert result.status == "inconclusive" and result.measured is None
        assert "none-good" in result.reason and "no positives" in result.reason
        assert result.details["groups"]["none-good"]["tpr"] is None
    assert run("disparate_impact_ratio", policy, no_positives)["disparate_impact_ratio.age_band"].measured is not None


def test_the_ci_bound_rule_judges_the_unfavourable_end(policy):
    prediction = predictions(seed=9)
    point = run("disparate_impact_ratio", policy, prediction)["disparate_impact_ratio.sex"]
    strict_check = policy.checks.disparate_impact_ratio.model_copy(
        update={"rule": "ci_bound", "threshold": (point.measured + point.ci.lower) / 2})
    checks = policy.checks.model_copy(update={"disparate_impact_ratio": strict_check})
    strict = policy.model_copy(update={"checks": checks})
    bound = run("disparate_impact_ratio", strict, prediction)["disparate_impact_ratio.sex"]
    assert bound.rule == "ci_bound" and bound.status == "fail"  # the estimate clears the threshold, the bound not
    assert bound.measured == point.measured and bound.measured > strict_check.threshold
