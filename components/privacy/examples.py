"""tf.Example <-> flat row dicts, the shape the policy functions work on."""

from __future__ import annotations

from typing import Any, Dict, List

import tensorflow as tf


def example_to_row(record: bytes) -> Dict[str, Any]:
    """Single values become scalars (str, int, float); an empty feature becomes None."""
    row: Dict[str, Any] = {}
    for name, feature in tf.train.Example.FromString(record).features.feature.items():
        kind = feature.WhichOneof("kind")
        values: List[Any] = list(getattr(feature, kind).value) if kind else []
        values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
        row[name] = values[0] if len(values) == 1 else (values or None)
    return row


def row_to_example(row: Dict[str, Any]) -> bytes:
    features = {}
    for name, value in row.items():
        values = value if isinstance(value, list) else ([] if value is None else [value])
        if not values:
            features[name] = tf.train.Feature()
        elif isinstance(values[0], str):
            features[name] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[v.encode("utf-8") for v in values]))
        elif isinstance(values[0], int):
            features[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=values))
        else:
            features[name] = tf.train.Feature(float_list=tf.train.FloatList(value=values))
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


def feature_names(record: bytes) -> List[str]:
    return sorted(tf.train.Example.FromString(record).features.feature)
