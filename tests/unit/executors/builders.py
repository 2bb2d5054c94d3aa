"""What the executor tests hand the executors and read back: artifacts on a folder, the files an artifact holds, and a
tiny model that honours the explanation contract of DESIGN.md without TFX Transform or Trainer."""

from __future__ import annotations

import json
import os
import shutil
from typing import Dict, List, Sequence

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_data_validation as tfdv
from sklearn.linear_model import LogisticRegression
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.digests import DIGEST_PROPERTY, MANIFEST_PROPERTY, content_manifest, manifest_digest
from components.explainer.config import ExplainerConfig
from components.explainer.model import FEATURE_MAP_ASSET, OOV
from components.files import split_records
from components.privacy.examples import example_to_row
from components.privacy.policy import policy_json
from pipeline.modules import dense_features, preprocessing
from tests.unit.explainer.tabular import linear_logit

LABEL = "risk"
NUMERIC_FEATURES = ("age", "credit_amount", "duration")
CATEGORICAL_FEATURES = ("checking_account", "housing", "sex")
AGE_BANDS = [25, 35, 50]  # the pipeline's default band_features

# The first 300 rows of the embedded German-credit data, by position, and the id MLMD gave the Trainer's model.
SPLIT_ROWS = {"train": slice(0, 200), "eval": slice(200, 300)}
MODEL_ID = 8
# The pipeline's Explainer settings (key_feature: the pseudonymous applicant_id), on less work per example.
EXPLAINER_CONFIG = ExplainerConfig(key_feature="applicant_id", background_size=20, quality_examples=40,
                                   permutation_repeats=2, sensitivity_features=2, sensitivity_grid_points=5)
# What pipeline/monitor.py changes for a span: the primary method only, the span as its own background, no curves.
SPAN_EXPLAINER_CONFIG = EXPLAINER_CONFIG.model_copy(update={
    "methods": [EXPLAINER_CONFIG.primary_method], "background_split": "eval", "quality_examples": 20,
    "sensitivity_features": 0})


def privacy_properties(policy, environment: str = "TRAINING"):
    """Privacy's execution parameters, as the component makes them from its policy file, for data from
    `environment`."""
    return {"policy": policy_json(policy), "policy_source": policy.source, "environment": environment}


def explainer_properties(config: ExplainerConfig):
    """The Explainer's execution parameter: its configuration as JSON, as the component carries it."""
    return {"config": config.model_dump_json()}


def artifact(artifact_type, uri, splits: Sequence[str] = (), artifact_id: int | None = None):
    """An artifact as the orchestrator hands it to an executor: its folder, its split names, its MLMD id."""
    made = artifact_type()
    made.uri = str(uri)
    if splits:
        made.split_names = artifact_utils.encode_split_names(list(splits))
    if artifact_id is not None:
        made.id = artifact_id
    return made


def files_under(uri) -> List[str]:
    """Every file below an artifact's folder, relative to it (none when the folder is absent)."""
    return sorted(content_manifest(str(uri))) if os.path.isdir(uri) else []


def assert_sealed(sealed) -> None:
    """The seal `components.digests.seal_artifact` recorded matches the files as they are now."""
    manifest = content_manifest(sealed.uri)
    assert json.loads(sealed.get_string_custom_property(MANIFEST_PROPERTY)) == manifest
    assert sealed.get_string_custom_property(DIGEST_PROPERTY) == manifest_digest(manifest)


def split_rows(examples, split: str) -> List[Dict]:
    """One split of an Examples artifact as flat rows (feature -> scalar)."""
    return [example_to_row(r) for r in split_records(artifact_utils.get_split_uri([examples], split))]


def write_statistics(examples, statistics) -> None:
    """What StatisticsGen writes for each of `statistics`' splits (Split-<name>/FeatureStats.pb), computed by TFDV."""
    for split in artifact_utils.decode_split_names(statistics.split_names):
        computed = tfdv.generate_statistics_from_dataframe(pd.DataFrame(split_rows(examples, split)))
        os.makedirs(os.path.join(statistics.uri, f"Split-{split}"))
        with open(os.path.join(statistics.uri, f"Split-{split}", "FeatureStats.pb"), "wb") as f:
            f.write(computed.SerializeToString())


