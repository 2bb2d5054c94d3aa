"""How good are pixel attributions? Pixel flipping against random order, and the model-randomisation test.

Completeness is integrated gradients' own error (the tabular summary applies unchanged).
"""

from __future__ import annotations

from typing import Dict, Mapping

import numpy as np
from scipy import stats

from components.explainer.image.methods.common import ScoresFn
from components.explainer.image.methods.integrated_gradients import flat_rows, flat_target_score
from components.explainer.quality import Faithfulness, deletion_insertion


def pixel_map(attributions: np.ndarray) -> np.ndarray:
    """[N, H, W, C] or [N, H, W] -> [N, H, W]: a pixel's attribution is the sum over its channels."""
    attributions = np.asarray(attributions, dtype=np.float64)
    return attributions.sum(axis=3) if attributions.ndim == 4 else attributions


def pixel_flipping(
    scores_fn: ScoresFn,
    images: np.ndarray,
    targets: np.ndarray,
    attributions: Mapping[str, np.ndarray],
    classes: int,
    *,
    random_orders: int = 5,
    seed: int = 0,
    batch_rows: int = 16384,
    steps: int | None = None,
) -> Dict[str, Faithfulness]:
    """Per method, deletion and insertion curves of the target score as pixels (all channels together) turn black,
    or are restored onto a black image, most positively attributed first by the method's maps [N, H, W, C], against
    random orders (Samek et al., 2017), the same for every method; taken after every pixel, or in `steps` even steps
    (deletion_insertion).

    The tabular curves apply as they are: each pixel is a block of C columns of the flat row, black is the
    reference row, and the target's one-hot columns belong to no block, so they are never removed.
    """
    images = np.asarray(images, dtype=np.float32)
    channels = images.shape[3]
    pixels = images.shape[1] * images.shape[2]
    rows = flat_rows(images, targets, classes)
    return deletion_insertion(
        flat_target_score(scores_fn, images.shape[1:]), rows,
        {method: pixel_map(maps).reshape(len(images), pixels) for method, maps in attributions.items()},
        np.zeros(rows.shape[1], dtype=np.float32), [(p * channels, (p + 1) * channels) for p in range(pixels)],
        random_orders=random_orders, seed=seed, batch_rows=batch_rows, steps=steps,
    )


def rank_correlations(trained: np.ndarray, randomized: np.ndarray) -> np.ndarray:
    """[N] Spearman correlation between the |attribution| maps of each example.

    A constant map ranks no pixel above another: against a varying map that is no agreement (0), against another
    constant map complete agreement (1), e.g. Grad-CAM maps that ReLU zeroes for both models.
    """
    a = np.abs(pixel_map(trained)).reshape(len(trained), -1)
    b = np.abs(pixel_map(randomized)).reshape(len(randomized), -1)
    result = np.zeros(len(a))
    for i, (x, y) in enumerate(zip(a, b)):
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            result[i] = stats.spearmanr(x, y).statistic
        elif np.ptp(x) == np.ptp(y) == 0:
            result[i] = 1.0
    return result


def summarize_randomization(correlations: np.ndarray, constant_maps: int) -> dict:
    """Mean (the figure judged: near 1 means the explanation ignores what the model learnt) and spread."""
    return {
        "examples": int(len(correlations)),
        "constant_randomized_maps": int(constant_maps),
        "spearman_mean": float(correlations.mean()),
        "spearman_p90": float(np.percentile(correlations, 90)),
        "spearman_max": float(correlations.max()),
    }
