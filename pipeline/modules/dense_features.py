"""The dense model input: one float vector per example, and its map back to raw features.

Transform emits z-scored numerics and vocabulary indices. The model reads a single dense
vector: each numeric as one column, each categorical as a one-hot block (vocabulary plus
one out-of-vocabulary column). Training and every exported signature encode through the
same `encode`, so they cannot drift apart; the layout travels with the SavedModel as a
JSON asset so attributions on dense columns can be summed back to raw features. It also records
which features Transform imputed (optional in the schema): `"imputed": "mean"` for a numeric,
`"imputed": "<MISSING>"` for a categorical whose missing values are a category of their own.
"""

import json
from typing import Dict, List, Sequence

import tensorflow as tf
import tensorflow_transform as tft

from pipeline.modules.preprocessing import MISSING

FEATURE_MAP_ASSET = "glassbox_feature_map.json"


def feature_layout(
    tf_transform_output: tft.TFTransformOutput, exclude: Sequence[str]
) -> List[Dict]:
    """One entry per raw model feature: name, kind, dense column range, vocabulary."""
    spec = tf_transform_output.transformed_feature_spec()
    raw_spec = tf_transform_output.raw_feature_spec()
    layout, start = [], 0
    for name in sorted(spec):
        if name in exclude:
            continue
        if spec[name].dtype == tf.int64:
            vocabulary = [
                v.decode("utf-8") if isinstance(v, bytes) else str(v)
                for v in tf_transform_output.vocabulary_by_name(name)
            ] + ["<OOV>"]
            entry = {"feature": name, "kind": "categorical", "vocabulary": vocabulary}
            width = len(vocabulary)
        else:
            entry = {"feature": name, "kind": "numeric"}
            width = 1
        if not isinstance(raw_spec.get(name), tf.io.FixedLenFeature):
            entry["imputed"] = MISSING if entry["kind"] == "categorical" else "mean"
        entry["columns"] = [start, start + width]
        layout.append(entry)
        start += width
    return layout


def dense_width(layout: Sequence[Dict]) -> int:
    return layout[-1]["columns"][1] if layout else 0


def encode(transformed: Dict[str, tf.Tensor], layout: Sequence[Dict]) -> tf.Tensor:
    """Transformed features -> [batch, dense_width] float32, in layout order."""
    parts = []
    for entry in layout:
        value = tf.reshape(transformed[entry["feature"]], [-1])
        if entry["kind"] == "categorical":
            start, end = entry["columns"]
            parts.append(tf.one_hot(value, depth=end - start, dtype=tf.float32))
        else:
            parts.append(tf.cast(value, tf.float32)[:, tf.newaxis])
    return tf.concat(parts, axis=1)


def write_feature_map(path: str, layout: Sequence[Dict], label: str, model: str = "network",
                      differentiable: bool = True, architecture: Dict | None = None) -> None:
    """The asset; `model` names the model kind and `differentiable` says whether gradient methods apply;
    `architecture` (hidden units, activation) lets the Explainer train a model of the same shape on data with a planted
    signal, its ground truth."""
    content = {"label": label, "dense_width": dense_width(layout), "features": list(layout), "model": model,
               "differentiable": differentiable}
    if architecture is not None:
        content["architecture"] = architecture
    with tf.io.gfile.GFile(path, "w") as f:
        json.dump(content, f, indent=2)
