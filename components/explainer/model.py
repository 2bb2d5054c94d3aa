"""The trained model as the Explainer sees it: only through its SavedModel signatures and assets.

The explanation contract (DESIGN.md): `transform_features` turns serialized examples into the
dense model input, `predict_from_features` scores dense rows (differentiable), and the feature
map asset says which dense columns belong to which raw feature. The Explainer never imports the
Trainer's code.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Mapping, Sequence

import numpy as np
import tensorflow as tf

from components.explainer.methods.predict import predict_in_chunks, row_scores

PREDICT_BATCH_ROWS = 1 << 16
FEATURE_MAP_ASSET = "glassbox_feature_map.json"
# An interpretable model's description, by kind: a scorecard's table (pipeline/modules/scorecard.py: its bins and
# points, each feature's best points, the reference row in every best bin; such a model also exports
# `feature_points`, dense -> points per raw feature), or a rule list's rules in words (pipeline/modules/rules.py).
SCORECARD_ASSET = "glassbox_scorecard.json"
TABLE_ASSETS = {"scorecard": SCORECARD_ASSET, "rules": "glassbox_rules.json"}
OOV = "<OOV>"  # the feature map's name of a categorical's out-of-vocabulary column
CONTRACT_SIGNATURES = ("transform_features", "predict_from_features", "binary_label")


class ContractError(ValueError):
    """The model does not export what the Explainer needs."""


class ExplainedModel:
    def __init__(self, model_dir: str):
        self.model_dir = model_dir
        self._loaded = tf.saved_model.load(model_dir)
        missing = [s for s in CONTRACT_SIGNATURES if s not in self._loaded.signatures]
        asset = os.path.join(model_dir, "assets", FEATURE_MAP_ASSET)
        if missing or not tf.io.gfile.exists(asset):
            raise ContractError(
                f"The model at {model_dir} lacks the explanation contract "
                f"(missing signatures {missing}, feature map {'present' if tf.io.gfile.exists(asset) else 'absent'})."
            )
        with tf.io.gfile.GFile(asset) as f:
            feature_map = json.load(f)
        self.label: str = feature_map["label"]
        self.features: List[Dict] = feature_map["features"]
        self.feature_names: List[str] = [f["feature"] for f in self.features]
        self.blocks: List[tuple] = [tuple(f["columns"]) for f in self.features]
        self.width: int = feature_map["dense_width"]
        self.kind: str = feature_map.get("model", "network")
        # False where gradients are zero almost everywhere (a scorecard's binned numerics): no integrated gradients.
        self.differentiable: bool = feature_map.get("differentiable", True)
        self.table: Dict | None = read_table(model_dir)
        self.scorecard: Dict | None = self.table if self.table and self.table["kind"] == "scorecard" else None
        # Hidden units and activation, where the Trainer recorded them (the planted-signal ground truth needs them).
        self.architecture: Dict | None = feature_map.get("architecture")
        self._transform = self._loaded.signatures["transform_features"]
        self._predict = self._loaded.signatures["predict_from_features"]
        self._slices = self._loaded.signatures.get("slice_features")
        self._label = self._loaded.signatures["binary_label"]
        # Each hidden layer's output (models trained before the Trainer exported it have none).
        self._layers = self._loaded.signatures.get("layer_outputs")
        # One function object for the model's life: the methods cache their traced graphs per function.
        self.predict_fn = lambda dense: tf.reshape(self._predict(dense=dense)["probability"], [-1])

    def dense(self, serialized: Sequence[bytes]) -> np.ndarray:
        return self._transform(examples=tf.constant(list(serialized)))["dense"].numpy()

    def slice_keys(self, serialized: Sequence[bytes]) -> Dict[str, np.ndarray]:
        """Slice keys the Transform graph computes (e.g. the age band), decoded to str."""
        if self._slices is None:
            return {}
        out = self._slices(examples=tf.constant(list(serialized)))
        return {k: np.array([v.decode("utf-8") for v in t.numpy().reshape(-1)]) for k, t in out.items()}

    def labels(self, serialized: Sequence[bytes]) -> np.ndarray:
        """Each example's label as the model learnt it: 1 for the positive value, 0 for any other; NaN where the
        example has no label (a span from serving), which `binary_label` would refuse to parse."""
        serialized = list(serialized)
        labelled = np.array([text != "" for text in raw_values(serialized, [self.label])[self.label]], dtype=bool)
        labels = np.full(len(serialized), np.nan)
        if labelled.any():
            known = tf.constant([record for record, has in zip(serialized, labelled) if has])
            labels[labelled] = self._label(examples=known)[self.label].numpy().reshape(-1)
        return labels

    def layer_outputs(self, dense: np.ndarray) -> Dict[str, np.ndarray]:
        """{hidden layer: [N, units]} for dense rows; empty for a model without the `layer_outputs` signature."""
        if self._layers is None:
            return {}
        return {name: t.numpy() for name, t in self._layers(dense=tf.constant(dense, tf.float32)).items()}

    @property
    def slice_key_names(self) -> List[str]:
        return sorted(self._slices.structured_outputs) if self._slices is not None else []

    def points_lost(self, dense: np.ndarray) -> np.ndarray:
        """A scorecard's [N, M] points each feature scored below its best bin (the model's own `feature_points`)."""
        points = self._loaded.signatures["feature_points"](dense=tf.constant(dense, tf.float32))["points"].numpy()
        best = np.array([self.scorecard["best_points"][name] for name in self.feature_names], dtype=np.float64)
        return best - points

    def predict(self, dense: np.ndarray) -> np.ndarray:
        """Scores of dense rows, in graph calls of bounded size (a PDP grid over many examples is large)."""
        return predict_in_chunks(row_scores(self.predict_fn), dense, PREDICT_BATCH_ROWS)

    def encode_transformed(self, transformed: Dict[str, np.ndarray]) -> np.ndarray:
        """Transform output (z-scored numerics, vocabulary indices) -> the dense rows the network reads, by the
        feature map: what `transform_features` returns for the same examples."""
        parts = []
        for feature, (start, end) in zip(self.features, self.blocks):
            values = np.asarray(transformed[feature["feature"]]).reshape(-1)
            parts.append(np.eye(end - start, dtype=np.float32)[values] if feature["kind"] == "categorical"
                         else values.astype(np.float32)[:, None])
        return np.concatenate(parts, axis=1)

    @property
    def column_names(self) -> List[str]:
        """A name per dense column: 'feature (z-score)' for numerics, 'feature=category' for one-hot columns."""
        return [name for f in self.features for name in (
            [f"{f['feature']}={v}" for v in f["vocabulary"]] if f["kind"] == "categorical"
            else [f"{f['feature']} (z-score)"])]

    @property
    def raw_column_names(self) -> List[str]:
        """Like `column_names`, with numerics named by their raw feature (for columns mapped back to raw units)."""
        return [name.removesuffix(" (z-score)") for name in self.column_names]

    @property
    def numeric_columns(self) -> List[int]:
        return [f["columns"][0] for f in self.features if f["kind"] == "numeric"]

    def numeric_scales(self, records: Sequence[bytes]) -> Dict[int, tuple]:
        """Each numeric column's affine map from its raw feature, column -> (slope, intercept) with
        dense = slope * raw + intercept, read off the Transform graph itself: the first of `records` encoded with
        every numeric feature set to 0, then to 1 (z-scoring treats each feature on its own, so one pair of rows
        does all); the others give the types of the features it lacks a value for."""
        names = [f["feature"] for f in self.features if f["kind"] == "numeric"]
        kinds = feature_kinds(records, names)
        at_zero, at_one = self.dense([with_values(records[0], dict.fromkeys(names, value), kinds)
                                      for value in (0, 1)])
        return {c: (float(at_one[c] - at_zero[c]), float(at_zero[c])) for c in self.numeric_columns}


def read_table(model_dir: str) -> Dict | None:
    """An interpretable model's description asset (TABLE_ASSETS; its `kind` says which), None for a network."""
    for asset in TABLE_ASSETS.values():
        path = os.path.join(model_dir, "assets", asset)
        if tf.io.gfile.exists(path):
            with tf.io.gfile.GFile(path) as f:
                return json.load(f)
    return None


