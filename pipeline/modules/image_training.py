"""Keras Trainer module for images, loaded by the TFX Trainer component by path (`run_fn`).

A small CNN (Conv2D -> MaxPooling -> Conv2D ... -> Dense) under the same tf.distribute strategy selection as the
tabular model. The SavedModel carries the image explanation contract besides `serving_default`
(serialized tf.Example -> {'probabilities': [batch, classes]}):
  transform_features     serialized tf.Example -> {'image': [batch, H, W, C]} in [0, 1]
  predict_from_features  {'image'} -> {'probabilities', 'logits'}  (differentiable)
  layer_outputs          {'image'} -> each convolutional layer's output, by layer name
  predict_from_last_conv {'activations'} -> {'probabilities', 'logits'}: the head after the last conv layer
and the asset `glassbox_image_model.json` (shape, classes, layer names, label).
"""

import json
import os

import tensorflow as tf
import tensorflow_transform as tft
import tf_keras as keras
from absl import logging
from tfx.components.trainer.fn_args_utils import FnArgs
from tfx_bsl.public import tfxio

from components import tracing
from pipeline.modules import devices, distribution, histograms

IMAGE_MODEL_ASSET = "glassbox_image_model.json"


def build_cnn(shape, classes: int, conv_filters, dropout: float, learning_rate: float) -> keras.Model:
    image = keras.Input(shape=shape, name="image", dtype=tf.float32)
    x = image
    for index, filters in enumerate(conv_filters):
        x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"conv{index + 1}")(x)
        if index == 0:
            x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="dropout")(x)
    logits = keras.layers.Dense(classes, name="logits")(x)
    model = tracing.without_autograph(keras.Model(inputs=image, outputs=logits))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    return model


def _dataset(files, data_accessor, tf_transform_output, label, feature, shape, batch_size, seed):
    raw = data_accessor.tf_dataset_factory(
        files,
        tfxio.TensorFlowDatasetOptions(batch_size=batch_size, label_key=label, shuffle_seed=seed),
        tf_transform_output.transformed_metadata.schema,
    )
    return distribution.shard_by_example(
        raw.map(lambda features, y: (tf.reshape(features[feature], [-1, *shape]), tf.reshape(y, [-1]))).repeat())


class ImageNetwork(tf.Module):
    """The CNN split at each convolutional layer: the signatures of the image explanation contract that read the
    network itself (the Explainer's tests export a network through this alone)."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        self._layers = model.layers[1:]  # after the input
        self._conv = [i for i, layer in enumerate(self._layers) if isinstance(layer, keras.layers.Conv2D)]

    def _run(self, x, layers):
        outputs = {}
        for layer in layers:
            x = layer(x, training=False)
            outputs[layer.name] = x
        return x, outputs

    @tracing.signature(tf.TensorSpec([None, None, None, None], tf.float32, name="image"))
    def predict_from_features(self, image):
        logits, _ = self._run(image, self._layers)
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}

    @tracing.signature(tf.TensorSpec([None, None, None, None], tf.float32, name="image"))
    def layer_outputs(self, image):
        _, outputs = self._run(image, self._layers[: self._conv[-1] + 1])
        return {self._layers[i].name: outputs[self._layers[i].name] for i in self._conv}

    @tracing.signature(tf.TensorSpec([None, None, None, None], tf.float32, name="activations"))
    def predict_from_last_conv(self, activations):
        logits, _ = self._run(activations, self._layers[self._conv[-1] + 1:])
        return {"logits": logits, "probabilities": tf.nn.softmax(logits)}


class ExplainableImageModel(ImageNetwork):
    """What the Trainer exports: the network's signatures, the Transform graph and the serving signature."""

    def __init__(self, model, tf_transform_output, label, feature, shape, asset_path):
        super().__init__(model)
        self._transform = tracing.transform_features(self, tf_transform_output)
        self.image_model = tf.saved_model.Asset(asset_path)
        self._feature, self._shape = feature, list(shape)
        self._raw_spec = {k: v for k, v in tf_transform_output.raw_feature_spec().items() if k == feature}

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def transform_features(self, serialized):
        transformed = self._transform(tf.io.parse_example(serialized, self._raw_spec))
        return {"image": tf.reshape(transformed[self._feature], [-1, *self._shape])}

    @tracing.signature(tf.TensorSpec([None], tf.string, name="examples"))
    def serving_default(self, serialized):
        image = self.transform_features(serialized)["image"]
        return {"probabilities": self.predict_from_features(image)["probabilities"]}

    def signatures(self):
        return {name: getattr(self, name) for name in (
            "serving_default", "transform_features", "predict_from_features", "layer_outputs",
            "predict_from_last_conv")}


def run_fn(fn_args: FnArgs):
    config = fn_args.custom_config
    label, image = config["label"], config["image"]
    shape = (image["height"], image["width"], image["channels"])
    keras.utils.set_random_seed(config["seed"])
    tf_transform_output = tft.TFTransformOutput(fn_args.transform_output)

    requested_devices = config.get("devices", "auto")
    strategy = distribution.make_strategy(config["strategy"], config.get("tpu_address"), requested_devices,
                                          config.get("devices_asked_by", devices.ASKED_BY))
    logging.info("Training with %s on %d replica(s).", type(strategy).__name__, strategy.num_replicas_in_sync)
    batch_size = config["batch_size"] * strategy.num_replicas_in_sync
    make = lambda files: _dataset(  # noqa: E731
        files, fn_args.data_accessor, tf_transform_output, label, image["feature"], shape, batch_size, config["seed"]
    )
    with strategy.scope():
        model = build_cnn(shape, image["classes"], image["conv_filters"], config["dropout"], config["learning_rate"])
    steps_per_epoch = max(1, fn_args.train_steps // 10)
    model.fit(
        make(fn_args.train_files),
        epochs=max(1, fn_args.train_steps // steps_per_epoch),
        steps_per_epoch=steps_per_epoch,
        validation_data=make(fn_args.eval_files),
        validation_steps=fn_args.eval_steps,
        callbacks=histograms.tensorboard_callbacks(
            fn_args.model_run_dir, make(fn_args.eval_files),
            [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]),
        verbose=0,
    )

    distribution.write_training_record(fn_args.model_run_dir,
                                       distribution.training_record(strategy, batch_size, requested_devices))
    conv_layers = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    asset_path = os.path.join(fn_args.model_run_dir, IMAGE_MODEL_ASSET)
    with tf.io.gfile.GFile(asset_path, "w") as f:
        json.dump({"label": label, "feature": image["feature"], "height": shape[0], "width": shape[1],
                   "channels": shape[2], "classes": image["classes"], "conv_layers": conv_layers}, f, indent=2)
    export = ExplainableImageModel(model, tf_transform_output, label, image["feature"], shape, asset_path)
    tf.saved_model.save(export, fn_args.serving_model_dir, signatures=export.signatures())
