"""ExampleValidator executor: TFX's, with `_Validate` (TFX's extension point) passing TFDV the environment that
each split's statistics fit."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import tensorflow_data_validation as tfdv
from absl import logging
from tensorflow_metadata.proto.v0 import anomalies_pb2, schema_pb2, statistics_pb2
from tfx.components.example_validator import executor as tfx_executor
from tfx.components.example_validator import labels
from tfx.components.util import value_utils
from tfx.types import standard_component_specs as keys
from tfx.utils import writer_utils

from components.example_validator.environments import in_environment


def validation_environment(schema: schema_pb2.Schema, statistics: statistics_pb2.DatasetFeatureStatisticsList,
                           environment: str) -> str | None:
    """`environment` when the statistics hold none of the features the schema keeps out of it; else None, in which
    TFDV validates every feature, as TFX's ExampleValidator always does. A schema that declares no such environment
    (SchemaGen's inferred one) is validated in every feature too."""
    if environment not in schema.default_environment:
        return None
    present = {_name(f) for dataset in statistics.datasets for f in dataset.features}
    outside = {f.name for f in schema.feature if not in_environment(f, environment, schema)}
    return None if present & outside else environment


def _name(feature: statistics_pb2.FeatureNameStatistics) -> str:
    return ".".join(feature.path.step) or feature.name


def _missing(feature: statistics_pb2.FeatureNameStatistics) -> float:
    stats = feature.num_stats.common_stats if feature.HasField("num_stats") else (
        feature.string_stats.common_stats if feature.HasField("string_stats") else feature.struct_stats.common_stats)
    return stats.num_missing


def outcomes_set_aside(schema: schema_pb2.Schema, statistics: statistics_pb2.DatasetFeatureStatisticsList,
                       environment: str) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The statistics without the features the schema keeps out of `environment` that only some examples carry:
    data from that environment with outcomes joined to some of it (decisions of which a share is labelled), validated
    in the environment. A feature every example carries stays, and the data is then validated in every feature."""
    if environment not in schema.default_environment:
        return statistics
    outside = {f.name for f in schema.feature if not in_environment(f, environment, schema)}
    kept = statistics_pb2.DatasetFeatureStatisticsList()
    kept.CopyFrom(statistics)
    for dataset in kept.datasets:
        features = [f for f in dataset.features if not (_name(f) in outside and _missing(f) > 0)]
        del dataset.features[:]
        dataset.features.extend(features)
    return kept


class Executor(tfx_executor.Executor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ):
        self._environment = exec_properties["environment"]
        return super().Do(input_dict, output_dict, exec_properties)

    def _Validate(self, inputs: Dict[str, Any], outputs: Dict[str, Any]) -> anomalies_pb2.Anomalies:  # noqa: N802
        statistics = value_utils.GetSoleValue(inputs, keys.STATISTICS_KEY)
        schema = value_utils.GetSoleValue(inputs, keys.SCHEMA_KEY)
        statistics = outcomes_set_aside(schema, statistics, self._environment)
        environment = validation_environment(schema, statistics, self._environment)
        logging.info("ExampleValidator: validating in %s", f"environment {environment}" if environment
                     else "every feature of the schema")
        # No custom_validation_config: this component takes none, and TFX 1.21 dropped the parameter TFX 1.16 had.
        anomalies = tfdv.validate_statistics(statistics=statistics, schema=schema, environment=environment)
        writer_utils.write_anomalies(os.path.join(value_utils.GetSoleValue(outputs, labels.SCHEMA_DIFF_PATH),
                                                  tfx_executor.DEFAULT_FILE_NAME), anomalies)
        return anomalies
