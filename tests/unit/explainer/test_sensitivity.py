"""Partial dependence and ICE: known answers on models whose response is known."""

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.model import feature_kinds, raw_values, with_values
from components.explainer.sensitivity import feature_grid, ice_curves, numeric_grid


def _linear(x):
    return 0.3 * x[:, 0] - 0.2 * x[:, 1] + 0.05 * x[:, 2:].sum(axis=1)


def test_the_pdp_of_a_model_linear_in_a_feature_is_a_line_with_its_slope():
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(50, 5)).astype(np.float32)
    grid = np.linspace(-2, 2, 9)[:, None]
    ice = ice_curves(_linear, dense, (0, 1), grid)
    assert ice.shape == (50, 9)
    # Every ICE curve has the feature's slope; they differ only by each example's other features.
    np.testing.assert_allclose(np.diff(ice, axis=1) / 0.5, 0.3, atol=1e-5)
    pdp = ice.mean(axis=0)
    slope, intercept = np.polyfit(grid[:, 0], pdp, 1)
    assert slope == pytest.approx(0.3, abs=1e-5)
    assert intercept == pytest.approx(float(np.mean(_linear(np.c_[np.zeros(50), dense[:, 1:]]))), abs=1e-5)


def test_ice_curves_are_the_model_at_each_grid_point_and_average_to_the_pdp():
    rng = np.random.default_rng(1)
    dense = rng.normal(size=(30, 6)).astype(np.float32)

    def model(x):  # non-linear, with an interaction between the one-hot block and column 0
        return 1 / (1 + np.exp(-(x[:, 0] * (1 + 2 * x[:, 2]) - x[:, 3] + x[:, 5] ** 2)))

    categories = np.eye(3)  # a categorical's one-hot block in columns 2..4
    ice = ice_curves(model, dense, (2, 5), categories)
    for g, block in enumerate(categories):
        changed = dense.copy()
        changed[:, 2:5] = block
        np.testing.assert_allclose(ice[:, g], model(changed), rtol=1e-6)
        assert ice.mean(axis=0)[g] == pytest.approx(model(changed).mean(), rel=1e-6)


def test_numeric_grids_span_the_observed_range_and_stay_whole_for_counts():
    assert numeric_grid(["4", "72", "12", ""], 5) == [4.0, 21.0, 38.0, 55.0, 72.0]
    assert numeric_grid(["1", "4", "2"], 20) == [1.0, 2.0, 3.0, 4.0]
    assert numeric_grid(["0.5", "1.5"], 3) == [0.5, 1.0, 1.5]
    categorical = {"kind": "categorical", "vocabulary": ["own", "rent", "free", "<OOV>"]}
    assert feature_grid(categorical, ["own"], 20) == ["own", "rent", "free"]


def test_with_values_changes_features_in_their_own_types():
    example = tf.train.Example()
    example.features.feature["age"].int64_list.value.append(30)
    example.features.feature["rate"].float_list.value.append(0.5)
    example.features.feature["housing"].bytes_list.value.append(b"own")
    changed = with_values(example.SerializeToString(), {"age": "41", "rate": 2.25, "housing": "rent"})
    assert raw_values([changed], ["age", "rate", "housing"]) == {"age": ["41"], "rate": ["2.25"],
                                                                 "housing": ["rent"]}
    with pytest.raises(KeyError, match="no feature 'income'"):
        with_values(changed, {"income": 1})


def test_a_missing_value_is_set_in_the_type_other_examples_give():
    # CsvExampleGen writes an empty cell as an empty feature, which has no type of its own.
    missing, present = tf.train.Example(), tf.train.Example()
    missing.features.feature["income"].Clear()
    present.features.feature["income"].float_list.value.append(1200.5)
    records = [missing.SerializeToString(), present.SerializeToString()]
    assert feature_kinds(records, ["income", "absent"]) == {"income": "float_list"}
    changed = with_values(records[0], {"income": 3000}, feature_kinds(records, ["income"]))
    assert tf.train.Example.FromString(changed).features.feature["income"].float_list.value == [3000.0]
    with pytest.raises(ValueError, match="'income' is missing in the example"):
        with_values(records[0], {"income": 3000})
