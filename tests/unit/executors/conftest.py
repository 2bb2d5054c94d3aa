"""The artifacts a pipeline run hands the Privacy, Explainer, ModelAudit and Monitor executors, made once per session
in its temporary folder, in seconds, from the first 300 rows of the embedded German-credit data (200 train, 100 eval).

Each step is the real executor or library where the pipeline runs one (pipeline/pipeline.py, pipeline/monitor.py):
  raw rows -> raw Examples (as ExampleGen writes them) -> Privacy -> deidentified Examples + PrivacyReport
  deidentified train split -> a logistic model exporting the explanation contract (builders.CreditModel)
  deidentified Examples -> TFDV statistics -> ExampleValidator (schemas/german_credit/schema.pbtxt) -> anomalies
  model + deidentified Examples -> Explainer -> Explanations: ModelAudit's, and the Monitor's training baseline
  the eval split, seen again as a monitored span -> its statistics and anomalies, BulkInferrer's PredictionLogs,
  and the Explainer with the monitoring pipeline's settings; and the same again for the eval split without its label,
  a span from production
"""

import pytest
from google.protobuf import json_format
from tfx.components.bulk_inferrer import executor as bulk_inferrer
from tfx.components.evaluator import constants as evaluator_constants
from tfx.components.example_validator import executor as example_validator
from tfx.proto import bulk_inferrer_pb2
from tfx.types import standard_artifacts

from components.artifacts import Explanations, PrivacyReport
from components.example_validator import executor as span_validator
from components.explainer import executor as explainer
from components.privacy import executor as privacy
from components.privacy.policy import read_policy
from pipeline.config import REPO_ROOT
from pipeline.monitor import SPAN_ENVIRONMENT
from tests.helpers import GERMAN_CREDIT_CSV
from tests.unit.executors.builders import (
    EXPLAINER_CONFIG,
    LABEL,
    MODEL_ID,
    SPAN_EXPLAINER_CONFIG,
    SPLIT_ROWS,
    artifact,
    copy_schema,
    explainer_properties,
    privacy_properties,
    save_credit_model,
    split_rows,
    write_statistics,
)
from tests.unit.privacy.helpers import DEFAULT_POLICY, read_csv, typed, write_splits


@pytest.fixture(scope="session")
def root(tmp_path_factory):
    """The pipeline root of this session's stand-in run: one folder per component, as TFX lays them out."""
    return tmp_path_factory.mktemp("executors")


@pytest.fixture(scope="session")
def raw_rows():
    """The embedded raw data's first rows, typed as CsvExampleGen types them."""
    return typed(read_csv(GERMAN_CREDIT_CSV))[:max(part.stop for part in SPLIT_ROWS.values())]


@pytest.fixture(scope="session")
def raw_examples(root, raw_rows):
    """ExampleGen's output: the raw rows, PII columns included, as gzipped tf.Examples per split."""
    write_splits({split: raw_rows[part] for split, part in SPLIT_ROWS.items()}, root / "raw_examples")
    return artifact(standard_artifacts.Examples, root / "raw_examples", list(SPLIT_ROWS))


@pytest.fixture(scope="session")
def privacy_run(root, raw_examples):
    """The Privacy executor on the raw examples with the default policy (its key: GLASSBOX_PSEUDONYM_KEY, which
    tests/conftest.py sets): the output dict it filled."""
    outputs = {"deidentified_examples": [artifact(standard_artifacts.Examples, root / "Privacy" / "examples")],
               "privacy_report": [artifact(PrivacyReport, root / "Privacy" / "privacy_report")]}
    privacy.Executor().Do({"examples": [raw_examples]}, outputs, privacy_properties(read_policy(DEFAULT_POLICY)))
    return outputs


@pytest.fixture(scope="session")
def examples(privacy_run):
    """The deidentified examples: what every step after Privacy reads (ModelAudit: the raw feature values of the
    explained split)."""
    return privacy_run["deidentified_examples"][0]


@pytest.fixture(scope="session")
def model(root, examples):
    """The Trainer's output: a Model artifact whose Format-Serving SavedModel honours the explanation contract.
    ModelAudit and the Monitor read only its MLMD id (and seal its files into their evidence)."""
    trained = artifact(standard_artifacts.Model, root / "Trainer" / "model", artifact_id=MODEL_ID)
    (root / "Trainer" / "model_run").mkdir(parents=True)
    save_credit_model(examples, trained, str(root / "Trainer" / "model_run"))
    return trained


@pytest.fixture(scope="session")
def schema(root):
    """ImportSchemaGen's output: the curated data contract of the deidentified German-credit data (ExampleValidator
    reads it; the Explainer, which takes it as an optional input, reads none of it; ModelAudit seals it)."""
    imported = artifact(standard_artifacts.Schema, root / "ImportSchemaGen" / "schema")
    copy_schema(REPO_ROOT / "schemas" / "german_credit" / "schema.pbtxt", imported)
    return imported


def _statistics(uri, examples, splits):
    """StatisticsGen's output: Split-<name>/FeatureStats.pb, computed by TFDV from the examples of each split."""
    statistics = artifact(standard_artifacts.ExampleStatistics, uri, splits)
    write_statistics(examples, statistics)
    return statistics


def _anomalies(uri, statistics, schema):
    """The real ExampleValidator executor's output on `statistics` against `schema`: Split-<name>/SchemaDiff.pb, the
    file ModelAudit and the Monitor count anomalies in."""
    anomalies = artifact(standard_artifacts.ExampleAnomalies, uri)
    example_validator.Executor().Do({"statistics": [statistics], "schema": [schema]}, {"anomalies": [anomalies]},
                                    {"exclude_splits": "[]"})
    return anomalies


