"""PNG figures of image explanations: attribution overlays, layer activation grids."""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np

from components.explainer.plots import figure_png, plt

# Signed maps (IG, SmoothGrad, occlusion) on a diverging scale centred at 0; Grad-CAM is non-negative.
NONNEGATIVE = {"grad_cam"}


def overlays(images: np.ndarray, maps: Dict[str, np.ndarray], row_titles: Sequence[str]) -> bytes:
    """One row per image: the image, then each method's map [n, H, W] over it (red raises the score)."""
    n, columns = len(images), 1 + len(maps)
    figure, axes = plt.subplots(n, columns, figsize=(1.6 * columns, 1.6 * n + 0.4), squeeze=False)
    grey = np.asarray(images, dtype=np.float64).mean(axis=3)
    for row in range(n):
        axes[row, 0].imshow(grey[row], cmap="gray_r", vmin=0, vmax=1)
        axes[row, 0].set_ylabel(row_titles[row], fontsize=7)
        for column, (method, values) in enumerate(maps.items(), start=1):
            axis = axes[row, column]
            axis.imshow(grey[row], cmap="gray_r", vmin=0, vmax=1)
            scale = float(np.abs(values[row]).max()) or 1.0
            if method in NONNEGATIVE:
                axis.imshow(values[row], cmap="Reds", vmin=0, vmax=scale, alpha=0.7)
            else:
                axis.imshow(values[row], cmap="bwr", vmin=-scale, vmax=scale, alpha=0.7)
    for column, title in enumerate(["image", *maps]):
        axes[0, column].set_title(title.replace("integrated_gradients", "IG").replace("_", " "), fontsize=7)
    for axis in axes.ravel():
        axis.set_xticks([])
        axis.set_yticks([])
    return figure_png(figure)


def activation_grid(layer: str, activations: np.ndarray, row_titles: Sequence[str]) -> bytes:
    """One row per example, one column per channel of `layer`'s output [n, h, w, k]."""
    n, _, _, channels = activations.shape
    figure, axes = plt.subplots(n, channels, figsize=(0.5 * channels + 0.6, 0.5 * n + 0.6), squeeze=False)
    for row in range(n):
        for channel in range(channels):
            axes[row, channel].imshow(activations[row, :, :, channel], cmap="viridis")
            axes[row, channel].set_xticks([])
            axes[row, channel].set_yticks([])
        axes[row, 0].set_ylabel(row_titles[row], fontsize=6)
    figure.suptitle(f"{layer}: channel outputs (columns) per example (rows)", fontsize=8)
    return figure_png(figure)


def channel_means(layer: str, per_class: Dict[str, Sequence[float]], unit: str = "channel") -> bytes:
    """Heat map of the mean activation of each channel (or a dense layer's unit; columns) per class (rows)."""
    classes = sorted(per_class, key=int)
    values = np.array([per_class[c] for c in classes])
    figure, axis = plt.subplots(figsize=(0.25 * values.shape[1] + 1.5, 0.3 * len(classes) + 1))
    image = axis.imshow(values, cmap="viridis", aspect="auto")
    axis.set_yticks(range(len(classes)), classes)
    axis.set_xlabel(unit)
    axis.set_ylabel("class")
    axis.set_title(f"{layer}: mean activation per class", fontsize=8)
    figure.colorbar(image, ax=axis)
    return figure_png(figure)
