"""Grad-CAM (Selvaraju et al., 2017) on the last convolutional layer.

Each channel k of the layer's output A is weighted by the spatial mean of d logit_target / d A_k; the map is
ReLU(sum_k weight_k A_k), resized to the image. The model is split at that layer (`features_fn`: images ->
A, `head_fn`: A -> logits), so the gradient with respect to A is a plain input gradient of the head.
"""

import functools
from typing import Callable

import numpy as np
import tensorflow as tf

from components.explainer.image.methods.common import in_chunks, one_hot

LayerFn = Callable[[tf.Tensor], tf.Tensor]


@functools.lru_cache(maxsize=32)
def _grad_cam_graph(features_fn: LayerFn, head_fn: LayerFn):
    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32)], autograph=False)
    def grad_cam(images, targets):
        activations = features_fn(images)
        with tf.GradientTape() as tape:
            tape.watch(activations)
            total = tf.reduce_sum(head_fn(activations) * targets)
        weights = tf.reduce_mean(tape.gradient(total, activations), axis=[1, 2], keepdims=True)  # [B, 1, 1, K]
        cam = tf.nn.relu(tf.reduce_sum(weights * activations, axis=3, keepdims=True))  # [B, h, w, 1]
        return tf.image.resize(cam, tf.shape(images)[1:3], method="bilinear")[..., 0]

    return grad_cam


def attribute_grad_cam(
    features_fn: LayerFn, head_fn: LayerFn, images: np.ndarray, targets: np.ndarray, classes: int,
    *, batch_rows: int = 16384,
) -> np.ndarray:
    """[N, H, W]: the class activation map of each image's target class (not normalised)."""
    images = np.asarray(images, dtype=np.float32)
    return in_chunks(_grad_cam_graph(features_fn, head_fn), images, one_hot(targets, classes), batch_rows)