def validate_span(uri, statistics, schema):
    """The monitoring pipeline's ExampleValidator (components/example_validator) on a span's statistics, in its
    environment."""
    anomalies = artifact(standard_artifacts.ExampleAnomalies, uri)
    span_validator.Executor().Do({"statistics": [statistics], "schema": [schema]}, {"anomalies": [anomalies]},
                                 {"exclude_splits": "[]", "environment": SPAN_ENVIRONMENT})
    return anomalies


def _inferred(uri, model, examples):
    """The real BulkInferrer executor's PredictionLogs (prediction_logs-*.gz, the Monitor's span scores) of the
    model's serving_default on the eval split; given no blessing, it infers with the model as is."""
    inferred = artifact(standard_artifacts.InferenceResult, uri)
    bulk_inferrer.Executor().Do(
        {"examples": [examples], "model": [model]}, {"inference_result": [inferred]},
        {"model_spec": json_format.MessageToJson(bulk_inferrer_pb2.ModelSpec()),
         "data_spec": json_format.MessageToJson(bulk_inferrer_pb2.DataSpec(example_splits=["eval"]))})
    return inferred


def _explained(uri, model, examples, schema, config):
    explained = artifact(Explanations, uri)
    explainer.Executor().Do({"model": [model], "examples": [examples], "schema": [schema]},
                            {"explanations": [explained]}, explainer_properties(config))
    return explained


@pytest.fixture(scope="session")
def statistics(root, examples):
    """The training run's statistics of the deidentified train and eval splits: ModelAudit reads both (drift between
    them), the Monitor the train split (its baseline)."""
    return _statistics(root / "StatisticsGen" / "statistics", examples, SPLIT_ROWS)


@pytest.fixture(scope="session")
def anomalies(root, statistics, schema):
    """The training run's anomalies of both splits against the data contract."""
    return _anomalies(root / "ExampleValidator" / "anomalies", statistics, schema)


@pytest.fixture(scope="session")
def explanations(root, model, examples, schema):
    """The Explainer executor's output on the eval split, against train-split background rows. ModelAudit reads its
    Parquet rows (scores, labels, slices), global.json, quality.json and plots; the Monitor its Parquet rows and
    global.json as the training baseline."""
    return _explained(root / "Explainer" / "explanations", model, examples, schema, EXPLAINER_CONFIG)


@pytest.fixture(scope="session")
def span_statistics(root, examples):
    """The monitored span's statistics: one split, as the monitoring pipeline's StatisticsGen makes them (here the
    eval split, seen again)."""
    return _statistics(root / "monitor" / "statistics", examples, ["eval"])


@pytest.fixture(scope="session")
def span_examples(root, examples):
    """The monitored span's examples: one split, as the monitoring pipeline's ExampleGen makes them (the eval split
    again)."""
    write_splits({"eval": split_rows(examples, "eval")}, root / "monitor" / "examples")
    return artifact(standard_artifacts.Examples, root / "monitor" / "examples", ["eval"])


@pytest.fixture(scope="session")
def span_anomalies(root, span_statistics, schema):
    """The span's anomalies against the training schema."""
    return validate_span(root / "monitor" / "anomalies", span_statistics, schema)


@pytest.fixture(scope="session")
def inference_result(root, model, examples):
    """BulkInferrer's scores of the span."""
    return _inferred(root / "monitor" / "inference_result", model, examples)


@pytest.fixture(scope="session")
def span_explanations(root, model, examples, schema):
    """The Explainer executor on the span with the monitoring pipeline's settings: the span's attributions."""
    return _explained(root / "monitor" / "explanations", model, examples, schema, SPAN_EXPLAINER_CONFIG)


@pytest.fixture(scope="session")
def unlabeled_span(root, model, examples, schema):
    """The eval split without its label, a span from production, through the same steps as the labelled span: its
    Examples, statistics, anomalies, BulkInferrer's scores and the Explainer's run, by input name of the Monitor."""
    folder = root / "unlabeled_span"
    write_splits({"eval": [{k: v for k, v in row.items() if k != LABEL} for row in split_rows(examples, "eval")]},
                 folder / "examples")
    unlabeled = artifact(standard_artifacts.Examples, folder / "examples", ["eval"])
    statistics = _statistics(folder / "statistics", unlabeled, ["eval"])
    return {"examples": unlabeled, "statistics": statistics,
            "anomalies": validate_span(folder / "anomalies", statistics, schema),
            "inference_result": _inferred(folder / "inference_result", model, unlabeled),
            "explanations": _explained(folder / "explanations", model, unlabeled, schema, SPAN_EXPLAINER_CONFIG)}


@pytest.fixture(scope="session")
def evaluation(root):
    """The Evaluator's ModelEvaluation, which ModelAudit only seals into its evidence (it reads no file of it), so
    no TFMA run: an empty folder."""
    evaluated = artifact(standard_artifacts.ModelEvaluation, root / "Evaluator" / "evaluation")
    (root / "Evaluator" / "evaluation").mkdir(parents=True)
    return evaluated


@pytest.fixture(scope="session")
def blessing(root):
    """The Evaluator's ModelBlessing as it writes a blessed one: the BLESSED file and the `blessed` property.
    ModelAudit, like `evaluation`, only seals it into its evidence."""
    blessed = artifact(standard_artifacts.ModelBlessing, root / "Evaluator" / "blessing")
    (root / "Evaluator" / "blessing").mkdir(parents=True)
    (root / "Evaluator" / "blessing" / evaluator_constants.BLESSED_FILE_NAME).touch()
    blessed.set_int_custom_property(evaluator_constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                    evaluator_constants.BLESSED_VALUE)
    return blessed
