"""What the pipeline wires differently for an image classifier (`image:` in the config)."""

from __future__ import annotations

import tensorflow_model_analysis as tfma

from pipeline.config import PipelineConfig
from pipeline.modules import image_preprocessing

ACCURACY = "sparse_categorical_accuracy"


def transform_config(config: PipelineConfig) -> dict:
    return {image_preprocessing.LABEL_KEY: config.label, image_preprocessing.IMAGE_FEATURE_KEY: config.image.feature}


def image_eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    """Accuracy overall and per slice (per class when the label is a slice feature), the confusion matrix; the
    model is blessed on overall accuracy and no drop beyond the allowed one against the latest blessed model."""
    evaluation = config.evaluation
    threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": evaluation.accuracy_threshold}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER, absolute={"value": -evaluation.max_accuracy_drop}
        ),
    )
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name="serving_default", label_key=config.label)],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[feature]) for feature in evaluation.slice_features],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    tfma.MetricConfig(
                        class_name="SparseCategoricalAccuracy",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=threshold)
                        ],
                    ),
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            )
        ],
    )
