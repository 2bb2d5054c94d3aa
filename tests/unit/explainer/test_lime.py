"""LIME: linear exactness, the weighted ridge against scikit-learn, agreement with exact Shapley on a Keras network,
per-example seeds that make an explanation independent of its batch, and the stability indices."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from components.explainer.config import ExplainerConfig
from components.explainer.explain import Background, DenseModel, attribute, example_seeds
from components.explainer.methods import exact_shapley, lime, sum_blocks
from components.explainer.methods.lime import sample_coalitions, weighted_ridge
from components.explainer.quality import compare_with_reference, repeated_seed_stability
from tests.unit.explainer.tabular import BLOCKS, WIDTH, dense_rows, linear_logit, random_mlp

WEIGHTS = np.array([0.8, -0.5, 0.3, 1.2, -1.5, 0.25])


def test_linear_model_gets_coefficient_times_difference_from_the_background_mean():
    """v(z) of a linear model is linear in the switches, so an unpenalised surrogate is exact: the attributions
    are the exact Shapley values w . (x - mean background) per block, and they sum to f(x) - v(empty)."""
    x, background = dense_rows(15, seed=1), dense_rows(9, seed=2)
    result = lime(linear_logit(WEIGHTS, -0.2), x, background, BLOCKS, ridge_alpha=0.0, samples=64, seed=3)
    expected = sum_blocks(WEIGHTS * (x - background.mean(axis=0)), BLOCKS)
    np.testing.assert_allclose(result.attributions, expected, atol=1e-5)
    np.testing.assert_allclose(result.base_value + result.attributions.sum(axis=1), result.prediction, atol=1e-5)
    np.testing.assert_allclose(result.fidelity, 1.0, atol=1e-9)
    assert result.standard_errors.max() < 1e-5


def test_the_ridge_penalty_shrinks_towards_zero():
    x, background = dense_rows(10, seed=4), dense_rows(9, seed=5)
    free = lime(linear_logit(WEIGHTS, 0.0), x, background, BLOCKS, ridge_alpha=0.0, seed=6).attributions
    shrunk = lime(linear_logit(WEIGHTS, 0.0), x, background, BLOCKS, ridge_alpha=5.0, seed=6).attributions
    ratio = np.abs(shrunk).sum() / np.abs(free).sum()
    assert 0.8 < ratio < 1.0, ratio


def test_weighted_ridge_matches_scikit_learn_and_the_textbook_standard_errors():
    rng = np.random.default_rng(0)
    design = rng.integers(0, 2, (3, 80, 4)).astype(np.float64)
    target = design @ np.array([0.5, -1.0, 0.0, 2.0]) + rng.normal(0, 0.3, (3, 80))
    weights = rng.uniform(0.1, 1.0, (3, 80))
    coefficients, intercept, errors, fidelity = weighted_ridge(design, target, weights, 0.7)
    for i in range(3):
        w = weights[i] / weights[i].mean()
        fit = Ridge(alpha=0.7).fit(design[i], target[i], sample_weight=w)
        np.testing.assert_allclose(coefficients[i], fit.coef_, atol=1e-10)
        np.testing.assert_allclose(intercept[i], fit.intercept_, atol=1e-10)
        residuals = target[i] - fit.predict(design[i])
        mean = np.average(target[i], weights=w)
        assert fidelity[i] == pytest.approx(1 - (w * residuals**2).sum() / (w * (target[i] - mean) ** 2).sum())
    # Unpenalised, the sandwich form is weighted least squares' covariance sigma^2 (Z'WZ)^-1.
    _, _, errors, _ = weighted_ridge(design, target, weights, 0.0)
    z = np.concatenate([np.ones((80, 1)), design[0]], axis=1)
    w = weights[0] / weights[0].mean()
    beta = np.linalg.solve(z.T @ (w[:, None] * z), z.T @ (w * target[0]))
    sigma2 = (w * (target[0] - z @ beta) ** 2).sum() / (80 - 5)
    textbook = np.sqrt(np.diag(sigma2 * np.linalg.inv(z.T @ (w[:, None] * z))))[1:]
    np.testing.assert_allclose(errors[0], textbook, rtol=1e-9)


def test_coalitions_hold_the_example_and_the_background_then_every_size():
    coalitions = sample_coalitions(0, 2, 4000, 5)
    assert coalitions[:, 0].all() and not coalitions[:, 1].any()
    sizes = np.bincount(coalitions[:, 2:].sum(axis=2).ravel(), minlength=6) / (2 * 3998)
    np.testing.assert_allclose(sizes, 1 / 6, atol=0.02)
    np.testing.assert_allclose(coalitions[:, 2:].mean(axis=(0, 1)), 0.5, atol=0.02)  # no feature favoured


@pytest.fixture(scope="module")
def network_case():
    return random_mlp(seed=3), dense_rows(24, seed=7), dense_rows(30, seed=8)


def test_agrees_with_exact_shapley_on_a_keras_network(network_case):
    predict, x, background = network_case
    exact = exact_shapley(predict, x, background, BLOCKS).attributions
    found = lime(predict, x, background, BLOCKS, samples=512, seed=list(range(len(x))))
    agreement = compare_with_reference(found.attributions, exact, k=2)
    assert agreement["correlation"] > 0.95, agreement
    assert agreement["precision_at_k"] >= 0.8, agreement
    assert np.median(found.fidelity) > 0.8


def test_an_examples_explanation_is_bit_identical_in_any_batch_and_order(network_case):
    predict, x, background = network_case
    config = ExplainerConfig(background_size=30, lime_samples=128)
    model = DenseModel(predict, BLOCKS)
    base = Background(dense=background, baseline=background.mean(axis=0))
    records = [row.tobytes() + b"!" for row in x]
    whole = attribute("lime", model, x, base, config, records).values
    order = np.random.default_rng(0).permutation(len(x))
    shuffled = attribute("lime", model, x[order], base, config, [records[i] for i in order]).values
    one_by_one = np.concatenate([attribute("lime", model, x[i:i + 1], base, config, records[i:i + 1]).values
                                 for i in range(3)])
    assert np.array_equal(shuffled, whole[order])
    assert np.array_equal(one_by_one, whole[:3])
    assert example_seeds(0, x[:1], records[:1]) != example_seeds(1, x[:1], records[:1])


def test_more_samples_make_it_more_stable(network_case):
    predict, x, background = network_case

    def runs(samples):
        results = [lime(predict, x, background, BLOCKS, samples=samples, seed=[r * 1000 + i for i in range(len(x))])
                   for r in range(4)]
        return repeated_seed_stability(np.stack([r.attributions for r in results]),
                                       np.stack([r.standard_errors for r in results]), k=2)

    few, many = runs(16), runs(1024)
    assert many["spread_median"] < few["spread_median"] / 4, (few, many)
    assert many["vsi"] >= few["vsi"] and many["vsi"] > 90, (few, many)


def test_stability_indices_on_hand_made_runs():
    identical = np.tile(np.array([[[3.0, -2.0, 1.0, 0.1]]]), (3, 2, 1))
    stable = repeated_seed_stability(identical, np.full(identical.shape, 0.01), k=2)
    assert stable["vsi"] == stable["csi"] == 100.0 and stable["spread_max"] < 1e-15
    # Two runs that agree on one of their top two features, and whose intervals overlap for two of four features.
    runs = np.array([[[3.0, 2.0, 0.0, 0.0]], [[3.0, 0.0, 2.0, 0.0]]])
    result = repeated_seed_stability(runs, np.full(runs.shape, 0.1), k=2)
    assert result["vsi"] == pytest.approx(50.0) and result["csi"] == pytest.approx(50.0)


def test_comparison_with_a_reference():
    reference = np.array([[1.0, 0.5, 0.0, -2.0], [0.2, 0.1, 3.0, 0.0]])
    same = compare_with_reference(reference * 2, reference, k=2)
    assert same["correlation"] == pytest.approx(1.0) and same["precision_at_k"] == 1.0
    swapped = compare_with_reference(reference[:, ::-1], reference, k=1)
    assert swapped["precision_at_k"] == 0.0
    assert WIDTH == 6  # the layout the cases above use
