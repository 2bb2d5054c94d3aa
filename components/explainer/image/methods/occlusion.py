"""Occlusion (Zeiler & Fergus, 2014): how much the target score drops when a square patch is covered.

Each pixel gets the mean drop over the patches that cover it, shared equally among its channels.
"""

import numpy as np

from components.explainer.image.methods.common import ScoresFn, example_chunks, in_chunks, one_hot, target_scores


def patch_masks(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """[P, H, W] bool: every patch position; the last row and column of patches touch the image's edges."""
    def starts(size):
        last = max(size - patch, 0)
        return sorted(set(range(0, last + 1, stride)) | {last})

    masks = []
    for top in starts(height):
        for left in starts(width):
            mask = np.zeros((height, width), dtype=bool)
            mask[top: top + patch, left: left + patch] = True
            masks.append(mask)
    return np.stack(masks)


def attribute_occlusion(
    scores_fn: ScoresFn,
    images: np.ndarray,
    targets: np.ndarray,
    classes: int,
    *,
    patch: int = 2,
    stride: int = 1,
    value: float = 0.0,
    batch_rows: int = 16384,
) -> np.ndarray:
    """[N, H, W, C]; occluded pixels take `value` (0: background). The occluded copies are made and scored a chunk
    of images at a time, at most `batch_rows` copies, so memory does not grow with the number of images."""
    images = np.asarray(images, dtype=np.float32)
    n, height, width, channels = images.shape
    masks = patch_masks(height, width, patch, stride)
    scores = target_scores(scores_fn)
    hot = one_hot(targets, classes)
    original = in_chunks(scores, images, hot, batch_rows)
    covered = np.zeros((n, len(masks)))
    for rows in example_chunks(n, len(masks), batch_rows):
        occluded = np.where(masks[np.newaxis, :, :, :, np.newaxis], np.float32(value), images[rows, np.newaxis])
        covered[rows] = in_chunks(scores, occluded.reshape(-1, height, width, channels),
                                  np.repeat(hot[rows], len(masks), axis=0), batch_rows).reshape(-1, len(masks))
    drops = original[:, np.newaxis] - covered
    per_pixel = np.einsum("np,phw->nhw", drops, masks) / np.maximum(masks.sum(axis=0), 1)
    return np.repeat(per_pixel[..., np.newaxis] / channels, channels, axis=3)
