"""What the pipeline wires differently for an image classifier (`image:` in the config)."""

from __future__ import annotations

# The config protos from their module: TFMA 0.52 no longer re-exports them at the top (0.47 did; both have this).
from tensorflow_model_analysis.proto import config_pb2 as tfma_config

from pipeline.config import PipelineConfig
from pipeline.evaluation import blessing_metric, slicing_specs
from pipeline.modules import image_preprocessing

ACCURACY = "sparse_categorical_accuracy"


def transform_config(config: PipelineConfig) -> dict:
    return {image_preprocessing.LABEL_KEY: config.label, image_preprocessing.IMAGE_FEATURE_KEY: config.image.feature}


def image_eval_config(config: PipelineConfig) -> tfma_config.EvalConfig:
    """Accuracy overall and per slice (per class when the label is a slice feature), the confusion matrix; the
    model is blessed on overall accuracy and no drop beyond the allowed one against the latest blessed model."""
    evaluation = config.evaluation
    return tfma_config.EvalConfig(
        model_specs=[tfma_config.ModelSpec(signature_name="serving_default", label_key=config.label)],
        slicing_specs=slicing_specs(evaluation),
        metrics_specs=[
            tfma_config.MetricsSpec(
                metrics=[
                    tfma_config.MetricConfig(class_name="ExampleCount"),
                    blessing_metric("SparseCategoricalAccuracy", evaluation.accuracy_threshold,
                                    evaluation.max_accuracy_drop),
                    tfma_config.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                ]
            )
        ],
    )
