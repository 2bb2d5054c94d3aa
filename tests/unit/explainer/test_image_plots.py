"""The image figures are mosaics: every tile where it belongs, on its own scale, in one image per figure."""

import io

import matplotlib.image
import numpy as np

from components.explainer.image.plots import _scaled, activation_grid, mosaic, overlays


def test_a_mosaic_puts_each_tile_in_its_row_and_column_with_gaps_between():
    tiles = np.arange(2 * 3 * 16 * 8, dtype=float).reshape(2, 3, 16, 8)
    grid = mosaic(tiles)
    assert grid.shape == (2 * 16 + 1, 3 * 8 + 2 * 1)  # a gap of a pixel: an eighth of the shorter side, 8
    for row in range(2):
        for column in range(3):
            np.testing.assert_array_equal(grid[row * 17:row * 17 + 16, column * 9:column * 9 + 8], tiles[row, column])
    assert np.isnan(grid[16]).all() and np.isnan(grid[:, [8, 17]]).all()
    assert np.isfinite(grid).sum() == tiles.size
    # Larger tiles, wider gaps; colour channels carried through.
    assert mosaic(np.zeros((1, 2, 32, 32, 3))).shape == (32, 2 * 32 + 4, 3)


def test_each_tile_is_scaled_by_its_own_range_and_a_constant_tile_is_zero():
    rng = np.random.default_rng(0)
    tiles = rng.normal(size=(3, 4, 5, 5)) * rng.uniform(0.1, 100, size=(3, 4, 1, 1))
    tiles[1, 2] = 7.0
    scaled = _scaled(tiles)
    lows, highs = scaled.min(axis=(2, 3)), scaled.max(axis=(2, 3))
    assert (lows == 0).all() and highs[1, 2] == 0 and np.delete(highs.ravel(), 6).min() == 1
    np.testing.assert_allclose(scaled[0, 0], (tiles[0, 0] - tiles[0, 0].min()) / np.ptp(tiles[0, 0]))


def test_the_figures_are_pngs_of_every_tile():
    rng = np.random.default_rng(1)
    images = rng.uniform(size=(2, 8, 8, 1))
    maps = {"integrated_gradients_black": rng.normal(size=(2, 8, 8)), "grad_cam": rng.uniform(size=(2, 8, 8))}
    for png in (overlays(images, maps, ["first", "second"]),
                activation_grid("conv1", rng.normal(size=(2, 6, 6, 4)), ["class 0", "class 1"])):
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert pixels.ndim == 3 and pixels.shape[1] > pixels.shape[0] > 100
