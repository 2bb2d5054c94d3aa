"""Explanation quality metrics on cases where the right answer is known."""

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.methods import sum_blocks
from components.explainer.quality import (
    deletion_insertion,
    global_importance,
    importance_rank_agreement,
    max_sensitivity,
    removal_counts,
    summarize_completeness,
)
from tests.unit.explainer.tabular import BLOCKS, CATEGORIES, NUMERIC_COLUMNS, WIDTH, dense_rows, linear_logit

POSITIVE_WEIGHTS = np.array([0.9, 0.4, 0.7, 1.1, 1.6, 0.3])


def test_completeness_summary_of_hand_made_errors():
    summary = summarize_completeness(np.array([0.0, 0.01, -0.02, 0.1, 0.2]))
    assert (summary.median, summary.max, summary.share_above) == (0.02, 0.2, 0.4)
    assert summary.p90 == pytest.approx(0.16)  # 90th percentile, interpolated between 0.1 and 0.2


def test_ordering_by_attribution_beats_random_orders_on_a_linear_model():
    """Every attribution is positive: deleting the largest first lowers the score fastest, inserting raises it."""
    linear = linear_logit(POSITIVE_WEIGHTS, -1.0)
    predict = tf.function(lambda dense: tf.sigmoid(linear(dense)))
    x = dense_rows(30, seed=30)
    x[:, NUMERIC_COLUMNS] = np.abs(x[:, NUMERIC_COLUMNS]) + 0.1
    baseline = np.zeros(WIDTH, dtype=np.float32)
    attributions = sum_blocks(POSITIVE_WEIGHTS * (x - baseline), BLOCKS)
    assert (attributions > 0).all()

    result = deletion_insertion(predict, x, {"m": attributions}, baseline, BLOCKS, random_orders=4, seed=1)["m"]

    assert result.deletion_auc < result.random_deletion_auc - 0.02
    assert result.insertion_auc > result.random_insertion_auc + 0.02
    start, end = predict(x).numpy().mean(), predict(baseline[np.newaxis]).numpy()[0]
    for curve in (result.deletion_curve, result.random_deletion_curve):
        np.testing.assert_allclose(curve[[0, -1]], [start, end], atol=1e-6)
    for curve in (result.insertion_curve, result.random_insertion_curve):
        np.testing.assert_allclose(curve[[0, -1]], [end, start], atol=1e-6)
    assert (np.diff(result.deletion_curve) < 0).all() and (np.diff(result.insertion_curve) > 0).all()


def test_curves_taken_in_steps_are_the_full_curves_at_those_counts():
    """Steps change where the curves are read, not what they are: the same orders, the same score at each count
    taken, the first and last counts kept, and an area that is the trapezoid over the counts taken."""
    assert removal_counts(6, None).tolist() == removal_counts(6, 6).tolist() == [0, 1, 2, 3, 4, 5, 6]
    assert removal_counts(6, 4).tolist() == [0, 2, 3, 4, 6]  # 1.5 and 4.5 round to even
    assert removal_counts(784, 100)[[0, -1]].tolist() == [0, 784] and len(removal_counts(784, 100)) == 101
    with pytest.raises(ValueError, match="at least 1"):
        removal_counts(6, 0)
    linear = linear_logit(POSITIVE_WEIGHTS, -1.0)
    predict = tf.function(lambda dense: tf.sigmoid(linear(dense)))
    x = dense_rows(25, seed=7)
    baseline = np.zeros(WIDTH, dtype=np.float32)
    attributions = sum_blocks(POSITIVE_WEIGHTS * (x - baseline), BLOCKS)
    full = deletion_insertion(predict, x, {"m": attributions}, baseline, BLOCKS, random_orders=3, seed=4)["m"]
    assert len(BLOCKS) == 4
    stepped = deletion_insertion(predict, x, {"m": attributions}, baseline, BLOCKS, random_orders=3, seed=4,
                                 steps=3)["m"]
    assert stepped.removed.tolist() == [0, 1, 3, 4]
    for name in ("deletion_curve", "insertion_curve", "random_deletion_curve", "random_insertion_curve"):
        np.testing.assert_allclose(getattr(stepped, name), getattr(full, name)[stepped.removed], rtol=1e-12)
    curve = full.deletion_curve[[0, 1, 3, 4]]
    assert stepped.deletion_auc == pytest.approx((curve[:-1] + curve[1:]) @ np.array([1, 2, 1]) / 8)
    assert stepped.summary()["removed"] == [0, 1, 3, 4]


