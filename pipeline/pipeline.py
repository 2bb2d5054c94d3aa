"""The Glassbox DAG: the one place where components are wired."""

from __future__ import annotations

import json

import tensorflow_model_analysis as tfma
from tfx import v1 as tfx

from components.data_gate.component import DataGate
from pipeline.config import PipelineConfig
from pipeline.modules import preprocessing

# Rates per slice at the decision thresholds, as TFMA's Fairness Indicators computes them.
FAIRNESS_METRICS = (
    "TPR", "FPR", "FNR", "TNR", "Precision", "PredictedPositiveRate", "FalseDiscoveryRate", "FalseOmissionRate",
)

def _split_config(config: PipelineConfig) -> tfx.proto.Output:
    return tfx.proto.Output(
        split_config=tfx.proto.SplitConfig(
            splits=[
                tfx.proto.SplitConfig.Split(name=name, hash_buckets=buckets)
                for name, buckets in config.split_buckets.items()
            ]
        )
    )


def eval_config(config: PipelineConfig) -> tfma.EvalConfig:
    evaluation = config.evaluation
    auc_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": evaluation.auc_threshold}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -evaluation.max_auc_drop},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name="serving_default",
                label_key=config.label,
                # Adds slice keys computed by the Transform graph (the age band).
                preprocessing_function_names=["slice_features"],
            )
        ],
        slicing_specs=[tfma.SlicingSpec()]
        + [tfma.SlicingSpec(feature_keys=[feature]) for feature in evaluation.slice_features],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    # The blessing gate is on the overall slice; per-slice floors are the audit's job.
                    tfma.MetricConfig(
                        class_name="AUC",
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(slicing_specs=[tfma.SlicingSpec()], threshold=auc_threshold)
                        ],
                    ),
                    tfma.MetricConfig(class_name="BinaryAccuracy"),
                    tfma.MetricConfig(class_name="Calibration"),
                    tfma.MetricConfig(
                        class_name="CalibrationPlot",
                        config=json.dumps({"num_buckets": evaluation.calibration_bins}),
                    ),
                ]
                + [
                    # What Fairness Indicators reports, from TFMA's own confusion-matrix metrics:
                    # the fairness-indicators package needs tensorflow-hub >= 0.16.1, TFX 1.16 < 0.16.
                    tfma.MetricConfig(
                        class_name=name, config=json.dumps({"thresholds": evaluation.fairness_thresholds})
                    )
                    for name in FAIRNESS_METRICS
                ]
            )
        ],
    )


def create_pipeline(config: PipelineConfig) -> tfx.dsl.Pipeline:
    example_gen = tfx.components.CsvExampleGen(
        input_base=str(config.data_dir), output_config=_split_config(config)
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    if config.schema_file is not None:
        schema_gen = tfx.components.ImportSchemaGen(schema_file=str(config.schema_file))
    else:
        schema_gen = tfx.components.SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
        )
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    data_gate = DataGate(anomalies=example_validator.outputs["anomalies"])

    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        module_file=str(config.module_file_transform),
        # StatisticsGen already describes the data; Transform's own pre/post statistics
        # would double the Beam work of this step.
        disable_statistics=True,
        custom_config={
            preprocessing.LABEL_KEY: config.label,
            preprocessing.AGE_FEATURE_KEY: config.age_feature,
            preprocessing.AGE_BAND_EDGES_KEY: list(config.age_band_edges),
        },
    )
    transform.add_upstream_node(data_gate)

    training = config.training
    trainer = tfx.components.Trainer(
        module_file=str(config.module_file_trainer),
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=training.eval_steps),
        custom_config={"label": config.label, **training.model_dump()},
    )

    model_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")

    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"],
        eval_config=eval_config(config),
    )

    with tfx.dsl.Cond(evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1):
        pusher = tfx.components.Pusher(
            model=trainer.outputs["model"],
            push_destination=tfx.proto.PushDestination(
                filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(config.serving_dir))
            ),
        )

    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=str(config.pipeline_root),
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            data_gate,
            transform,
            trainer,
            model_resolver,
            evaluator,
            pusher,
        ],
        enable_cache=config.enable_cache,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(config.metadata_path)
        ),
        beam_pipeline_args=list(config.beam_args),
    )
