"""Shapley values: the axioms, linear exactness, a brute-force twin, shap itself, and the sampler's error bars."""

import itertools
import math

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.methods import exact_shapley, sampled_shapley, sum_blocks
from tests.unit.explainer.tabular import BLOCKS, WIDTH, dense_rows, float64_mlp, linear_logit, random_mlp

WEIGHTS = np.array([0.8, -0.5, 0.3, 1.2, -1.5, 0.25])


@pytest.mark.parametrize("background_rows", [1, 7])
def test_linear_model_gets_coefficient_times_difference_from_the_background_mean(background_rows):
    x, background = dense_rows(10, seed=1), dense_rows(background_rows, seed=2)
    predict = linear_logit(WEIGHTS, -0.2)
    result = exact_shapley(predict, x, background, BLOCKS)
    expected = sum_blocks(WEIGHTS * (x - background.mean(axis=0)), BLOCKS)
    np.testing.assert_allclose(result.attributions, expected, atol=1e-5)
    np.testing.assert_allclose(result.base_value, predict(background).numpy().mean(), atol=1e-5)


def test_efficiency_base_plus_attributions_is_the_prediction():
    predict, x = random_mlp(seed=1, scale=1.5), dense_rows(30, seed=3)
    result = exact_shapley(predict, x, dense_rows(20, seed=4), BLOCKS)
    np.testing.assert_allclose(result.base_value + result.attributions.sum(axis=1), result.prediction, atol=1e-12)
    np.testing.assert_allclose(result.prediction, predict(x).numpy().ravel(), atol=1e-5)


def test_a_feature_the_model_ignores_gets_zero_to_float32_rounding():
    mlp = random_mlp(seed=2, scale=1.5)
    ignored_start, ignored_end = BLOCKS[1]

    @tf.function
    def ignores_purpose(dense):
        return mlp(tf.concat([dense[:, :ignored_start], tf.zeros_like(dense[:, ignored_start:ignored_end]),
                              dense[:, ignored_end:]], axis=1))

    result = exact_shapley(ignores_purpose, dense_rows(25, seed=5), dense_rows(10, seed=6), BLOCKS)
    # The same rows scored at other places in a batch may round differently (see shapley_from_values): a few
    # float32 units in the last place of the largest output, far below any attribution the model makes.
    rounding = 4 * np.finfo(np.float32).eps * np.abs(result.prediction).max()
    assert np.abs(result.attributions[:, 1]).max() <= rounding
    assert np.abs(result.attributions[:, [0, 2, 3]]).min() > 100 * rounding


def test_exchangeable_features_with_equal_values_get_equal_attributions():
    @tf.function
    def symmetric_in_amount_and_age(dense):
        amount, age, duration = dense[:, 0], dense[:, 4], dense[:, 5]
        return tf.sigmoid(0.7 * (amount + age) - 1.3 * amount * age + tf.tanh(duration) * (amount + age) + dense[:, 2])

    x = dense_rows(20, seed=7)
    x[:, 4] = x[:, 0]
    background = dense_rows(8, seed=8)
    background = np.concatenate([background, background[:, [4, 1, 2, 3, 0, 5]]])  # every row and its swap
    result = exact_shapley(symmetric_in_amount_and_age, x, background, BLOCKS)
    # Equal up to the rounding of the float32 outputs (a sigmoid, at most 1), as for an ignored feature above.
    np.testing.assert_allclose(result.attributions[:, 0], result.attributions[:, 2], atol=4 * np.finfo(np.float32).eps)


def brute_force_shapley(model, x, background, blocks):
    """The permutation definition in plain numpy: mean over all M! orders of each feature's marginal contribution."""
    players = len(blocks)

    def value(row, coalition):
        hybrids = background.astype(np.float64).copy()
        for feature in coalition:
            start, end = blocks[feature]
            hybrids[:, start:end] = row[start:end]
        return model(hybrids).mean()

    attributions = np.zeros((len(x), players))
    for n, row in enumerate(x):
        for order in itertools.permutations(range(players)):
            for position, feature in enumerate(order):
                attributions[n, feature] += value(row, order[: position + 1]) - value(row, order[:position])
    return attributions / math.factorial(players)


def test_exact_shapley_matches_a_brute_force_implementation():
    predict, numpy_predict = float64_mlp(seed=3)
    x, background = dense_rows(5, seed=9), dense_rows(6, seed=10)
    result = exact_shapley(predict, x, background, BLOCKS)
    expected = brute_force_shapley(numpy_predict, x, background, BLOCKS)
    np.testing.assert_allclose(result.attributions, expected, atol=1e-9)


