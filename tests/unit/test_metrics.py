"""The shared metrics as plain functions: against sklearn, on hand-computed cases, on resample batches."""

import warnings

import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.metrics import roc_auc_score

from components.metrics import expected_calibration_error, roc_auc


def test_auc_matches_sklearn_with_ties_and_on_every_resample():
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 2, 200)
    scores = np.round(rng.random(200) * 0.5 + 0.3 * labels, 1)  # rounded: many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    batch = np.stack([scores, scores[::-1], rng.random(200)])
    expected = [roc_auc_score(labels, row) for row in batch]
    np.testing.assert_allclose(roc_auc(labels, batch), expected)


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
