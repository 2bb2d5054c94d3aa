"""LIME for images: the tabular LIME's surrogate (methods/lime.py) with square grid patches as the features.

A sample switches each patch (superpixel) on, keeping the image's pixels, or off, setting them to `value` (0: the
background of the digits). The same coalition sampling, exponential kernel and weighted ridge as the tabular
method; a patch's coefficient is shared equally among its pixels and channels, so a map sums to the surrogate's
estimate of score(image) - score(all patches off). Images are perturbed and scored a chunk of examples at a time,
at most `batch_rows` images per graph call, so memory is bounded by the batch, not by the number of examples.
"""

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from components.explainer.image.methods.common import ScoresFn, example_chunks, in_chunks, one_hot, target_scores
from components.explainer.image.methods.occlusion import patch_masks
from components.explainer.methods.lime import (
    DEFAULT_KERNEL_WIDTH,
    DEFAULT_RIDGE_ALPHA,
    DEFAULT_SAMPLES,
    kernel_weights,
    sample_coalitions,
    weighted_ridge,
)


@dataclass(frozen=True)
class ImageLime:
    attributions: np.ndarray  # [N, H, W, C]
    completeness_error: np.ndarray  # [N] |sum of the map - (score(image) - score(all patches off))|
    fidelity: np.ndarray  # [N] weighted R^2 of the surrogate


def grid_patches(height: int, width: int, patch: int) -> np.ndarray:
    """[P, H, W] bool: non-overlapping square patches covering the image (the last ones cut at its edges)."""
    masks = patch_masks(height + (-height) % patch, width + (-width) % patch, patch, patch)
    return masks[:, :height, :width]


def attribute_image_lime(
    scores_fn: ScoresFn,
    images: np.ndarray,
    targets: np.ndarray,
    classes: int,
    *,
    patch: int = 2,
    samples: int = DEFAULT_SAMPLES,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    ridge_alpha: float = DEFAULT_RIDGE_ALPHA,
    seed: Union[int, Sequence[int]] = 0,
    value: float = 0.0,
    batch_rows: int = 16384,
) -> ImageLime:
    images = np.asarray(images, dtype=np.float32)
    n, height, width, channels = images.shape
    patches = grid_patches(height, width, patch)
    seeds = [seed] * n if np.ndim(seed) == 0 else list(seed)
    if len(seeds) != n:
        raise ValueError(f"{len(seeds)} seeds for {n} images: give one seed, or one per image")
    scores, hot = target_scores(scores_fn), one_hot(targets, classes)
    values = np.zeros((n, samples))
    coalitions = np.zeros((n, samples, len(patches)), dtype=bool)
    for rows in example_chunks(n, samples, batch_rows):
        drawn = sample_coalitions(seeds[rows], rows.stop - rows.start, samples, len(patches))
        kept = np.einsum("nsp,phw->nshw", drawn, patches) > 0  # [n, S, H, W]
        perturbed = np.where(kept[..., np.newaxis], images[rows, np.newaxis], np.float32(value))
        values[rows] = in_chunks(scores, perturbed.reshape(-1, height, width, channels),
                                 np.repeat(hot[rows], samples, axis=0), batch_rows).reshape(-1, samples)
        coalitions[rows] = drawn
    coefficients, _, _, fidelity = weighted_ridge(coalitions.astype(np.float64), values,
                                                  kernel_weights(coalitions, kernel_width), ridge_alpha)
    per_pixel = np.einsum("np,phw->nhw", coefficients, patches / patches.sum(axis=(1, 2), keepdims=True))
    completeness = np.abs(coefficients.sum(axis=1) - (values[:, 0] - values[:, 1]))
    return ImageLime(np.repeat(per_pixel[..., np.newaxis] / channels, channels, axis=3), completeness, fidelity)