def test_signed_order_beats_random_when_attributions_have_both_signs():
    """Features that lowered the score are deleted last, so deletion by attribution still falls fastest."""
    weights = np.array([2.0, 1.0, -1.5, 0.5, -2.0, 1.5], dtype=np.float32)
    linear = linear_logit(weights, 0.0)
    predict = tf.function(lambda dense: tf.sigmoid(linear(dense)))
    x = dense_rows(40, seed=41)
    baseline = np.zeros(WIDTH, dtype=np.float32)
    attributions = sum_blocks(weights * (x - baseline), BLOCKS)
    assert (attributions > 0).any() and (attributions < 0).any()

    result = deletion_insertion(predict, x, {"m": attributions}, baseline, BLOCKS, random_orders=4, seed=2)["m"]

    assert result.deletion_auc < result.random_deletion_auc - 0.02
    assert result.insertion_auc > result.random_insertion_auc + 0.02


def test_methods_compared_together_get_the_curves_each_gets_alone():
    """The random orders are drawn from the seed and the examples alone, so several methods share one set of random
    curves: each method's curves are those of a call of its own, whatever the other methods are and their order."""
    weights = np.array([2.0, 1.0, -1.5, 0.5, -2.0, 1.5], dtype=np.float32)
    predict = tf.function(lambda dense: tf.sigmoid(linear_logit(weights, 0.3)(dense)))
    x = dense_rows(20, seed=12)
    baseline = np.zeros(WIDTH, dtype=np.float32)
    exact = sum_blocks(weights * x, BLOCKS)
    methods = {"exact": exact, "noisy": exact + np.random.default_rng(3).normal(size=exact.shape),
               "reversed": -exact}
    together = deletion_insertion(predict, x, methods, baseline, BLOCKS, random_orders=3, seed=5, steps=3)
    backwards = deletion_insertion(predict, x, dict(reversed(methods.items())), baseline, BLOCKS, random_orders=3,
                                   seed=5, steps=3)
    assert list(together) == list(methods)
    for method, values in methods.items():
        alone = deletion_insertion(predict, x, {method: values}, baseline, BLOCKS, random_orders=3, seed=5,
                                   steps=3)[method]
        for found in (together[method], backwards[method]):
            for name in ("deletion_curve", "insertion_curve", "random_deletion_curve", "random_insertion_curve"):
                np.testing.assert_allclose(getattr(found, name), getattr(alone, name), rtol=1e-6, err_msg=name)
    assert together["exact"].deletion_auc < together["exact"].random_deletion_auc < together["reversed"].deletion_auc
    with pytest.raises(ValueError, match=r"short: attributions of shape \(20, 3\)"):
        deletion_insertion(predict, x, {"exact": exact, "short": exact[:, :3]}, baseline, BLOCKS)
    assert deletion_insertion(predict, x, {}, baseline, BLOCKS) == {}


def test_max_sensitivity_is_zero_for_a_constant_explanation_and_linear_in_the_noise():
    weights = np.arange(1.0, WIDTH + 1)
    x = dense_rows(12, seed=31)
    seen = []

    def linear_explanation(dense):
        seen.append(dense)
        return sum_blocks(weights * dense, BLOCKS)

    small = max_sensitivity(linear_explanation, x, NUMERIC_COLUMNS, noise_scale=0.1, seed=2)
    large = max_sensitivity(linear_explanation, x, NUMERIC_COLUMNS, noise_scale=0.2, seed=2)
    np.testing.assert_allclose(large, 2 * small, rtol=1e-4)
    assert (small > 0).all()
    one_hot = slice(1, 1 + CATEGORIES)
    perturbed = seen[1].reshape(5, len(x), WIDTH)
    assert (perturbed[:, :, one_hot] == x[:, one_hot]).all()  # a perturbed one-hot block would encode nothing

    constant = max_sensitivity(lambda dense: np.ones((len(dense), len(BLOCKS))), x, NUMERIC_COLUMNS)
    assert (constant == 0).all()


def test_rank_agreement_compares_global_importances():
    a = np.array([[1.0, -2.0, 3.0, 0.5], [-1.0, 2.0, -3.0, 0.5]])
    np.testing.assert_array_equal(global_importance(a), [1.0, 2.0, 3.0, 0.5])
    assert importance_rank_agreement(a, 10 * a) == pytest.approx(1.0)
    assert importance_rank_agreement(a, a[:, ::-1]) == pytest.approx(0.6)  # ranks 2,3,4,1 vs 1,4,3,2: 1 - 6*4/60
