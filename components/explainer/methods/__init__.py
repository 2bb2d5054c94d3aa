"""Attribution methods, one module each, all on the dense model input with raw features as column blocks."""

from components.explainer.methods.blocks import Blocks, column_owners, sum_blocks
from components.explainer.methods.integrated_gradients import IntegratedGradients, attribute_integrated_gradients
from components.explainer.methods.lime import LimeExplanations, lime
from components.explainer.methods.permutation_importance import (
    MetricDrop,
    PermutationImportance,
    permutation_importance,
)
from components.explainer.methods.shapley import SampledShapleyValues, ShapleyValues, exact_shapley, sampled_shapley

__all__ = [
    "Blocks",
    "IntegratedGradients",
    "LimeExplanations",
    "MetricDrop",
    "PermutationImportance",
    "SampledShapleyValues",
    "ShapleyValues",
    "attribute_integrated_gradients",
    "column_owners",
    "exact_shapley",
    "lime",
    "permutation_importance",
    "sampled_shapley",
    "sum_blocks",
]
