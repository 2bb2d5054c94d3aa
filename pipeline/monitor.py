"""The monitoring pipeline: a new span of data through the training pipeline's first steps, the pushed model's
predictions and explanations on it, and a Monitor that compares all of it with the model's training.

The watched model and its training-time statistics, schema and explanations enter through Importers with
`reimport=False`: TFX then reuses the artifact already registered at that URI (tfx/dsl/components/common/importer.py,
`_prepare_artifact`), so the Monitor's inputs are the training run's own MLMD artifacts, and lineage leads from the
model to every monitoring run that watched it.
"""

from __future__ import annotations

from tfx.components import BulkInferrer, ImportExampleGen, StatisticsGen
from tfx.dsl.components.common.importer import Importer
from tfx.orchestration.pipeline import Pipeline
from tfx.proto import example_gen_pb2
from tfx.types import standard_artifacts

from components.artifacts import Explanations
from components.example_validator.component import ExampleValidator
from components.explainer.component import Explainer
from components.monitor.component import Monitor
from pipeline import metadata
from pipeline.config import MonitorBaseline, PipelineConfig
from pipeline.pipeline import ingest, with_code_digest
from pipeline.serving.decision_span import SPAN_FILE

SPAN_SPLIT = "span"
# The schema environment of a span: production data, which may come without the label (the German-credit schema
# keeps `risk` out of SERVING). Without it, Privacy skips l-diversity and ExampleValidator expects no label; a span
# with the label is checked as training data is.
SPAN_ENVIRONMENT = "SERVING"
IMPORTED_TYPES = {"model_uri": standard_artifacts.Model, "statistics_uri": standard_artifacts.ExampleStatistics,
                  "schema_uri": standard_artifacts.Schema, "explanations_uri": Explanations}


def create_monitor_pipeline(config: PipelineConfig, data_dir: str, baseline: MonitorBaseline,
                            for_kubeflow: bool = False, decisions: bool = False) -> Pipeline:
    """The monitoring DAG of the span in `data_dir` against `baseline` (one split, all of it, named 'span');
    `for_kubeflow` puts its artifacts under `config.kubeflow.pipeline_root`. `decisions`: the span is a window of the
    decision record (pipeline/serving/decision_span.py), de-identified when it was decided, every decision explained
    as the service explained it; else the span's files as the training data came, through ExampleGen and Privacy."""
    imported = {field: Importer(source_uri=getattr(baseline, field), artifact_type=artifact_type,
                                reimport=False).with_id(f"{field[:-len('_uri')]}_importer")
                for field, artifact_type in IMPORTED_TYPES.items()}
    model, schema = imported["model_uri"].outputs["result"], imported["schema_uri"].outputs["result"]
    one_split = example_gen_pb2.Output(split_config=example_gen_pb2.SplitConfig(
        splits=[example_gen_pb2.SplitConfig.Split(name=SPAN_SPLIT, hash_buckets=1)]))
    if decisions:
        example_gen, privacy = ImportExampleGen(
            input_base=data_dir,
            input_config=example_gen_pb2.Input(splits=[example_gen_pb2.Input.Split(name="decisions",
                                                                                    pattern=SPAN_FILE)]),
            output_config=one_split), None
    else:
        example_gen, privacy = ingest(config, data_dir, one_split, environment=SPAN_ENVIRONMENT)
    examples = privacy.outputs["deidentified_examples"] if privacy else example_gen.outputs["examples"]
    statistics_gen = StatisticsGen(examples=examples)
    example_validator = ExampleValidator(statistics=statistics_gen.outputs["statistics"], schema=schema,
                                         environment=SPAN_ENVIRONMENT)
    bulk_inferrer = BulkInferrer(examples=examples, model=model)
    explained = config.explainer
    explainer = Explainer(
        model=model, examples=examples, schema=schema,
        # The span's attributions with the training's method against the training's background rows, as the decision
        # service explains each decision: a change in attributions is the span's, not a new reference's. A window of
        # decisions is explained whole, so its figures are the live monitor's; no partial dependence curves.
        background=imported["explanations_uri"].outputs["result"],
        config=explained.model_copy(update={
            "methods": [explained.primary_method], "split": SPAN_SPLIT,
            "max_examples": 0 if decisions else config.monitor.explain_examples,
            "quality_examples": config.monitor.quality_examples, "sensitivity_features": 0,
            # The methods' ground truth is the training run's to measure, not a span's.
            "ground_truth_examples": 0}))
    monitor = Monitor(
        model=model, baseline_statistics=imported["statistics_uri"].outputs["result"],
        baseline_explanations=imported["explanations_uri"].outputs["result"],
        examples=examples, anomalies=example_validator.outputs["anomalies"],
        inference_result=bulk_inferrer.outputs["inference_result"], explanations=explainer.outputs["explanations"],
        policy_file=str(config.monitor.policy), audit_policy_file=str(config.audit_policy or ""),
        decision_threshold=explained.decision_threshold,
    )
    return Pipeline(
        pipeline_name=config.monitor_pipeline_name,
        pipeline_root=config.kubeflow.pipeline_root if for_kubeflow else str(config.pipeline_root),
        components=with_code_digest([*imported.values(), example_gen, *([privacy] if privacy else []),
                                     statistics_gen, example_validator, bulk_inferrer, explainer, monitor],
                                    for_kubeflow),
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata.connection_config(config),
        beam_pipeline_args=config.beam_pipeline_args_for(data_dir),
    )


def scheduled_monitor_pipeline(config: PipelineConfig, for_kubeflow: bool = False) -> Pipeline:
    """The monitoring pipeline that an orchestrator runs on a schedule: span and baseline from `config.monitor`."""
    monitor = config.monitor
    missing = [name for name in ("data_dir", "baseline") if getattr(monitor, name) is None]
    if missing:
        raise ValueError(f"A compiled monitoring pipeline needs monitor.{' and monitor.'.join(missing)} in the "
                         "config (README, \"Monitoring\"): it is built before any run, so it cannot look them up.")
    return create_monitor_pipeline(config, monitor.data_dir, monitor.baseline, for_kubeflow=for_kubeflow)
