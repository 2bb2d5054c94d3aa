"""The monitoring pipeline's ExampleValidator: a span without the label is validated in the schema's SERVING
environment, where the German-credit contract expects no `risk`, while TFX's own executor reports the label missing; a
labelled span is validated in every feature, its labels included; a span whose label only some examples carry (decisions
with the outcomes that arrived) is validated in SERVING."""

import os

import pandas as pd
import pytest
import tensorflow_data_validation as tfdv
from tfx.components.example_validator import executor as example_validator
from tfx.types import standard_artifacts

from components.data_gate.component import contract_violations
from components.example_validator.executor import outcomes_set_aside, validation_environment
from components.schema_import.component import load_schema
from pipeline.config import REPO_ROOT
from pipeline.monitor import SPAN_ENVIRONMENT
from tests.unit.executors.builders import LABEL, artifact, split_rows
from tests.unit.executors.conftest import validate_span

# The session's chain of executor outputs (conftest.py) is made once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("executors")

SCHEMA = load_schema(REPO_ROOT / "schemas" / "german_credit" / "schema.pbtxt")


def _violations(anomalies):
    return contract_violations(anomalies.uri, anomalies.split_names)


def test_a_span_without_labels_is_valid_in_serving_where_tfxs_validator_reports_the_label_missing(
        unlabeled_span, schema, tmp_path):
    assert _violations(unlabeled_span["anomalies"]) == []
    tfxs = artifact(standard_artifacts.ExampleAnomalies, tmp_path / "anomalies")
    example_validator.Executor().Do({"statistics": [unlabeled_span["statistics"]], "schema": [schema]},
                                    {"anomalies": [tfxs]}, {"exclude_splits": "[]"})
    assert _violations(tfxs) == [f"split 'eval': {LABEL} [SCHEMA_MISSING_COLUMN]: Column is completely missing"]


def test_a_labelled_span_has_its_labels_checked(span_anomalies, examples, schema, tmp_path):
    assert _violations(span_anomalies) == []
    rows = pd.DataFrame(split_rows(examples, "eval")).assign(**{LABEL: 2})  # outside the contract's 0..1
    statistics = _statistics_artifact(rows, tmp_path / "statistics")
    (violation,) = _violations(validate_span(tmp_path / "anomalies", statistics, schema))
    assert violation.startswith(f"split 'eval': {LABEL} [")


def _statistics_artifact(rows: pd.DataFrame, folder):
    statistics = artifact(standard_artifacts.ExampleStatistics, folder, ["eval"])
    os.makedirs(folder / "Split-eval")
    with open(folder / "Split-eval" / "FeatureStats.pb", "wb") as f:
        f.write(tfdv.generate_statistics_from_dataframe(rows).SerializeToString())
    return statistics


def test_a_span_labelled_in_part_is_validated_in_serving_and_its_other_features_still_checked(
        examples, schema, tmp_path):
    rows = pd.DataFrame(split_rows(examples, "eval"))
    partly = rows.assign(**{LABEL: rows[LABEL].astype("Int64").where(rows.index % 3 == 0)})
    assert _violations(validate_span(tmp_path / "partly", _statistics_artifact(partly, tmp_path / "s1"), schema)) == []
    broken = partly.assign(age=-5)  # outside the contract: still reported
    (violation,) = _violations(validate_span(tmp_path / "broken", _statistics_artifact(broken, tmp_path / "s2"),
                                             schema))
    assert violation.startswith("split 'eval': age [")
    # labelled throughout: the label stays and is checked in every feature
    full = tfdv.generate_statistics_from_dataframe(rows)
    assert outcomes_set_aside(SCHEMA, full, SPAN_ENVIRONMENT) == full


def test_the_environment_is_the_one_the_statistics_fit():
    unlabeled = tfdv.generate_statistics_from_dataframe(pd.DataFrame({"age": [30, 40], "sex": ["male", "female"]}))
    labelled = tfdv.generate_statistics_from_dataframe(pd.DataFrame({"age": [30, 40], LABEL: [0, 1]}))
    assert validation_environment(SCHEMA, unlabeled, SPAN_ENVIRONMENT) == "SERVING"
    assert validation_environment(SCHEMA, labelled, SPAN_ENVIRONMENT) is None
    # A schema without environments (SchemaGen's inferred one): every feature, as TFX's ExampleValidator.
    inferred = type(SCHEMA)()
    inferred.CopyFrom(SCHEMA)
    del inferred.default_environment[:]
    assert validation_environment(inferred, unlabeled, SPAN_ENVIRONMENT) is None
