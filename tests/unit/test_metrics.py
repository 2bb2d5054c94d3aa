"""The shared metrics as plain functions: against sklearn and fairlearn, on hand-computed cases, on resample batches."""

import warnings

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame, demographic_parity_ratio, true_positive_rate
from fairlearn.metrics import equalized_odds_difference as fairlearn_equalized_odds_difference
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from components.metrics import (
    disparate_impact_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    expected_calibration_error,
    roc_auc,
)


def test_auc_matches_sklearn_with_ties_and_on_every_resample():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) * 0.5 + 0.3 * labels, 1)  # rounded: many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    batch = np.stack([scores, scores[::-1], rng.random(200)])
    expected = [roc_auc_score(labels, row) for row in batch]
    np.testing.assert_allclose(roc_auc(labels, batch), expected)


def test_auc_is_the_share_of_correctly_ordered_pairs_ties_counting_half():
    rng = np.random.default_rng(4)
    labels, scores = rng.random(60) < 0.4, rng.integers(0, 5, 60).astype(float)
    pairs = scores[labels][:, None] - scores[~labels][None, :]
    assert roc_auc(labels, scores) == pytest.approx(np.mean((pairs > 0) + 0.5 * (pairs == 0)))


@pytest.mark.parametrize("labels", [np.ones(10), np.zeros(10, dtype=bool)])
def test_auc_of_a_single_class_is_undefined_without_dividing_by_zero(labels):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a 0/0 would raise its RuntimeWarning here
        assert np.isnan(roc_auc(labels, np.linspace(0, 1, 10)))
        resampled = roc_auc(labels, np.random.default_rng(0).random((3, 10)))
    assert resampled.shape == (3,) and np.isnan(resampled).all()


def test_calibration_error_matches_an_independent_computation():
    rng = np.random.default_rng(2)
    scores = rng.random(500)
    labels = (rng.random(500) < scores ** 2).astype(int)  # overconfident model
    true_rate, mean_score = calibration_curve(labels, scores, n_bins=10, strategy="uniform")
    counts = np.histogram(scores, bins=np.linspace(0, 1, 11))[0]
    expected = np.sum(counts[counts > 0] / len(scores) * np.abs(true_rate - mean_score))
    assert expected_calibration_error(labels, scores, 10) == pytest.approx(expected)


def test_calibration_error_of_a_calibrated_model_is_near_zero():
    rng = np.random.default_rng(3)
    scores = rng.random(50_000)
    labels = (rng.random(50_000) < scores).astype(int)
    assert expected_calibration_error(labels, scores, 10) < 0.01


def test_calibration_error_on_hand_computed_steps():
    calibrated_scores = np.array([0.25] * 4 + [0.75] * 4)
    calibrated_labels = np.array([1, 0, 0, 0, 1, 1, 1, 0])  # a quarter, then three quarters positive
    assert expected_calibration_error(calibrated_labels, calibrated_scores) == 0
    overconfident_scores = np.array([0.9] * 5 + [0.1] * 5)
    overconfident_labels = np.array([1, 1, 0, 0, 0, 1, 0, 0, 0, 0])  # 0.4 and 0.2 positive
    # half the examples miss by |0.4 - 0.9|, half by |0.2 - 0.1|
    assert expected_calibration_error(overconfident_labels, overconfident_scores) == pytest.approx(0.3)


def test_calibration_error_scores_every_resample_row_on_its_own():
    rng = np.random.default_rng(5)
    scores = rng.random((4, 300))
    labels = (rng.random((4, 300)) < scores ** 3).astype(int)
    expected = [expected_calibration_error(y, s, 8) for y, s in zip(labels, scores)]
    np.testing.assert_allclose(expected_calibration_error(labels, scores, 8), expected)


def applicants(seed: int, n: int = 180) -> tuple[np.ndarray, np.ndarray, dict]:
    """Labels, decisions that favour label 1, and two protected attributes with uneven groups."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.7).astype(int)
    decisions = (rng.random(n) < 0.35 + 0.4 * labels).astype(int)
    groups = {"sex": rng.choice(["female", "male"], size=n, p=[1 / 3, 2 / 3]),
              "age_band": rng.choice(["<25", "25-34", "35-49", "50+"], size=n, p=[0.15, 0.4, 0.3, 0.15])}
    return labels, decisions, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fairness_rates_match_fairlearn(seed):
    labels, decisions, attributes = applicants(seed)
    for groups in attributes.values():
        assert disparate_impact_ratio(decisions, groups) == pytest.approx(
            demographic_parity_ratio(labels, decisions, sensitive_features=groups))
        tpr = MetricFrame(metrics=true_positive_rate, y_true=labels, y_pred=decisions, sensitive_features=groups)
        assert equal_opportunity_difference(labels, decisions, groups) == pytest.approx(tpr.difference())
        assert equalized_odds_difference(labels, decisions, groups) == pytest.approx(
            fairlearn_equalized_odds_difference(labels, decisions, sensitive_features=groups))


def test_fairness_rates_on_a_hand_computed_example():
    groups = np.array(["a"] * 4 + ["b"] * 4)
    labels = np.array([1, 1, 0, 0, 1, 1, 1, 0])
    decisions = np.array([1, 1, 1, 1, 1, 0, 0, 0])
    # selection: a 4/4, b 1/4; TPR: a 2/2, b 1/3; FPR: a 2/2, b 0/1
    assert disparate_impact_ratio(decisions, groups) == pytest.approx(0.25)
    assert equal_opportunity_difference(labels, decisions, groups) == pytest.approx(2 / 3)
    assert equalized_odds_difference(labels, decisions, groups) == pytest.approx(1.0)  # the FPR gap is larger


def test_a_rate_without_its_examples_is_undefined_not_zero():
    groups = np.array(["a", "a", "b", "b"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(equal_opportunity_difference(np.array([1, 0, 0, 0]), np.array([1, 0, 1, 0]), groups))
        assert np.isnan(disparate_impact_ratio(np.zeros(4, dtype=int), groups))  # nobody selected: no ratio


def test_fairness_rates_score_every_resample_at_once():
    labels, decisions, attributes = applicants(4)
    groups = attributes["sex"]
    batch = np.stack([decisions, 1 - decisions, np.roll(decisions, 7)])
    stacked_labels = np.stack([labels] * 3)
    for metric in (equal_opportunity_difference, equalized_odds_difference):
        expected = [metric(labels, row, groups) for row in batch]
        np.testing.assert_allclose(metric(stacked_labels, batch, groups), expected)
    np.testing.assert_allclose(disparate_impact_ratio(batch, groups),
                               [disparate_impact_ratio(row, groups) for row in batch])
