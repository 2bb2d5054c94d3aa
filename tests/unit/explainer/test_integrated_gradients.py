"""Integrated gradients: exact on linear models, complete on nonlinear ones, adaptive where it must be."""

import numpy as np
import pytest

from components.explainer.methods import attribute_integrated_gradients, sum_blocks
from tests.unit.explainer.tabular import BLOCKS, WIDTH, dense_rows, linear_logit, random_mlp

WEIGHTS = np.array([0.8, -0.5, 0.3, 1.2, -1.5, 0.25])


@pytest.mark.parametrize("rule", ["gauss_legendre", "trapezoid"])
@pytest.mark.parametrize("baseline_shape", ["shared", "per_example", "expected_gradients"])
def test_linear_model_gets_coefficient_times_difference(rule, baseline_shape):
    x = dense_rows(20, seed=1)
    baselines = {
        "shared": dense_rows(1, seed=2)[0],
        "per_example": dense_rows(20, seed=2),
        "expected_gradients": dense_rows(20 * 5, seed=2).reshape(20, 5, WIDTH),
    }[baseline_shape]
    mean_baseline = baselines.mean(axis=1) if baselines.ndim == 3 else baselines

    result = attribute_integrated_gradients(linear_logit(WEIGHTS, 0.3), x, baselines, steps=4, rule=rule)

    expected = WEIGHTS * (x - mean_baseline)
    np.testing.assert_allclose(result.attributions, expected, atol=1e-5)
    np.testing.assert_allclose(sum_blocks(result.attributions, BLOCKS), sum_blocks(expected, BLOCKS), atol=1e-4)
    np.testing.assert_allclose(result.prediction - result.baseline_prediction, expected.sum(axis=1), atol=1e-5)
    assert (result.steps == 4).all() and result.completeness_error.max() < 1e-5


@pytest.mark.parametrize("rule", ["gauss_legendre", "trapezoid"])
def test_nonlinear_model_meets_the_completeness_tolerance(rule):
    x, baselines = dense_rows(64, seed=3), dense_rows(64, seed=4)
    result = attribute_integrated_gradients(random_mlp(seed=0, scale=1.5), x, baselines, rule=rule, tolerance=1e-3)
    assert result.completeness_error.max() <= 1e-3
    np.testing.assert_allclose(
        result.attributions.sum(axis=1), result.prediction - result.baseline_prediction, atol=1e-3
    )


def test_steps_are_doubled_only_for_examples_that_miss_the_tolerance():
    predict, x, baselines = random_mlp(seed=0, scale=1.5), dense_rows(64, seed=3), dense_rows(64, seed=4)
    options = {"rule": "trapezoid", "tolerance": 1e-3, "batch_rows": 500}
    fixed = attribute_integrated_gradients(predict, x, baselines, steps=4, max_steps=4, **options)
    adaptive = attribute_integrated_gradients(predict, x, baselines, steps=4, max_steps=1024, **options)

    needed_more = fixed.completeness_error > 1e-3
    assert 0 < needed_more.sum() < len(x)
    assert (adaptive.steps[~needed_more] == 4).all()
    assert (adaptive.steps[needed_more] > 4).all()
    np.testing.assert_array_equal(adaptive.attributions[~needed_more], fixed.attributions[~needed_more])
    assert adaptive.completeness_error.max() <= 1e-3
    assert set(np.unique(adaptive.steps)) <= {4, 8, 16, 32, 64, 128, 256, 512, 1024}


def test_max_steps_caps_the_doubling():
    predict, x, baselines = random_mlp(seed=0, scale=1.5), dense_rows(16, seed=3), dense_rows(16, seed=4)
    result = attribute_integrated_gradients(predict, x, baselines, steps=2, rule="trapezoid", tolerance=0, max_steps=6)
    assert (result.steps == 6).all()


def test_bad_arguments_are_named():
    predict, x = linear_logit(WEIGHTS, 0.0), dense_rows(3, seed=0)
    with pytest.raises(ValueError, match="rule"):
        attribute_integrated_gradients(predict, x, x, rule="simpson")
    with pytest.raises(ValueError, match="baselines of shape"):
        attribute_integrated_gradients(predict, x, x[:2])
    with pytest.raises(ValueError, match="max_steps"):
        attribute_integrated_gradients(predict, x, x, steps=64, max_steps=32)
