"""The trained image classifier as the Explainer sees it: only through its SavedModel signatures and assets.

The image explanation contract (pipeline/modules/image_training.py writes it): `transform_features` turns
serialized examples into images [N, H, W, C], `predict_from_features` scores them (differentiable),
`layer_outputs` gives every convolutional layer's output and `predict_from_last_conv` runs the rest of the
network from the last one (for Grad-CAM); `assets/glassbox_image_model.json` gives the shape, the classes and
the layer names.
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import Dict, Iterator, Sequence

import numpy as np
import tensorflow as tf

from components.explainer.model import ContractError

IMAGE_MODEL_ASSET = "glassbox_image_model.json"
IMAGE_SIGNATURES = ("transform_features", "predict_from_features", "layer_outputs", "predict_from_last_conv")


class ExplainedImageModel:
    def __init__(self, model_dir: str):
        self.model_dir = model_dir
        self._loaded = tf.saved_model.load(model_dir)
        signatures = self._loaded.signatures
        missing = [s for s in IMAGE_SIGNATURES if s not in signatures]
        asset = os.path.join(model_dir, "assets", IMAGE_MODEL_ASSET)
        has_asset = tf.io.gfile.exists(asset)
        if missing or not has_asset:
            raise ContractError(
                f"The model at {model_dir} lacks the image explanation contract "
                f"(missing signatures {missing}, {IMAGE_MODEL_ASSET} {'present' if has_asset else 'absent'})."
            )
        with tf.io.gfile.GFile(asset) as f:
            spec = json.load(f)
        self.label: str = spec["label"]
        self.shape = (spec["height"], spec["width"], spec["channels"])
        self.classes: int = spec["classes"]
        self.conv_layers: list[str] = spec["conv_layers"]
        self._transform = signatures["transform_features"]
        self._predict = signatures["predict_from_features"]
        self._layers = signatures["layer_outputs"]
        self._head = signatures["predict_from_last_conv"]
        last = self.conv_layers[-1]
        # One function object each for the model's life: the methods cache their traced graphs per function.
        self.probabilities = lambda images: self._predict(image=images)["probabilities"]
        self.last_conv = lambda images: self._layers(image=images)[last]
        self.head_logits = lambda activations: self._head(activations=activations)["logits"]

    def images(self, serialized: Sequence[bytes]) -> np.ndarray:
        return self._transform(examples=tf.constant(list(serialized)))["image"].numpy()

    def predict(self, images: np.ndarray, batch: int = 4096) -> np.ndarray:
        """[N, classes] probabilities."""
        parts = [self.probabilities(tf.constant(images[i: i + batch])).numpy() for i in range(0, len(images), batch)]
        return np.concatenate(parts).astype(np.float64)

    def layer_outputs(self, images: np.ndarray) -> Dict[str, np.ndarray]:
        outputs = self._layers(image=tf.constant(images, tf.float32))
        return {name: outputs[name].numpy() for name in self.conv_layers}

    @contextlib.contextmanager
    def randomized(self, seed: int = 0) -> Iterator[None]:
        """Within the block every trainable weight is re-initialised (kernels Glorot-uniform, biases zero), as in
        the model-parameter randomisation test (Adebayo et al., 2018); the trained weights come back after it."""
        with self._weights_restored() as variables:
            _reinitialise(variables, np.random.default_rng(seed))
            yield

    @contextlib.contextmanager
    def retrained(self, images: np.ndarray, labels: np.ndarray, seed: int = 0, epochs: int = 30,
                  batch: int = 32) -> Iterator[None]:
        """Within the block the same network (the SavedModel's own layers), re-initialised, is trained on (images,
        labels) with Adam on the cross-entropy of its logits: a model of the same architecture on other data (the
        planted-marker ground truth); the trained weights come back after it."""
        import tf_keras as keras

        with self._weights_restored() as variables:
            rng = np.random.default_rng(seed)
            _reinitialise(variables, rng)
            optimizer = keras.optimizers.Adam(0.01)
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            for _ in range(epochs):
                order = rng.permutation(len(images))
                for start in range(0, len(images), batch):
                    rows = order[start:start + batch]
                    with tf.GradientTape() as tape:
                        value = loss(labels[rows], self._predict(image=tf.constant(images[rows]))["logits"])
                    optimizer.apply_gradients(zip(tape.gradient(value, variables), variables))
            yield

    @contextlib.contextmanager
    def _weights_restored(self) -> Iterator[list]:
        variables = list(self._loaded.model.trainable_variables)
        saved = [v.numpy() for v in variables]
        try:
            yield variables
        finally:
            for variable, value in zip(variables, saved):
                variable.assign(value)


def _reinitialise(variables, rng: np.random.Generator) -> None:
    """Kernels Glorot-uniform, biases zero."""
    for variable in variables:
        shape = variable.shape.as_list()
        if len(shape) < 2:
            variable.assign(np.zeros(shape, dtype=np.float32))
            continue
        fan_in, fan_out = int(np.prod(shape[:-1])), shape[-1]
        if len(shape) == 4:  # conv kernels [kh, kw, in, out]
            fan_out = shape[0] * shape[1] * shape[3]
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        variable.assign(rng.uniform(-limit, limit, shape).astype(np.float32))
