"""The Explainer's parameters are validated before any work, with the field named."""

import pytest

from components.explainer.config import ExplainerConfig, parse_config


def test_defaults_run_every_method_with_shapley_as_primary():
    config = ExplainerConfig()
    assert config.per_example_methods == ["integrated_gradients", "shapley", "lime"]
    assert config.primary_method == "shapley"
    assert ExplainerConfig(methods=["integrated_gradients"]).primary_method == "integrated_gradients"
    assert ExplainerConfig(methods=["lime", "shapley"]).primary_method == "shapley"


@pytest.mark.parametrize(
    "text, field",
    [
        ('{"methods": ["permutation_importance"]}', "methods"),
        ('{"methods": ["lime_image"]}', "methods.0"),
        ('{"lime_samples": 4}', "lime_samples"),
        ('{"background_size": 0}', "background_size"),
        ('{"baseline": "zeros"}', "baseline"),
        ('{"decision_threshold": 1.5}', "decision_threshold"),
        ('{"backgorund_size": 10}', "backgorund_size"),
    ],
)
def test_bad_parameters_name_the_field(text, field):
    with pytest.raises(ValueError, match=f"field '{field}'"):
        parse_config(text)
