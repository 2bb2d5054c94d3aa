"""TFMA pieces the tabular and the image evaluation share: the slices, and the metric that blesses a model."""

from __future__ import annotations

from typing import List

import tensorflow_model_analysis as tfma

from pipeline.config import EvaluationConfig


def slicing_specs(evaluation: EvaluationConfig) -> List[tfma.SlicingSpec]:
    """Overall, then one slice per configured feature."""
    return [tfma.SlicingSpec()] + [tfma.SlicingSpec(feature_keys=[feature]) for feature in evaluation.slice_features]


def blessing_metric(class_name: str, lower_bound: float, max_drop: float) -> tfma.MetricConfig:
    """The metric the Evaluator blesses on: at least `lower_bound` on the overall slice, and no drop beyond
    `max_drop` against the latest blessed model. Per-slice floors are the audit's job."""
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -max_drop}
        ),
    )
    return tfma.MetricConfig(
        class_name=class_name,
        per_slice_thresholds=[tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)],
    )
