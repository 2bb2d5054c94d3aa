"""The Glassbox DAG: the one place where components are wired."""

from __future__ import annotations

import json
from pathlib import Path

# The config protos from their module: TFMA 0.52 no longer re-exports them at the top (0.47 did; both have this).
from tensorflow_model_analysis.proto import config_pb2 as tfma_config

# TFX's classes from their modules, not from `tfx.v1`: importing that also imports its Google Cloud extensions
# (google.cloud.aiplatform), about a quarter of the time `from tfx import v1` takes, in every process that builds
# or runs the pipeline.
from tfx.components import (
    ExampleValidator,
    ImportExampleGen,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from tfx.dsl.components.base import executor_spec
from tfx.dsl.components.base.base_component import BaseComponent
from tfx.dsl.components.common.resolver import Resolver
from tfx.dsl.experimental.conditionals.conditional import Cond
from tfx.dsl.input_resolution.strategies.latest_artifact_strategy import LatestArtifactStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import LatestBlessedModelStrategy
from tfx.dsl.placeholder import placeholder as ph
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2, pusher_pb2, trainer_pb2
from tfx.types import standard_artifacts
from tfx.types.channel import Channel

from components.artifacts import AuditReport
from components.code import CODE_DIGEST, components_digest
from components.csv_example_gen.component import CsvExampleGen
from components.data_gate.component import DataGate
from components.evaluator.component import Evaluator
from components.explainer.component import Explainer
from components.model_audit.baseline import LatestAuditStrategy
from components.model_audit.component import ModelAudit
from components.privacy.component import Privacy
from components.schema_import.component import SchemaImport
from components.trainer import executor as trainer_executor
from pipeline import image, metadata
from pipeline.config import PipelineConfig
from pipeline.evaluation import blessing_metric, slicing_specs
from pipeline.modules import CODE_DIGEST_KEY, code_digest, devices, preprocessing

# Rates per slice at the decision thresholds, as TFMA's Fairness Indicators computes them.
FAIRNESS_METRICS = (
    "TPR", "FPR", "FNR", "TNR", "Precision", "PredictedPositiveRate", "FalseDiscoveryRate", "FalseOmissionRate",
)
EXAMPLE_GENS = {"csv": CsvExampleGen, "tfrecord": ImportExampleGen}


def split_config(config: PipelineConfig) -> example_gen_pb2.Output:
    return example_gen_pb2.Output(
        split_config=example_gen_pb2.SplitConfig(
            splits=[
                example_gen_pb2.SplitConfig.Split(name=name, hash_buckets=buckets)
                for name, buckets in config.split_buckets.items()
            ]
        )
    )


def transform_custom_config(config: PipelineConfig) -> dict:
    """What the Transform module reads besides its inputs: the label and its positive value, the non-features, the
    banded slices."""
    return image.transform_config(config) if config.image else {
        preprocessing.LABEL_KEY: config.label,
        preprocessing.POSITIVE_LABEL_KEY: config.positive_label,
        preprocessing.NON_FEATURES_KEY: list(config.non_features),
        preprocessing.BAND_FEATURES_KEY: dict(config.band_features),
    }


def trainer_custom_config(config: PipelineConfig, for_kubeflow: bool = False, kind: str | None = None) -> dict:
    """What the Trainer module reads: the label, the columns that are no features, and the training settings of the
    model kind it trains (`kind`, default training.model): a scorecard's or rule list's settings only for that kind,
    so that editing them reruns that Trainer and no other. For Kubeflow, an accelerator of the Trainer's machine with
    training.devices auto asks for its kind of device (and `devices_asked_by` names it), so that an image whose
    TensorFlow cannot use it fails rather than training on the CPU."""
    kind = kind or config.training.model
    training = config.training.model_dump(exclude={"challengers", *({"scorecard", "rules"} - {kind})})
    training["model"] = kind
    if for_kubeflow:
        accelerator = config.kubeflow.trainer_accelerator
        wanted, asked_by = devices.kubeflow_devices(training["devices"], accelerator)
        conflict = devices.devices_conflict(wanted, strategy=training["strategy"],
                                            tpu_address=training["tpu_address"], asked_by=asked_by)
        if conflict:
            raise ValueError(conflict)
        if asked_by != devices.ASKED_BY:
            training.update(devices=wanted, devices_asked_by=asked_by)
    return {"label": config.label, "non_features": list(config.non_features), **training,
            **({"image": config.image.model_dump(exclude={"explainer"})} if config.image else {})}


def user_code(own_module: Path | None, module: Path, function: str, custom_config: dict, for_kubeflow: bool) -> dict:
    """The parameters of Transform or Trainer that say where their code is, and their custom_config. Glassbox's own
    modules (pipeline/modules) are imported from the installed project, as in a Kubeflow image, rather than given as
    module files: TFX packages a module file's folder into a wheel at every run, then pip-installs it into a
    temporary folder in each step that loads it, three times in Transform and once in Trainer (about 10 s of the
    default run; bench/README.md). So that a cached step still reruns when that code changes, its custom_config
    carries the folder's digest (the files TFX hashes into a wheel's version), except on Kubeflow, where the image,
    not the compiling machine, holds the code. A module file of the user's own (`own_module`: transform_module,
    trainer_module) is packaged by TFX as before."""
    if own_module:
        return {"module_file": str(own_module), "custom_config": custom_config}
    digest = {} if for_kubeflow else {CODE_DIGEST_KEY: code_digest()}
    return {function: f"pipeline.modules.{module.stem}.{function}", "custom_config": {**custom_config, **digest}}


def latest_blessed_model_resolver() -> Resolver:
    """The Evaluator's baseline: the latest model the Evaluator blessed."""
    return Resolver(
        strategy_class=LatestBlessedModelStrategy,
        model=Channel(type=standard_artifacts.Model),
        model_blessing=Channel(type=standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")


def eval_config(config: PipelineConfig) -> tfma_config.EvalConfig:
    evaluation = config.evaluation
    return tfma_config.EvalConfig(
        model_specs=[
            tfma_config.ModelSpec(
                signature_name="serving_default",
                label_key=config.label,
                # Adds slice keys computed by the Transform graph (the bands), and the label as 0/1: transformed
                # features take precedence over raw ones in TFMA, so a text label such as "approved" is read as 1.
                preprocessing_function_names=["slice_features", "binary_label"],
            )
        ],
        slicing_specs=slicing_specs(evaluation),
        metrics_specs=[
            tfma_config.MetricsSpec(
                metrics=[
                    tfma_config.MetricConfig(class_name="ExampleCount"),
                    blessing_metric("AUC", evaluation.auc_threshold, evaluation.max_auc_drop),
                    tfma_config.MetricConfig(class_name="BinaryAccuracy"),
                    tfma_config.MetricConfig(class_name="Calibration"),
                    tfma_config.MetricConfig(
                        class_name="CalibrationPlot",
                        config=json.dumps({"num_buckets": evaluation.calibration_bins}),
                    ),
                ]
                + [
                    # What Fairness Indicators reports, from TFMA's own confusion-matrix metrics:
                    # the fairness-indicators package needs tensorflow-hub >= 0.16.1, TFX 1.16 < 0.16.
                    tfma_config.MetricConfig(
                        class_name=name, config=json.dumps({"thresholds": evaluation.fairness_thresholds})
                    )
                    for name in FAIRNESS_METRICS
                ]
            )
        ],
    )


def with_code_digest(components: list, for_kubeflow: bool) -> list:
    """`components`, with the digest of Glassbox's component code in the execution parameters of those that take it
    (components/code.py), except on Kubeflow, where the image holds the code."""
    if not for_kubeflow:
        digest = components_digest()
        for component in components:
            if isinstance(component, BaseComponent) and CODE_DIGEST in component.spec.PARAMETERS:
                component.exec_properties[CODE_DIGEST] = digest
    return components


def ingest(config: PipelineConfig, input_base: str, output_config: example_gen_pb2.Output,
           environment: str = "TRAINING"):
    """ExampleGen and, when the config has a privacy policy, the Privacy step after it (else None), for data from
    `environment` (TRAINING, or SERVING: a monitored span, which may come without labels)."""
    example_gen = EXAMPLE_GENS[config.data_format](input_base=input_base, output_config=output_config)
    if config.privacy_policy is None:
        return example_gen, None
    return example_gen, Privacy(examples=example_gen.outputs["examples"], policy_file=str(config.privacy_policy),
                                environment=environment)


def create_pipeline(config: PipelineConfig, *, for_kubeflow: bool = False) -> Pipeline:
    """The Glassbox DAG. `for_kubeflow` builds it for containers on Kubeflow / Vertex AI Pipelines:
    storage from `config.kubeflow`, user code imported from the installed project rather than
    packaged from module files, and resolvers that a KFP backend runs as metadata queries."""
    kubeflow = config.kubeflow if for_kubeflow else None
    data_dir = (kubeflow and kubeflow.data_dir) or str(config.data_dir)
    example_gen, privacy = ingest(config, data_dir, split_config(config))
    examples = privacy.outputs["deidentified_examples"] if privacy else example_gen.outputs["examples"]
    statistics_gen = StatisticsGen(examples=examples)
    if config.schema_file is not None:
        # Under ImportSchemaGen's node id, which lineage readers (records/) look for in older runs too.
        schema_gen = SchemaImport(schema_file=config.schema_file).with_id("ImportSchemaGen")
    else:
        schema_gen = SchemaGen(
            statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True
        )
    example_validator = ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"]
    )
    data_gate = DataGate(anomalies=example_validator.outputs["anomalies"])

    if kubeflow and (config.transform_module or config.trainer_module):
        raise ValueError("transform_module and trainer_module apply to local and Airflow runs; on Kubeflow the "
                         "image imports pipeline.modules, so add your module there")
    transform = Transform(
        examples=examples,
        schema=schema_gen.outputs["schema"],
        **user_code(config.transform_module, config.module_file_transform, "preprocessing_fn",
                    transform_custom_config(config), bool(kubeflow)),
        # StatisticsGen already describes the data; Transform's own pre/post statistics
        # would double the Beam work of this step.
        disable_statistics=True,
    )
    transform.add_upstream_node(data_gate)

    model_resolver = latest_blessed_model_resolver()
    audit_resolver = None
    if config.audit_policy is not None:
        audit_resolver = Resolver(
            # KFP compiles only TFX's own strategies into its metadata queries; there, no artifact yet
            # resolves to none, where TFX's local LatestArtifactStrategy fails the first run.
            strategy_class=LatestArtifactStrategy if kubeflow else LatestAuditStrategy,
            baseline_audit=Channel(type=AuditReport),
        ).with_id("latest_audit_resolver")

    def model_nodes(kind: str | None, suffix: str = "", **interpretable) -> list:
        """Trainer, Explainer, Evaluator and (with a policy) ModelAudit of one model; `kind` overrides
        training.model, `suffix` the node ids (a challenger's), `interpretable` the audit's interpretable_* inputs."""
        training = config.training
        trainer = Trainer(
            **user_code(config.trainer_module, config.module_file_trainer, "run_fn",
                        trainer_custom_config(config, for_kubeflow=bool(kubeflow), kind=kind), bool(kubeflow)),
            examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            schema=schema_gen.outputs["schema"],
            train_args=trainer_pb2.TrainArgs(num_steps=training.train_steps),
            eval_args=trainer_pb2.EvalArgs(num_steps=training.eval_steps),
            # TFX's GenericExecutor, then the training record's devices and strategy as the model's MLMD properties.
            custom_executor_spec=executor_spec.ExecutorClassSpec(trainer_executor.Executor),
        ).with_id(f"Trainer{suffix}")
        explainer = Explainer(
            model=trainer.outputs["model"],
            examples=examples,
            schema=schema_gen.outputs["schema"],
            config=config.image.explainer if config.image else config.explainer,
        ).with_id(f"Explainer{suffix}")
        evaluator = Evaluator(
            examples=examples,
            model=trainer.outputs["model"],
            baseline_model=model_resolver.outputs["model"],
            eval_config=image.image_eval_config(config) if config.image else eval_config(config),
        ).with_id(f"Evaluator{suffix}")
        if audit_resolver is None:
            return [trainer, explainer, evaluator]
        model_audit = ModelAudit(
            model=trainer.outputs["model"],
            examples=examples,
            evaluation=evaluator.outputs["evaluation"],
            blessing=evaluator.outputs["blessing"],
            explanations=explainer.outputs["explanations"],
            statistics=statistics_gen.outputs["statistics"],
            anomalies=example_validator.outputs["anomalies"],
            schema=schema_gen.outputs["schema"],
            privacy_report=privacy.outputs["privacy_report"] if privacy else None,
            baseline_audit=audit_resolver.outputs["baseline_audit"],
            transformed_examples=transform.outputs["transformed_examples"],
            transform_graph=transform.outputs["transform_graph"],
            policy_file=str(config.audit_policy),
            model_card_file=str(config.model_card),
            decision_threshold=config.explainer.decision_threshold,
            **interpretable,
        ).with_id(f"ModelAudit{suffix}")
        return [trainer, explainer, evaluator, model_audit]

    def pusher(model, suffix: str = "") -> Pusher:
        return Pusher(
            model=model,
            push_destination=pusher_pb2.PushDestination(
                filesystem=pusher_pb2.PushDestination.Filesystem(
                    base_directory=kubeflow.serving_dir if kubeflow else str(config.serving_dir)
                )
            ),
        ).with_id(f"Pusher{suffix}")

    # Interpretable challengers: each trained, explained, evaluated and audited like the model itself; the model's
    # audit then says which of the two ships (components/model_audit/preference.py).
    challenger_nodes = [model_nodes(kind, f"_{kind}") for kind in config.training.challengers]
    interpretable = {}
    if challenger_nodes:
        trained, _, evaluated, audited = challenger_nodes[0]
        interpretable = dict(interpretable_model=trained.outputs["model"],
                             interpretable_blessing=evaluated.outputs["blessing"],
                             interpretable_audit=audited.outputs["audit_report"])
    main_nodes = model_nodes(None, **interpretable)
    trainer, evaluator = main_nodes[0], main_nodes[2]

    push_condition = evaluator.outputs["blessing"].future()[0].custom_property("blessed") == 1
    pushers = []
    if audit_resolver is not None:
        report = main_nodes[3].outputs["audit_report"].future()[0]
        push_condition = ph.logical_and(push_condition, report.custom_property("verdict") == "pass")
        if challenger_nodes:  # the audit may give the push to the interpretable model
            push_condition = ph.logical_and(push_condition, report.custom_property("ships") == "candidate")
        for kind, (trained, *_) in zip(config.training.challengers, challenger_nodes):
            # The audit names the interpretable model only once it was blessed and passed its own audit.
            with Cond(report.custom_property("ships") == "interpretable"):
                pushers.append(pusher(trained.outputs["model"], f"_{kind}"))

    # Only a blessed and audited model ships.
    with Cond(push_condition):
        pushers.insert(0, pusher(trainer.outputs["model"]))

    return Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=kubeflow.pipeline_root if kubeflow else str(config.pipeline_root),
        components=with_code_digest([
            example_gen,
            *([privacy] if privacy else []),
            statistics_gen,
            schema_gen,
            example_validator,
            data_gate,
            transform,
            model_resolver,
            *([audit_resolver] if audit_resolver else []),
            *(node for nodes in challenger_nodes for node in nodes),
            *main_nodes,
            *pushers,
        ], for_kubeflow),
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata.connection_config(config),
        beam_pipeline_args=config.beam_pipeline_args_for(data_dir),
    )
