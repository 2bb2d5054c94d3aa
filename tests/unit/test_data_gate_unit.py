"""The gate's reading of TFDV anomalies, on hand-built protos."""

from tensorflow_metadata.proto.v0 import anomalies_pb2

from components.data_gate.component import describe_anomalies


def test_describes_each_anomaly_with_feature_kind_and_description():
    anomalies = anomalies_pb2.Anomalies()
    info = anomalies.anomaly_info["purpose"]
    reason = info.reason.add()
    reason.type = anomalies_pb2.AnomalyInfo.ENUM_TYPE_UNEXPECTED_STRING_VALUES
    reason.description = "Examples contain values missing from the schema: spaceship (<1%)."
    anomalies.anomaly_info["housing"].reason.add(
        type=anomalies_pb2.AnomalyInfo.SCHEMA_MISSING_COLUMN, description="Column is completely missing"
    )
    assert describe_anomalies(anomalies) == [
        "housing [SCHEMA_MISSING_COLUMN]: Column is completely missing",
        "purpose [ENUM_TYPE_UNEXPECTED_STRING_VALUES]: Examples contain values missing from the schema: "
        "spaceship (<1%).",
    ]


def test_no_anomalies_no_lines():
    assert describe_anomalies(anomalies_pb2.Anomalies()) == []
