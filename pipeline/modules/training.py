"""Keras Trainer module, loaded by the TFX Trainer component by path (`run_fn`).

A small tabular network on the dense input of `dense_features`, trained under the
tf.distribute strategy chosen by `distribution`. The SavedModel carries the explanation
contract of DESIGN.md besides `serving_default`:
  transform_features     serialized tf.Example -> {'dense': [batch, width]}
  predict_from_features  {'dense'} -> {'probability'}  (differentiable)
  layer_outputs          {'dense'} -> each hidden Dense layer's output, by layer name
  slice_features         serialized tf.Example -> evaluation slice keys (TFMA)
  binary_label           serialized tf.Example -> {label: 0/1} (TFMA, the Explainer), whatever the raw label's type
and the raw-feature -> dense-column map as the asset `glassbox_feature_map.json`.

`training.model: scorecard` fits a points scorecard (scorecard.py) on the same dense input of the train split instead
of the network, and exports it under the same contract, plus the signature `feature_points` (dense -> {'points':
[batch, features]}) and the table as the asset `glassbox_scorecard.json`; `rules` fits a shallow tree read as rules
(rules.py), with the rules in words as the asset `glassbox_rules.json`. Their feature maps say `"model": "scorecard"`
(or "rules") and `"differentiable": false` (binned numerics and tree splits have no gradient, so integrated
gradients do not apply).
"""

import json
import os
import shutil
import tempfile
import time
import types

import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx_bsl.public import tfxio

from components import tracing
from pipeline.modules import dense_features, devices, distribution, histograms, rules, scorecard

ACTIVATION = "relu"  # of every hidden layer


def hidden_layer_name(index: int) -> str:
    return f"hidden_{index + 1}"


def hidden_layer_names(model: keras.Model) -> list:
    """The hidden Dense layers, input side first: what `layer_outputs` returns and TensorBoard histograms show."""
    return [layer.name for layer in model.layers if layer.name.startswith("hidden_")]


def build_model(width: int, hidden_units, dropout: float, learning_rate: float) -> keras.Model:
    dense = keras.Input(shape=(width,), name="dense_features", dtype=tf.float32)
    x = dense
    for index, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation=ACTIVATION, name=hidden_layer_name(index))(x)
        if dropout:
            x = keras.layers.Dropout(dropout)(x)
    probability = keras.layers.Dense(1, activation="sigmoid", name="probability")(x)
    model = tracing.without_autograph(keras.Model(inputs=dense, outputs=probability))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.BinaryCrossentropy(),
        metrics=[keras.metrics.AUC(name="auc")],
    )
    return model


def _dataset(files, data_accessor, tf_transform_output, layout, label, batch_size, seed):
    raw = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=label, shuffle_seed=seed),
        tf_transform_output.transformed_metadata.schema,
    )
    return distribution.shard_by_example(raw.map(
        lambda features, y: (dense_features.encode(features, layout), tf.cast(tf.reshape(y, [-1, 1]), tf.float32))
    ).repeat())


def _arrays(files, data_accessor, tf_transform_output, layout, label, batch_size):
    """One pass over a split: its dense rows [N, width] and labels [N], in numpy."""
    raw = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=label, num_epochs=1, shuffle=False),
        tf_transform_output.transformed_metadata.schema,
    )
    batches = [(dense_features.encode(features, layout).numpy(), y.numpy().reshape(-1)) for features, y in raw]
    return np.concatenate([b[0] for b in batches]), np.concatenate([b[1] for b in batches])


def _as_list(outputs) -> list:
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