class CreditModel(tf.Module):
    """The signatures pipeline/modules/training.py exports, on a fixed stand-in for the Transform graph: numerics
    z-scored with the training split's mean and deviation, categoricals looked up in their vocabulary (one
    out-of-vocabulary index), encoded by the Trainer's own `dense_features.encode`; `logit` scores the dense rows."""

    def __init__(self, layout: List[Dict], scales: Dict[str, tuple], logit, feature_map_path: str):
        super().__init__()
        self._layout = layout
        self._scales = scales
        self._tables = {
            entry["feature"]: tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(entry["vocabulary"][:-1],
                                                    tf.range(len(entry["vocabulary"]) - 1, dtype=tf.int64)),
                default_value=len(entry["vocabulary"]) - 1)
            for entry in layout if entry["kind"] == "categorical"
        }
        self._logit = logit
        self.feature_map = tf.saved_model.Asset(feature_map_path)
        # As the Trainer's: serving parses the features only, so examples without the label are scored too.
        self._spec = {**{name: tf.io.FixedLenFeature([], tf.int64) for name in NUMERIC_FEATURES},
                      **{name: tf.io.FixedLenFeature([], tf.string) for name in CATEGORICAL_FEATURES}}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, serialized):
        raw = tf.io.parse_example(serialized, self._spec)
        transformed = {name: (tf.cast(raw[name], tf.float32) - mean) / deviation
                       for name, (mean, deviation) in self._scales.items()}
        transformed.update({name: table.lookup(raw[name]) for name, table in self._tables.items()})
        return {"dense": dense_features.encode(transformed, self._layout)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32, name="dense")])
    def predict_from_features(self, dense):
        return {"probability": tf.sigmoid(self._logit(dense))[:, tf.newaxis]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serving_default(self, serialized):
        return self.predict_from_features(self.transform_features(serialized)["dense"])

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def slice_features(self, serialized):
        age = tf.io.parse_example(serialized, {"age": self._spec["age"]})["age"]
        return {f"age{preprocessing.BAND_SUFFIX}": preprocessing.band(age, AGE_BANDS)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def binary_label(self, serialized):
        raw = tf.io.parse_example(serialized, {LABEL: tf.io.FixedLenFeature([], tf.int64)})
        return {LABEL: tf.cast(preprocessing.binary_label(raw[LABEL], "1"), tf.float32)}

    def signatures(self) -> Dict:
        return {name: getattr(self, name) for name in (
            "serving_default", "transform_features", "predict_from_features", "slice_features", "binary_label")}


def _layout(rows: List[Dict]) -> List[Dict]:
    """The Trainer's feature map layout (`dense_features.feature_layout`) for these features and rows."""
    entries = [{"feature": name, "kind": "numeric"} for name in NUMERIC_FEATURES]
    entries += [{"feature": name, "kind": "categorical", "vocabulary": sorted({r[name] for r in rows}) + [OOV]}
                for name in CATEGORICAL_FEATURES]
    entries.sort(key=lambda entry: entry["feature"])
    start = 0
    for entry in entries:
        width = len(entry.get("vocabulary", [None]))
        entry["columns"] = [start, start + width]
        start += width
    return entries


def save_credit_model(examples, model, work_dir: str) -> None:
    """A logistic regression on the train split of `examples`, saved under `model`'s folder as the Trainer saves its
    SavedModel, with the feature map asset."""
    rows = split_rows(examples, "train")
    layout = _layout(rows)
    scales = {name: (float(np.mean([r[name] for r in rows])), float(np.std([r[name] for r in rows])))
              for name in NUMERIC_FEATURES}
    feature_map_path = os.path.join(work_dir, FEATURE_MAP_ASSET)
    dense_features.write_feature_map(feature_map_path, layout, LABEL)
    width = dense_features.dense_width(layout)
    unfitted = CreditModel(layout, scales, linear_logit(np.zeros(width), 0.0), feature_map_path)
    records = tf.constant(split_records(artifact_utils.get_split_uri([examples], "train")))
    fitted = LogisticRegression().fit(unfitted.transform_features(records)["dense"].numpy(),
                                      unfitted.binary_label(records)[LABEL].numpy())
    credit_model = CreditModel(layout, scales, linear_logit(fitted.coef_[0], float(fitted.intercept_[0])),
                               feature_map_path)
    tf.saved_model.save(credit_model, path_utils.serving_model_dir(model.uri), signatures=credit_model.signatures())


def copy_schema(schema_file, schema) -> None:
    """A curated schema as ImportSchemaGen outputs it: the one file in the artifact's folder."""
    os.makedirs(schema.uri)
    shutil.copy(schema_file, os.path.join(schema.uri, "schema.pbtxt"))
