"""Integrated gradients on pixels, against a black or a blurred image, with the tabular IG's adaptive steps.

The tabular implementation integrates a score of flat rows; an image's class score becomes one by flattening
the pixels and appending the target class as one-hot columns. Those columns are the same in the input and its
baseline, so they take no attribution, and completeness (attributions summing to f(x) - f(baseline)) holds as
for any row.
"""

import functools

import numpy as np
import tensorflow as tf
from scipy.ndimage import gaussian_filter

from components.explainer.image.methods.common import ScoresFn, one_hot
from components.explainer.methods.integrated_gradients import IntegratedGradients, attribute_integrated_gradients
from components.explainer.methods.predict import PredictFn


@functools.lru_cache(maxsize=32)
def flat_target_score(scores_fn: ScoresFn, shape: tuple[int, int, int]) -> PredictFn:
    """Rows [pixels (H * W * C, row-major) | one-hot target (K)] -> the target class's score."""
    size = int(np.prod(shape))

    def score(rows):
        images = tf.reshape(rows[:, :size], [-1, *shape])
        return tf.reduce_sum(scores_fn(images) * rows[:, size:], axis=1)

    return score


def flat_rows(images: np.ndarray, targets: np.ndarray, classes: int) -> np.ndarray:
    """Images [N, H, W, C] and targets [N] -> rows [N, H * W * C + K] for `flat_target_score`."""
    images = np.asarray(images, dtype=np.float32)
    return np.concatenate([images.reshape(len(images), -1), one_hot(targets, classes)], axis=1)


def blurred(images: np.ndarray, sigma: float) -> np.ndarray:
    """Each image blurred by a Gaussian of `sigma` pixels over height and width (channels apart)."""
    return gaussian_filter(np.asarray(images, dtype=np.float32), sigma=(0, sigma, sigma, 0), mode="nearest")


def attribute_image_integrated_gradients(
    scores_fn: ScoresFn,
    images: np.ndarray,
    targets: np.ndarray,
    baselines: np.ndarray,
    classes: int,
    *,
    steps: int = 32,
    tolerance: float = 0.005,
    max_steps: int = 512,
    batch_rows: int = 16384,
) -> IntegratedGradients:
    """IG of each image's target-class score against its baseline ([N, H, W, C], or one [H, W, C] for all).

    The result's `attributions` are [N, H, W, C]; predictions and completeness errors as in the tabular IG.
    """
    images = np.asarray(images, dtype=np.float32)
    baselines = np.broadcast_to(np.asarray(baselines, dtype=np.float32), images.shape)
    found = attribute_integrated_gradients(
        flat_target_score(scores_fn, images.shape[1:]),
        flat_rows(images, targets, classes),
        flat_rows(baselines, targets, classes),
        steps=steps, rule="trapezoid", tolerance=tolerance, max_steps=max_steps, batch_rows=batch_rows,
    )
    pixels = found.attributions[:, : images[0].size].reshape(images.shape)
    return IntegratedGradients(pixels, found.prediction, found.baseline_prediction, found.completeness_error,
                               found.steps)