class ExplainableModel(tf.Module):
    """What the Trainer exports: the model, the Transform graph and the signatures (and a scorecard's table)."""

    def __init__(self, model, tf_transform_output, layout, label, non_features, slice_names, feature_map_path,
                 table_path=None):
        super().__init__()
        # The model's variables, not the Keras model: tracked as a Keras object it would be exported with Keras's own
        # call functions for every layer, traced again at save time (most of the export's time; bench/README.md),
        # and with the optimizer's state. No signature needs either.
        self._keras = types.SimpleNamespace(model=model)
        self.model_variables = model.variables
        if not isinstance(model, keras.Model):  # an interpretable model: a plain tf.Module, tracked as it is
            self.interpretable = model
        self._transform = tracing.transform_features(self, tf_transform_output)
        self.feature_map = tf.saved_model.Asset(feature_map_path)
        # An interpretable model's own description (the scorecard's table, the rules), next to the feature map.
        self.table = tf.saved_model.Asset(table_path) if table_path else None
        if hasattr(model, "feature_points"):  # an additive model: a scorecard's points per feature
            # Defined only here: tf.saved_model.save traces every tf.function of the module, signature or not.
            self.feature_points = tracing.signature(tf.TensorSpec([None, None], tf.float32, name="dense"))(
                lambda dense: {"points": model.feature_points(dense)})
        hidden = hidden_layer_names(model) if isinstance(model, keras.Model) else []
        if hidden:  # a network's hidden Dense layers, defined only then (as feature_points)
            layers = keras.Model(model.inputs, [model.get_layer(name).output for name in hidden])
            self.layer_outputs = tracing.signature(tf.TensorSpec([None, None], tf.float32, name="dense"))(
                lambda dense: dict(zip(hidden, _as_list(layers(dense, training=False)))))
        self._layout = layout
        self._label = label
        self._slice_names = slice_names
        # Serving needs only what the model reads: not the label, not identifiers or free text.
        raw_spec = tf_transform_output.raw_feature_spec()
        self._raw_spec = {k: v for k, v in raw_spec.items() if k != label and k not in non_features}
        self._label_spec = {**self._raw_spec, label: raw_spec[label]}

    def _transformed(self, serialized, spec=None):
        return self._transform(tf.io.parse_example(serialized, spec or self._raw_spec))

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def transform_features(self, serialized):
        return {"dense": dense_features.encode(self._transformed(serialized), self._layout)}

    @tracing.signature(tf.TensorSpec([None, None], tf.float32, name="dense"))
    def predict_from_features(self, dense):
        return {"probability": self._keras.model(dense, training=False)}

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def serving_default(self, serialized):
        return self.predict_from_features(self.transform_features(serialized)["dense"])

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def slice_features(self, serialized):
        transformed = self._transformed(serialized)
        return {k: transformed[k] for k in self._slice_names}

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def binary_label(self, serialized):
        return {self._label: tf.cast(self._transformed(serialized, self._label_spec)[self._label], tf.float32)}

    def numeric_scales(self, layout) -> dict:
        """Each numeric feature's (slope, intercept) of dense = slope * raw + intercept, read off the Transform graph
        by encoding an example with every numeric set to 0 and one with every numeric set to 1."""
        examples = []
        for value in (0, 1):
            example = tf.train.Example()
            for name, spec in self._raw_spec.items():
                feature = example.features.feature[name]
                if spec.dtype == tf.string:
                    feature.bytes_list.value.append(b"")
                elif spec.dtype == tf.int64:
                    feature.int64_list.value.append(value)
                else:
                    feature.float_list.value.append(value)
            examples.append(example.SerializeToString())
        dense = self.transform_features(tf.constant(examples))["dense"].numpy()
        return {e["feature"]: (float(dense[1, e["columns"][0]] - dense[0, e["columns"][0]]),
                               float(dense[0, e["columns"][0]])) for e in layout if e["kind"] == "numeric"}

    def signatures(self):
        signatures = {
            "serving_default": self.serving_default,
            "transform_features": self.transform_features,
            "predict_from_features": self.predict_from_features,
            "slice_features": self.slice_features,
            "binary_label": self.binary_label,
        }
        for optional in ("layer_outputs", "feature_points"):
            if hasattr(self, optional):
                signatures[optional] = getattr(self, optional)
        return signatures


def train_interpretable(kind, fn_args, config, tf_transform_output, layout, label, slice_names, feature_map_path):
    """An interpretable model's export (module docstring), fitted on the whole train split, with its table (the
    scorecard's bins and points, the rules in words) written next to the feature map."""
    dense, labels = _arrays(fn_args.train_files, fn_args.data_accessor, tf_transform_output, layout, label,
                            config["batch_size"])
    if kind == "scorecard":
        fitted = scorecard.fit_scorecard(dense, labels, layout, config["scorecard"])
        model, asset = scorecard.Scorecard(fitted), scorecard.SCORECARD_ASSET
        describe = lambda scales: scorecard.table(fitted, scales, dense_features.dense_width(layout))  # noqa: E731
    else:
        fitted = rules.fit_rules(dense, labels, config["rules"], config["seed"])
        model, asset = rules.RuleList(fitted), rules.RULES_ASSET
        describe = lambda scales: rules.table(fitted, layout, scales, config["rules"])  # noqa: E731
    table_path = os.path.join(os.path.dirname(feature_map_path), asset)
    export = ExplainableModel(model, tf_transform_output, layout, label, config.get("non_features", []), slice_names,
                              feature_map_path, table_path)
    with tf.io.gfile.GFile(table_path, "w") as f:
        json.dump(describe(export.numeric_scales(layout)), f, indent=2)
    logging.info("Trained a %s on %d train rows.", kind, len(labels))
    return export