def raw_values(serialized: Sequence[bytes], names: Sequence[str]) -> Dict[str, List[str]]:
    """The raw value of each named feature in each example, as text (for reason codes and slices)."""
    values: Dict[str, List[str]] = {name: [] for name in names}
    for record in serialized:
        features = tf.train.Example.FromString(record).features.feature
        for name in names:
            feature = features.get(name)
            kind = feature.WhichOneof("kind") if feature is not None else None
            items = list(getattr(feature, kind).value) if kind else []
            text = ", ".join(v.decode("utf-8") if isinstance(v, bytes) else f"{v:g}" for v in items)
            values[name].append(text)
    return values


def with_values(record: bytes, changes: Mapping[str, object], kinds: Mapping[str, str] | None = None) -> bytes:
    """The serialized example with the named features set to new values, each in the feature's own type: the
    example's, or where its value is missing (an empty feature, which has no type) the one `kinds` gives, as
    `feature_kinds` reads it off other examples."""
    example = tf.train.Example.FromString(record)
    features = example.features.feature
    for name, value in changes.items():
        if name not in features:
            raise KeyError(f"the example has no feature '{name}' (it has {', '.join(sorted(features))})")
        kind = features[name].WhichOneof("kind") or (kinds or {}).get(name)
        if kind is None:
            raise ValueError(f"feature '{name}' is missing in the example, and no other example gives its type")
        convert = {"int64_list": lambda v: int(round(float(v))), "float_list": float,
                   "bytes_list": lambda v: str(v).encode("utf-8")}[kind]
        getattr(features[name], kind).value[:] = [convert(value)]
    return example.SerializeToString()


def feature_kinds(serialized: Sequence[bytes], names: Sequence[str]) -> Dict[str, str]:
    """Each named feature's value type (int64_list, float_list or bytes_list), from the first example that has a
    value for it; a feature no example has a value for is left out."""
    kinds: Dict[str, str] = {}
    for record in serialized:
        features = tf.train.Example.FromString(record).features.feature
        for name in names:
            if name not in kinds and name in features and features[name].WhichOneof("kind"):
                kinds[name] = features[name].WhichOneof("kind")
        if len(kinds) == len(names):
            break
    return kinds
