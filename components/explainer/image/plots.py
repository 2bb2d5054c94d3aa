"""PNG figures of image explanations: attribution overlays, layer activation grids."""

from __future__ import annotations

from typing import Dict, Sequence

import matplotlib
import numpy as np
from matplotlib.collections import PatchCollection
from matplotlib.patches import Rectangle

from components.explainer.plots import figure_png, plt

# Signed maps (IG, SmoothGrad, occlusion) on a diverging scale centred at 0; Grad-CAM is non-negative.
NONNEGATIVE = {"grad_cam"}
# A map drawn over its image: this much of the map's colour, the rest the image's grey.
OVERLAY_ALPHA = 0.7


def mosaic(tiles: np.ndarray) -> np.ndarray:
    """Tiles [rows, columns, h, w, ...] as one image [rows * (h + gap) - gap, columns * (w + gap) - gap, ...], the
    tiles apart by a gap of NaN (drawn white) of an eighth of a tile's side, at least a pixel."""
    rows, columns, height, width = tiles.shape[:4]
    gap = max(1, min(height, width) // 8)
    grid = np.full((rows * (height + gap) - gap, columns * (width + gap) - gap) + tiles.shape[4:], np.nan)
    for row in range(rows):
        for column in range(columns):
            top, left = row * (height + gap), column * (width + gap)
            grid[top:top + height, left:left + width] = tiles[row, column]
    return grid


def _mosaic_png(grid: np.ndarray, tile: tuple, row_titles: Sequence[str], column_titles: Sequence[str],
                title: str, inches_per_tile: float) -> bytes:
    """One figure of a mosaic (mosaic()) of values in [0, 1] (viridis) or RGB: one axes and one image, however many
    tiles (an axes per tile costs tens of milliseconds to lay out and draw), each row titled on the left and each
    column on top."""
    rows, columns = len(row_titles), len(column_titles)
    figure, axis = plt.subplots(figsize=(inches_per_tile * columns + 0.9, inches_per_tile * rows + 0.5))
    if grid.ndim == 2:  # values in [0, 1], coloured by the colour map
        axis.imshow(np.ma.masked_invalid(grid), cmap=matplotlib.colormaps["viridis"].with_extremes(bad="white"),
                    vmin=0, vmax=1, interpolation="nearest")
    else:  # RGB already
        axis.imshow(np.nan_to_num(grid, nan=1.0), interpolation="nearest")
    gap = max(1, min(tile) // 8)
    tops, lefts = [r * (tile[0] + gap) - 0.5 for r in range(rows)], [c * (tile[1] + gap) - 0.5 for c in range(columns)]
    # A frame around each tile, all of them one artist.
    axis.add_collection(PatchCollection([Rectangle((left, top), tile[1], tile[0]) for top in tops for left in lefts],
                                        facecolor="none", edgecolor="black", linewidth=0.8, clip_on=False))
    axis.set_yticks([top + tile[0] / 2 for top in tops], row_titles, fontsize=6, rotation=90, va="center")
    axis.set_xticks([left + tile[1] / 2 for left in lefts], column_titles, fontsize=6)
    axis.xaxis.tick_top()
    axis.tick_params(length=0)
    for side in axis.spines.values():
        side.set_visible(False)
    if title:
        axis.set_title(title, fontsize=8)
    return figure_png(figure)


def _scaled(values: np.ndarray) -> np.ndarray:
    """Each tile [..., h, w] to [0, 1] by its own minimum and maximum (a constant tile to 0), as imshow scales."""
    low = values.min(axis=(-2, -1), keepdims=True)
    span = values.max(axis=(-2, -1), keepdims=True) - low
    return np.divide(values - low, span, out=np.zeros_like(values, dtype=np.float64), where=span > 0)


def overlays(images: np.ndarray, maps: Dict[str, np.ndarray], row_titles: Sequence[str]) -> bytes:
    """One row per image: the image, then each method's map [n, H, W] over it (red raises the score), each map on
    its own scale."""
    grey = np.asarray(images, dtype=np.float64).mean(axis=3)
    background = matplotlib.colormaps["gray_r"](np.clip(grey, 0, 1))[..., :3]  # [n, H, W, 3]
    tiles = [background]
    for method, values in maps.items():
        values = np.asarray(values, dtype=np.float64)
        scale = np.abs(values).max(axis=(1, 2), keepdims=True)
        scale[scale == 0] = 1.0
        if method in NONNEGATIVE:
            coloured = matplotlib.colormaps["Reds"](np.clip(values / scale, 0, 1))[..., :3]
        else:
            coloured = matplotlib.colormaps["bwr"]((values / scale + 1) / 2)[..., :3]
        tiles.append(OVERLAY_ALPHA * coloured + (1 - OVERLAY_ALPHA) * background)
    titles = [t.replace("integrated_gradients", "IG").replace("_", " ") for t in ["image", *maps]]
    return _mosaic_png(mosaic(np.stack(tiles, axis=1)), grey.shape[1:], row_titles, titles, "", 1.6)


def activation_grid(layer: str, activations: np.ndarray, row_titles: Sequence[str]) -> bytes:
    """One row per example, one column per channel of `layer`'s output [n, h, w, k], each map on its own scale."""
    tiles = _scaled(np.moveaxis(np.asarray(activations, dtype=np.float64), 3, 1))  # [n, k, h, w]
    return _mosaic_png(mosaic(tiles), activations.shape[1:3], row_titles, [str(c) for c in range(tiles.shape[1])],
                       f"{layer}: channel outputs (columns) per example (rows)", 0.5)


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
