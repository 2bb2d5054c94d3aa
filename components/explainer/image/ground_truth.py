"""Ground truth for image explanations: a planted marker.

A small bright square (the marker, in the top-left corner, a quarter of the image's side) is stamped on a share of
the images, whose label becomes the marker class. The model's own network (its SavedModel's layers, re-initialised
as in the randomisation test) is trained on the first two thirds of the images so marked; on the last third, every
image not of the marker class gets the marker, and where the network then predicts the marker class the evidence for
that prediction is known to lie in the marker. For each method: its relevance mass inside the marker (the share of
the total |attribution|; the marker's share of the pixels is what a uniform map would get) and the pointing game
(the share of images whose largest |attribution| falls inside the marker).
"""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from components.explainer.image.config import ImageExplainerConfig
from components.explainer.image.model import ExplainedImageModel
from components.explainer.image.quality import pixel_map


def marker_mask(height: int, width: int) -> np.ndarray:
    """[H, W] bool: the top-left square of side max(1, min(H, W) // 4)."""
    side = max(1, min(height, width) // 4)
    mask = np.zeros((height, width), dtype=bool)
    mask[:side, :side] = True
    return mask


def stamped(images: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The images with the marker's pixels at full intensity (1: images are scaled to [0, 1])."""
    return np.where(mask[np.newaxis, :, :, np.newaxis], np.float32(1.0), images).astype(np.float32)


def marker_scores(maps: np.ndarray, mask: np.ndarray) -> Dict[str, float]:
    """Relevance mass inside the marker and pointing-game accuracy of attribution maps [N, H, W, C]."""
    relevance = np.abs(pixel_map(maps)).reshape(len(maps), -1)
    total = relevance.sum(axis=1)
    inside = relevance[:, mask.ravel()].sum(axis=1)
    mass = np.divide(inside, total, out=np.zeros_like(inside), where=total > 0)
    return {"mass_in_marker": float(mass.mean()), "pointing_game": float(mask.ravel()[relevance.argmax(axis=1)].mean())}


def planted_marker_truth(model: ExplainedImageModel, images: np.ndarray, labels: np.ndarray,
                         config: ImageExplainerConfig, attribute: Callable) -> Dict:
    """quality.json's ground_truth.planted_marker; `attribute` is the image Explainer's (method, model, images,
    targets, config) -> (maps, ...)."""
    rng = np.random.default_rng(config.seed)
    mask = marker_mask(*model.shape[:2])
    cut = 2 * len(images) // 3
    marked = rng.random(cut) < config.marker_share
    train_images = np.where(marked[:, None, None, None], stamped(images[:cut], mask), images[:cut])
    train_labels = np.where(marked, config.marker_class, labels[:cut]).astype(np.int64)
    candidates = stamped(images[cut:][labels[cut:] != config.marker_class], mask)
    with model.retrained(train_images, train_labels, config.seed, config.marker_epochs):
        predicted = model.predict(candidates).argmax(axis=1)
        hits = candidates[predicted == config.marker_class]
        targets = np.full(len(hits), config.marker_class)
        methods = {m: marker_scores(attribute(m, model, hits, targets, config)[0], mask) for m in config.methods}
    return {
        "marker": {"rows": [0, int(mask.any(axis=1).sum())], "columns": [0, int(mask.any(axis=0).sum())],
                   "class": config.marker_class, "share_of_pixels": float(mask.mean())},
        "train_images": int(cut), "marked_train_images": int(marked.sum()), "marked_test_images": int(len(candidates)),
        "examples": int(len(hits)), "marker_accuracy": float(len(hits) / max(len(candidates), 1)),
        "methods": methods if len(hits) else {},
    }
