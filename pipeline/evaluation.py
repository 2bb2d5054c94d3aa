"""TFMA pieces the tabular and the image evaluation share: the slices, and the metric that blesses a model."""

from __future__ import annotations

from typing import List

# The config protos from their module: TFMA 0.52 no longer re-exports them at the top (0.47 did; both have this).
from tensorflow_model_analysis.proto import config_pb2 as tfma_config

from pipeline.config import EvaluationConfig


def slicing_specs(evaluation: EvaluationConfig) -> List[tfma_config.SlicingSpec]:
    """Overall, then one slice per configured feature."""
    return [tfma_config.SlicingSpec()] + [
        tfma_config.SlicingSpec(feature_keys=[feature]) for feature in evaluation.slice_features
    ]


def blessing_metric(class_name: str, lower_bound: float, max_drop: float) -> tfma_config.MetricConfig:
    """The metric the Evaluator blesses on: at least `lower_bound` on the overall slice, and no drop beyond
    `max_drop` against the latest blessed model. Per-slice floors are the audit's job."""
    threshold = tfma_config.MetricThreshold(
        value_threshold=tfma_config.GenericValueThreshold(lower_bound={"value": lower_bound}),
        change_threshold=tfma_config.GenericChangeThreshold(
            direction=tfma_config.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -max_drop}
        ),
    )
    return tfma_config.MetricConfig(
        class_name=class_name,
        per_slice_thresholds=[
            tfma_config.PerSliceMetricThreshold(slicing_specs=[tfma_config.SlicingSpec()], threshold=threshold)
        ],
    )
