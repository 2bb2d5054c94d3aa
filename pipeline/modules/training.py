"""Keras Trainer module, loaded by the TFX Trainer component by path (`run_fn`).

A small tabular network on the dense input of `dense_features`, trained under the
tf.distribute strategy chosen by `distribution`. The SavedModel carries the explanation
contract of DESIGN.md besides `serving_default`:
  transform_features     serialized tf.Example -> {'dense': [batch, width]}
  predict_from_features  {'dense'} -> {'probability'}  (differentiable)
  slice_features         serialized tf.Example -> evaluation slice keys (TFMA)
  binary_label           serialized tf.Example -> {label: 0/1} (TFMA, the Explainer), whatever the raw label's type
and the raw-feature -> dense-column map as the asset `glassbox_feature_map.json`.
"""

import os
import shutil
import tempfile
import types

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx import v1 as tfx
from tfx_bsl.public import tfxio

from pipeline.modules import dense_features, devices, distribution, tracing


def build_model(width: int, hidden_units, dropout: float, learning_rate: float) -> keras.Model:
    dense = keras.Input(shape=(width,), name="dense_features", dtype=tf.float32)
    x = dense
    for units in hidden_units:
        x = keras.layers.Dense(units, activation="relu")(x)
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


class ExplainableModel(tf.Module):
    """What the Trainer exports: the model, the Transform graph and the signatures."""

    def __init__(self, model, tf_transform_output, layout, label, non_features, slice_names, feature_map_path):
        super().__init__()
        # The model's variables, not the Keras model: tracked as a Keras object it would be exported with Keras's own
        # call functions for every layer, traced again at save time (most of the export's time; bench/README.md),
        # and with the optimizer's state. No signature needs either.
        self._keras = types.SimpleNamespace(model=model)
        self.model_variables = model.variables
        self.tft_layer = tf_transform_output.transform_features_layer()
        self.feature_map = tf.saved_model.Asset(feature_map_path)
        self._layout = layout
        self._label = label
        self._slice_names = slice_names
        # Serving needs only what the model reads: not the label, not identifiers or free text.
        raw_spec = tf_transform_output.raw_feature_spec()
        self._raw_spec = {k: v for k, v in raw_spec.items() if k != label and k not in non_features}
        self._label_spec = {**self._raw_spec, label: raw_spec[label]}

    def _transformed(self, serialized, spec=None):
        return self.tft_layer(tf.io.parse_example(serialized, spec or self._raw_spec))

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

    def signatures(self):
        return {
            "serving_default": self.serving_default,
            "transform_features": self.transform_features,
            "predict_from_features": self.predict_from_features,
            "slice_features": self.slice_features,
            "binary_label": self.binary_label,
        }


def run_fn(fn_args: tfx.components.FnArgs):
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
        callbacks=[keras.callbacks.TensorBoard(log_dir=model_run_dir, update_freq="epoch")],
        verbose=0,
    )

    # How and on what it was trained, for lineage queries (the Trainer's executor and `glassbox lineage model`).
    distribution.write_training_record(model_run_dir,
                                       distribution.training_record(strategy, batch_size, requested_devices))
    feature_map_path = os.path.join(model_run_dir, dense_features.FEATURE_MAP_ASSET)
    dense_features.write_feature_map(feature_map_path, layout, label)
    export = ExplainableModel(model, tf_transform_output, layout, label, config.get("non_features", []), slice_names,
                              feature_map_path)
    tf.saved_model.save(export, serving_model_dir, signatures=export.signatures())
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)
