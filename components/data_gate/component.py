"""DataGate: stops the pipeline when ExampleValidator found anomalies.

ExampleValidator records anomalies but never fails. Components that must not see data
that breaks the contract (Transform, and so everything after it) are made to depend on
this gate, which fails its execution with every anomaly named. Nothing downstream runs.
"""

import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.dsl.component.experimental.annotations import InputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils
from tfx.types.standard_artifacts import ExampleAnomalies

# File name ExampleValidator writes per split (tfx/components/example_validator/executor.py).
ANOMALIES_FILE = "SchemaDiff.pb"


class DataContractError(RuntimeError):
    """The data broke its schema; the message lists each anomaly."""


def describe_anomalies(anomalies: anomalies_pb2.Anomalies) -> List[str]:
    """One line per anomaly: feature, kind, description."""
    lines = []
    for feature, info in sorted(anomalies.anomaly_info.items()):
        kinds = ", ".join(anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason) or "UNKNOWN"
        description = " ".join(r.description for r in info.reason) or info.description
        lines.append(f"{feature} [{kinds}]: {description}")
    if anomalies.HasField("dataset_anomaly_info"):
        info = anomalies.dataset_anomaly_info
        lines.append(f"(dataset) [{', '.join(anomalies_pb2.AnomalyInfo.Type.Name(r.type) for r in info.reason)}]: "
                     f"{info.description}")
    return lines


def read_split_anomalies(uri: str, split: str) -> anomalies_pb2.Anomalies:
    anomalies = anomalies_pb2.Anomalies()
    with open(os.path.join(uri, f"Split-{split}", ANOMALIES_FILE), "rb") as f:
        anomalies.ParseFromString(f.read())
    return anomalies


def contract_violations(uri: str, split_names: str) -> List[str]:
    """All anomalies of an ExampleAnomalies artifact, prefixed with their split."""
    return [
        f"split '{split}': {line}"
        for split in artifact_utils.decode_split_names(split_names)
        for line in describe_anomalies(read_split_anomalies(uri, split))
    ]


@component
def DataGate(anomalies: InputArtifact[ExampleAnomalies], code_digest: Parameter[str] = ""):  # noqa: N802 (TFX naming)
    """`code_digest` is read by nothing here: it puts this code in TFX's cache key (components/code.py)."""
    violations = contract_violations(anomalies.uri, anomalies.split_names)
    if violations:
        raise DataContractError(
            f"The data breaks its schema ({len(violations)} anomalies); the run stops before Transform: "
            + "; ".join(violations)
        )