def test_exact_shapley_matches_shap_kernel_explainer_on_raw_features():
    """shap substitutes raw columns, we substitute dense blocks: the same game when the encoding is separable.

    KernelExplainer enumerates all 14 proper coalitions of 4 features, so its regression is exact
    (shap's Exact explainer would do too, but compiles with numba for 8 s first).
    """
    shap = pytest.importorskip("shap")
    predict, numpy_predict = float64_mlp(seed=4)

    def encode(raw):  # raw columns: amount, purpose code, age, duration
        dense = np.zeros((len(raw), WIDTH))
        dense[:, [0, 4, 5]] = raw[:, [0, 2, 3]]
        dense[np.arange(len(raw)), 1 + raw[:, 1].astype(int)] = 1.0
        return dense

    x, background = dense_rows(4, seed=11), dense_rows(12, seed=12)

    def decode(dense):
        return np.column_stack([dense[:, 0], dense[:, 1:4].argmax(axis=1), dense[:, 4], dense[:, 5]])

    explainer = shap.KernelExplainer(lambda raw: numpy_predict(encode(raw)), decode(background))
    expected = explainer.shap_values(decode(x), nsamples=100, silent=True)
    np.testing.assert_allclose(exact_shapley(predict, x, background, BLOCKS).attributions, expected, atol=1e-9)


def test_too_many_features_for_exact_enumeration_is_refused():
    blocks = [(i, i + 1) for i in range(13)]
    with pytest.raises(ValueError, match="2\\^13 coalitions"):
        exact_shapley(linear_logit(np.ones(13), 0.0), np.zeros((1, 13)), np.zeros((1, 13)), blocks)


@pytest.fixture(scope="module")
def nonlinear_case():
    predict, x, background = random_mlp(seed=5, scale=1.5), dense_rows(150, seed=13), dense_rows(10, seed=14)
    return predict, x, background, exact_shapley(predict, x, background, BLOCKS)


def test_sampled_shapley_is_efficient_for_any_number_of_permutations(nonlinear_case):
    predict, x, background, exact = nonlinear_case
    sampled = sampled_shapley(predict, x[:20], background, BLOCKS, max_permutations=4, permutations_per_round=4)
    np.testing.assert_allclose(sampled.base_value + sampled.attributions.sum(axis=1), exact.prediction[:20], atol=1e-12)


def test_sampled_shapley_error_shrinks_as_permutations_grow(nonlinear_case):
    predict, x, background, exact = nonlinear_case

    def rms_error(permutations):
        sampled = sampled_shapley(predict, x[:40], background, BLOCKS, max_permutations=permutations,
                                  target_standard_error=0.0, seed=1)
        assert (sampled.permutations == permutations).all()
        return np.sqrt(np.mean((sampled.attributions - exact.attributions[:40]) ** 2))

    few, many = rms_error(8), rms_error(128)
    assert many < few / 2.5  # 16x the permutations: about 4x less error


def test_sampled_standard_errors_cover_the_true_error_at_about_the_nominal_rate(nonlinear_case):
    predict, x, background, exact = nonlinear_case
    sampled = sampled_shapley(predict, x, background, BLOCKS, max_permutations=32, target_standard_error=0.0, seed=2)
    assert (sampled.standard_errors > 0).all()
    covered = np.abs(sampled.attributions - exact.attributions) <= 2 * sampled.standard_errors
    assert covered.mean() >= 0.85


def test_sampling_stops_per_example_once_its_errors_reach_the_target(nonlinear_case):
    predict, x, background, _ = nonlinear_case
    sampled = sampled_shapley(predict, x[:40], background, BLOCKS, max_permutations=256, target_standard_error=0.004)
    stopped_early = sampled.permutations < 256
    assert 0 < stopped_early.sum() < 40
    assert (sampled.standard_errors[stopped_early] <= 0.004).all()
    assert (sampled.standard_errors[~stopped_early].max(axis=1) > 0.004).all()


def test_per_example_seeds_make_an_examples_values_independent_of_its_batch(nonlinear_case):
    predict, x, background, _ = nonlinear_case
    seeds = np.arange(100, 130)
    options = {"max_permutations": 16, "target_standard_error": 0.0}
    whole = sampled_shapley(predict, x[:30], background, BLOCKS, seed=seeds, **options)
    part = sampled_shapley(predict, x[10:20], background, BLOCKS, seed=seeds[10:20], **options)
    np.testing.assert_allclose(part.attributions, whole.attributions[10:20], atol=1e-6)
    with pytest.raises(ValueError, match="one per example"):
        sampled_shapley(predict, x[:3], background, BLOCKS, seed=[1, 2])


def test_columns_no_block_owns_keep_the_examples_value():
    x, background = dense_rows(6, seed=15), dense_rows(3, seed=16)
    predict = linear_logit(WEIGHTS, 0.1)
    result = exact_shapley(predict, x, background, BLOCKS[:3])  # duration (column 5) is not a player
    np.testing.assert_allclose(result.attributions, sum_blocks(WEIGHTS * (x - background.mean(axis=0)), BLOCKS[:3]),
                               atol=1e-5)
    with_x_duration = np.repeat(background[np.newaxis], len(x), axis=0)
    with_x_duration[:, :, 5] = x[:, 5:6]
    np.testing.assert_allclose(result.base_value, predict(with_x_duration.reshape(-1, WIDTH)).numpy().reshape(6, 3)
                               .mean(axis=1), atol=1e-5)
