"""Permutation importance: zero for an ignored feature, clearly positive for a driving one, honest metrics."""

import sys
import warnings

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.methods import permutation_importance
from components.explainer.methods.permutation_importance import log_loss
from tests.unit.explainer.tabular import BLOCKS, dense_rows

WEIGHTS = tf.constant([2.5, 0.5, -0.5, 0.0, 0.8], dtype=tf.float32)  # amount drives, duration (column 5) is unread


@tf.function
def probability_ignoring_duration(dense):
    return tf.sigmoid(tf.linalg.matvec(dense[:, :5], WEIGHTS) - 0.2)


@pytest.fixture(scope="module")
def importance():
    x = dense_rows(400, seed=20)
    labels = np.random.default_rng(21).random(400) < probability_ignoring_duration(x).numpy()
    return permutation_importance(probability_ignoring_duration, x, labels, BLOCKS, repeats=8, seed=3)


def test_a_feature_the_model_ignores_has_no_importance(importance):
    for drop in (importance.auc_drop, importance.log_loss_increase):
        assert (drop.per_repeat[3] == 0).all()
        assert drop.low[3] <= 0 <= drop.high[3]


def test_the_feature_that_drives_the_model_has_a_clearly_positive_drop(importance):
    assert importance.auc > 0.75
    assert importance.auc_drop.low[0] > 0.1
    assert importance.log_loss_increase.low[0] > 0.1
    assert importance.auc_drop.mean[0] == importance.auc_drop.mean.max()


def test_interval_is_mean_plus_minus_t_times_standard_error(importance):
    drops = importance.auc_drop.per_repeat[0]
    half_width = 2.3646 * drops.std(ddof=1) / np.sqrt(8)  # t(0.975, 7)
    np.testing.assert_allclose([importance.auc_drop.low[0], importance.auc_drop.high[0]],
                               [drops.mean() - half_width, drops.mean() + half_width], rtol=1e-4)


def test_log_loss_is_the_mean_binary_cross_entropy():
    labels, probabilities = np.array([True, False, True]), np.array([0.9, 0.2, 0.4])
    assert log_loss(labels, probabilities) == pytest.approx(-(np.log(0.9) + np.log(0.8) + np.log(0.4)) / 3)


def test_bad_arguments_are_named():
    x = dense_rows(10, seed=0)
    with pytest.raises(ValueError, match="repeats"):
        permutation_importance(probability_ignoring_duration, x, np.arange(10) % 2, BLOCKS, repeats=1)
    with pytest.raises(ValueError, match="both classes"):
        permutation_importance(probability_ignoring_duration, x, np.ones(10), BLOCKS)


def test_a_one_class_sample_gives_an_undefined_auc_not_a_division_by_zero():
    """The method refuses one-class labels by name, and the AUC it scores with is the shared guarded one: a one-class
    sample reaching it is NaN, where the method's former copy divided 0 by 0."""
    auc_used = sys.modules[permutation_importance.__module__].roc_auc
    shuffled_scores = np.random.default_rng(6).random((3, 12))  # [R, N], as the method scores its shuffles
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(auc_used(np.zeros(12, dtype=bool), shuffled_scores)).all()
        with pytest.raises(ValueError, match="both classes"):
            permutation_importance(probability_ignoring_duration, dense_rows(12, seed=0), np.zeros(12), BLOCKS)