def run_fn(fn_args: FnArgs):
    config = fn_args.custom_config
    requested_devices = config.get("devices", "auto")
    strategy = distribution.make_strategy(config["strategy"], config.get("tpu_address"), requested_devices,
                                          config.get("devices_asked_by", devices.ASKED_BY))  # before any TF op
    label = config["label"]
    keras.utils.set_random_seed(config["seed"])
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)
    # The Transform output's only strings are the bands: slice keys, not model inputs.
    slice_names = sorted(k for k, v in tf_transform_output.transformed_feature_spec().items() if v.dtype == tf.string)
    layout = dense_features.feature_layout(tf_transform_output, exclude=(label, *slice_names))

    kind = config.get("model", "network")
    if kind != "network":
        feature_map_path = os.path.join(fn_args.model_run_dir, dense_features.FEATURE_MAP_ASSET)
        dense_features.write_feature_map(feature_map_path, layout, label, model=kind, differentiable=False)
        export = train_interpretable(kind, fn_args, config, tf_transform_output, layout, label, slice_names,
                                     feature_map_path)
        distribution.write_training_record(fn_args.model_run_dir, {**distribution.training_record(
            strategy, config["batch_size"], requested_devices), "model_kind": kind})
        tf.saved_model.save(export, fn_args.serving_model_dir, signatures=export.signatures())
        return

    logging.info("Training with %s on %d replica(s).", type(strategy).__name__, strategy.num_replicas_in_sync)
    batch_size = config["batch_size"] * strategy.num_replicas_in_sync
    make = lambda files: _dataset(  # noqa: E731
        files, fn_args.data_accessor, tf_transform_output, layout, label, batch_size, config["seed"]
    )
    with strategy.scope():
        model = build_model(
            dense_features.dense_width(layout), config["hidden_units"], config["dropout"], config["learning_rate"]
        )
    # Under MultiWorkerMirroredStrategy every worker trains and saves (saving is collective), but only the chief
    # writes the artifact; the others write to a scratch directory of their own, removed afterwards.
    chief = strategy.extended.should_checkpoint
    scratch = None if chief else tempfile.mkdtemp(prefix="glassbox-worker-")
    serving_model_dir = fn_args.serving_model_dir if chief else os.path.join(scratch, "serving")
    model_run_dir = fn_args.model_run_dir if chief else os.path.join(scratch, "run")
    steps_per_epoch = max(1, fn_args.train_steps // 10)
    model.fit(
        make(fn_args.train_files),
        epochs=max(1, fn_args.train_steps // steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        validation_data=make(fn_args.eval_files),
        validation_steps=fn_args.eval_steps,
        callbacks=histograms.tensorboard_callbacks(model_run_dir, make(fn_args.eval_files), hidden_layer_names(model)),
        verbose=0,
    )

    # How and on what it was trained, for lineage queries (the Trainer's executor and `glassbox lineage model`).
    distribution.write_training_record(model_run_dir, {
        **distribution.training_record(strategy, batch_size, requested_devices), "model_kind": "network"})
    feature_map_path = os.path.join(model_run_dir, dense_features.FEATURE_MAP_ASSET)
    dense_features.write_feature_map(feature_map_path, layout, label, architecture={
        "hidden_units": list(config["hidden_units"]), "activation": ACTIVATION})
    export = ExplainableModel(model, tf_transform_output, layout, label, config.get("non_features", []), slice_names,
                              feature_map_path)
    tf.saved_model.save(export, serving_model_dir, signatures=export.signatures())
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
        _wait_for_chief(fn_args.serving_model_dir)


def _wait_for_chief(serving_model_dir: str, timeout_s: float = 300) -> None:
    """A worker other than the chief returns once the chief's model is in the artifact, which TFX's Trainer checks
    for as soon as run_fn returns: the collective save ends on every worker together, the chief's files a moment
    later."""
    deadline = time.monotonic() + timeout_s
    while not tf.io.gfile.exists(os.path.join(serving_model_dir, "saved_model.pb")):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the chief wrote no model to {serving_model_dir} within {timeout_s:.0f} s of this "
                               "worker's save")
        time.sleep(0.5)
