"""What the image methods share: target classes as one-hot rows, and gradients of the target scores."""

import functools
from typing import Callable

import numpy as np
import tensorflow as tf

ScoresFn = Callable[[tf.Tensor], tf.Tensor]  # images [B, H, W, C] -> class scores [B, K]


def one_hot(targets: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[np.asarray(targets, dtype=np.int64)]


@functools.lru_cache(maxsize=32)
def target_scores(scores_fn: ScoresFn) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """(images, one-hot targets) -> [B] score of each image's target class, traced once for any batch."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32)], autograph=False)
    def scores(images, targets):
        return tf.reduce_sum(scores_fn(images) * targets, axis=1)

    return scores


@functools.lru_cache(maxsize=32)
def target_gradients(scores_fn: ScoresFn) -> Callable[[tf.Tensor, tf.Tensor], tf.Tensor]:
    """(images, one-hot targets) -> d score of the target class / d image, [B, H, W, C]."""

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, None], tf.float32),
                                  tf.TensorSpec([None, None], tf.float32)], autograph=False)
    def gradients(images, targets):
        with tf.GradientTape() as tape:
            tape.watch(images)
            # Images are independent, so the gradient of the sum is each image's own gradient.
            total = tf.reduce_sum(scores_fn(images) * targets)
        return tape.gradient(total, images)

    return gradients


def in_chunks(fn, images: np.ndarray, targets: np.ndarray, batch_rows: int) -> np.ndarray:
    """fn(images, one-hot targets) over chunks of at most `batch_rows` images, concatenated as float64."""
    parts = [fn(tf.constant(images[i: i + batch_rows], tf.float32), tf.constant(targets[i: i + batch_rows])).numpy()
             for i in range(0, len(images), batch_rows)]
    return np.concatenate(parts).astype(np.float64) if parts else np.zeros((0,) + images.shape[1:])


def example_chunks(examples: int, rows_per_example: int, batch_rows: int):
    """Slices of consecutive examples, each chunk's examples x `rows_per_example` at most `batch_rows` (at least one
    example): what a method that scores many variants of every image holds in memory at once."""
    size = max(1, batch_rows // max(rows_per_example, 1))
    return [slice(first, min(first + size, examples)) for first in range(0, examples, size)]
