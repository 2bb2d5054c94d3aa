"""Headline figures onto an artifact: each value as an MLMD custom property of its own type."""

import math

import numpy as np
import pytest

from components.artifacts import Explanations, set_properties


def test_each_property_is_set_in_its_type_and_none_is_left_unset():
    artifact = Explanations()
    set_properties(artifact, {"method": "shapley", "examples": 200, "held_out": np.int64(7), "passed": True,
                              "median": 0.25, "share": np.float32(0.5), "accuracy": float("nan"), "auc": None})

    properties = artifact.mlmd_artifact.custom_properties
    assert sorted(properties) == ["accuracy", "examples", "held_out", "median", "method", "passed", "share"]
    assert artifact.get_string_custom_property("method") == "shapley"
    assert [properties[name].WhichOneof("value") for name in ("examples", "held_out", "passed")] == ["int_value"] * 3
    assert (artifact.get_int_custom_property("examples"), artifact.get_int_custom_property("held_out"),
            artifact.get_int_custom_property("passed")) == (200, 7, 1)
    assert [properties[name].WhichOneof("value") for name in ("median", "share", "accuracy")] == ["double_value"] * 3
    assert (artifact.get_float_custom_property("median"), artifact.get_float_custom_property("share")) == (0.25, 0.5)
    assert math.isnan(artifact.get_float_custom_property("accuracy"))


def test_a_value_mlmd_cannot_hold_fails_with_its_name():
    with pytest.raises(TypeError, match="property 'features' is a list"):
        set_properties(Explanations(), {"features": ["age", "sex"]})
