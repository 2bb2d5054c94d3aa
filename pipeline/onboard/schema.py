"""The data contract of a new CSV: the schema TFDV infers, fitted to what the Privacy step will do to the data."""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Sequence

from pipeline.runners.scratch import scratch_tempdir


def _without_empty_features(serialized: bytes) -> bytes:
    """An example without the features of its empty cells: a missing value, as TFDV's CSV reader and the Privacy
    step's output have it, so that the contract does not require every cell to be filled."""
    from tensorflow.core.example import example_pb2

    example = example_pb2.Example.FromString(serialized)
    for name in [n for n, f in example.features.feature.items() if f.WhichOneof("kind") is None
                 or not getattr(f, f.WhichOneof("kind")).value]:
        del example.features.feature[name]
    return example.SerializeToString()


def infer_schema(csv_path: Path, label: str, dropped: Sequence[str], unconstrained: Sequence[str]):
    """TFDV's schema of the examples CsvExampleGen makes of the CSV (its own reading, dialect and types), without
    the dropped columns, and without a value domain for text the Privacy step rewrites (redacted notes must not
    violate a domain of their raw values)."""
    import apache_beam as beam
    import tensorflow_data_validation as tfdv

    from components.csv_example_gen.executor import CsvToSerializedExamples

    with scratch_tempdir() as scratch:  # TFDV writes the statistics to a temporary file and leaves it there
        examples = os.path.join(scratch, "examples")
        with beam.Pipeline(runner="DirectRunner") as pipeline:
            _ = (pipeline
                 | CsvToSerializedExamples({"input_base": str(csv_path.parent)}, glob.escape(csv_path.name))
                 | beam.Map(_without_empty_features)
                 | beam.io.WriteToTFRecord(examples))
        statistics = tfdv.generate_statistics_from_tfrecord(f"{examples}*")
    schema = tfdv.infer_schema(statistics, infer_feature_shape=True)
    # Production spans come without the label: in the SERVING environment (the monitoring pipeline's) its absence
    # is expected, not an anomaly, as in schemas/german_credit/schema.pbtxt.
    schema.default_environment.extend(["TRAINING", "SERVING"])
    tfdv.get_feature(schema, label).not_in_environment.append("SERVING")
    for name in dropped:
        schema.feature.remove(tfdv.get_feature(schema, name))
    for name in (n for n in unconstrained if n not in dropped):  # free text the policy drops is gone already
        feature = tfdv.get_feature(schema, name)
        if feature.HasField("domain"):
            domains = [d for d in schema.string_domain if d.name == feature.domain]
            for domain in domains:
                schema.string_domain.remove(domain)
        feature.ClearField("domain_info")
    return schema

