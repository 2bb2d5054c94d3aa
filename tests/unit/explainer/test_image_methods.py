"""Each image method on tiny hand-built models whose right answer is known."""

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.image.methods.grad_cam import attribute_grad_cam
from components.explainer.image.methods.integrated_gradients import attribute_image_integrated_gradients, blurred
from components.explainer.image.methods.lime import attribute_image_lime, grid_patches
from components.explainer.image.methods.occlusion import attribute_occlusion, patch_masks
from components.explainer.image.methods.smoothgrad import attribute_smoothgrad
from components.explainer.image.quality import pixel_flipping, rank_correlations, summarize_randomization

ROW, COLUMN = 2, 5  # the one pixel the model reads


def _read_one_pixel(images):
    """Two classes: sigmoid(6 x - 3) of pixel (2, 5) and its complement; every other pixel is ignored."""
    p = tf.sigmoid(6.0 * images[:, ROW, COLUMN, 0] - 3.0)
    return tf.stack([p, 1.0 - p], axis=1)


def _images(n=6, seed=0):
    return np.random.default_rng(seed).uniform(0.0, 1.0, (n, 8, 8, 1)).astype(np.float32)


def _score(images):
    return _read_one_pixel(tf.constant(images)).numpy()[:, 0]


def _elsewhere(attributions):
    rest = np.array(attributions, dtype=np.float64)
    rest[:, ROW, COLUMN] = 0.0
    return rest


@pytest.mark.parametrize("baseline", ["black", "blurred"])
def test_integrated_gradients_puts_everything_on_the_pixel_read(baseline):
    images = _images()
    baselines = np.zeros_like(images) if baseline == "black" else blurred(images, 2.0)
    found = attribute_image_integrated_gradients(_read_one_pixel, images, np.zeros(len(images), int), baselines, 2,
                                                 tolerance=1e-4)
    assert found.attributions.shape == images.shape
    assert np.abs(_elsewhere(found.attributions)).max() == 0.0
    # Completeness: the pixel's attribution is the whole change of the score from the baseline.
    np.testing.assert_allclose(found.attributions[:, ROW, COLUMN, 0], _score(images) - _score(baselines), atol=2e-4)
    assert found.completeness_error.max() <= 1e-4


def test_blurred_baseline_keeps_the_mean_and_smooths():
    image = np.zeros((1, 8, 8, 1), np.float32)
    image[0, 4, 4, 0] = 1.0
    soft = blurred(image, 1.0)
    assert soft[0, 4, 4, 0] < 0.2 and soft[0, 4, 5, 0] > 0
    assert soft.sum() == pytest.approx(1.0, abs=1e-3)


def test_smoothgrad_is_zero_off_the_pixel_and_the_gradient_on_a_linear_model():
    images = _images()
    found = attribute_smoothgrad(_read_one_pixel, images, np.zeros(len(images), int), 2, samples=16, seed=1)
    assert np.abs(_elsewhere(found)).max() == 0.0
    assert (found[:, ROW, COLUMN, 0] > 0).all()
    weights = np.random.default_rng(3).normal(size=(8, 8, 1)).astype(np.float32)

    def linear(x):
        score = tf.reduce_sum(x * weights, axis=[1, 2, 3])
        return tf.stack([score, -score], axis=1)

    np.testing.assert_allclose(attribute_smoothgrad(linear, images, np.ones(len(images), int), 2, samples=4),
                               np.broadcast_to(-weights, images.shape), rtol=1e-5)


def test_occlusion_of_single_pixels_is_the_score_drop_of_that_pixel():
    images = _images()
    found = attribute_occlusion(_read_one_pixel, images, np.zeros(len(images), int), 2, patch=1)
    blacked = images.copy()
    blacked[:, ROW, COLUMN] = 0.0
    # Not exactly 0: TF 2.21's CPU kernels may round the same row differently in a batch of another size
    # (the original images and the occluded copies are scored in separate batches), by a float32 ulp.
    assert np.abs(_elsewhere(found)).max() <= 1e-6
    np.testing.assert_allclose(found[:, ROW, COLUMN, 0], _score(images) - _score(blacked), atol=1e-6)


def test_occlusion_patches_cover_the_image_and_peak_on_the_pixel():
    masks = patch_masks(8, 8, 3, 2)
    assert masks.any(axis=0).all()
    images = _images()
    images[:, ROW, COLUMN] = 1.0  # a drop of the same sign for every patch over the pixel
    found = attribute_occlusion(_read_one_pixel, images, np.zeros(len(images), int), 2, patch=2)[..., 0]
    peak = np.unravel_index(np.abs(found).reshape(len(images), -1).argmax(axis=1), (8, 8))
    assert (peak[0] == ROW).all() and (peak[1] == COLUMN).all()
    far = np.ones((8, 8), bool)
    far[ROW - 1: ROW + 2, COLUMN - 1: COLUMN + 2] = False
    assert np.abs(found[:, far]).max() <= 1e-6  # a float32 ulp, as above


def test_lime_gives_the_patch_that_holds_the_pixel_its_whole_effect():
    images = _images()
    targets = np.zeros(len(images), int)
    found = attribute_image_lime(_read_one_pixel, images, targets, 2, patch=2, samples=64, ridge_alpha=0.0, seed=1)
    # v(z) is score(image) where the pixel's patch is on, score(black pixel) where off: linear in the switches.
    blacked = images.copy()
    blacked[:, ROW - ROW % 2: ROW - ROW % 2 + 2, COLUMN - COLUMN % 2: COLUMN - COLUMN % 2 + 2] = 0.0
    patch = found.attributions[:, ROW - ROW % 2: ROW - ROW % 2 + 2, COLUMN - COLUMN % 2: COLUMN - COLUMN % 2 + 2, 0]
    np.testing.assert_allclose(patch.sum(axis=(1, 2)), _score(images) - _score(blacked), atol=1e-5)
    found.attributions[:, ROW - ROW % 2: ROW - ROW % 2 + 2, COLUMN - COLUMN % 2: COLUMN - COLUMN % 2 + 2] = 0.0
    assert np.abs(found.attributions).max() <= 1e-5
    assert found.completeness_error.max() <= 1e-5 and found.fidelity.min() > 0.999999


def test_lime_maps_do_not_depend_on_the_batch():
    images = _images(5)
    targets = np.zeros(len(images), int)
    seeds = [11, 12, 13, 14, 15]
    whole = attribute_image_lime(_read_one_pixel, images, targets, 2, samples=32, seed=seeds, batch_rows=1 << 14)
    small = attribute_image_lime(_read_one_pixel, images[3:], targets[3:], 2, samples=32, seed=seeds[3:],
                                 batch_rows=40)
    assert np.array_equal(whole.attributions[3:], small.attributions)


@pytest.mark.parametrize("size, patch, count", [(8, 2, 16), (8, 3, 9), (28, 4, 49)])
def test_grid_patches_tile_the_image_once(size, patch, count):
    patches = grid_patches(size, size, patch)
    assert patches.shape == (count, size, size) and (patches.sum(axis=0) == 1).all()


def _two_channel_features(images):
    """A 1 x 1 convolution with two channels: the ink (x) and the background (1 - x)."""
    return tf.nn.relu(tf.concat([images, 1.0 - images], axis=3))


def _sum_of_each_channel(activations):
    return tf.reduce_sum(activations, axis=[1, 2])  # logit k = total of channel k


def test_grad_cam_is_the_map_of_the_channel_the_class_reads():
    images = _images()
    ink = attribute_grad_cam(_two_channel_features, _sum_of_each_channel, images, np.zeros(len(images), int), 2)
    background = attribute_grad_cam(_two_channel_features, _sum_of_each_channel, images, np.ones(len(images), int), 2)
    assert ink.shape == images.shape[:3]
    # Each channel's gradient is 1 at every position, so its weight is 1 and the other channel's 0.
    np.testing.assert_allclose(ink, images[..., 0], atol=1e-6)
    np.testing.assert_allclose(background, 1.0 - images[..., 0], atol=1e-6)


def test_grad_cam_resizes_a_coarse_layer_to_the_image():
    images = np.zeros((1, 8, 8, 1), np.float32)
    images[0, :4, :4] = 1.0  # ink in the top-left quarter only

    def pooled(x):
        return tf.nn.avg_pool2d(x, 2, 2, "VALID")  # [B, 4, 4, 1]

    cam = attribute_grad_cam(pooled, _sum_of_each_channel, images, np.zeros(1, int), 1)[0]
    assert cam.shape == (8, 8)
    assert cam[:3, :3].min() > 0.9 and cam[5:, :].max() == 0.0 and cam[:, 5:].max() == 0.0


def test_pixel_flipping_in_attribution_order_beats_random_order():
    images = _images(20)
    targets = np.zeros(len(images), int)
    found = attribute_image_integrated_gradients(_read_one_pixel, images, targets, np.zeros_like(images), 2)
    curves = pixel_flipping(_read_one_pixel, images, targets, {"ig": found.attributions}, 2, random_orders=5)["ig"]
    # Deleting the one pixel read first takes the score to its black value at once.
    np.testing.assert_allclose(curves.deletion_curve[1:], _score(np.zeros((1, 8, 8, 1), np.float32))[0], atol=1e-6)
    assert curves.deletion_auc < curves.random_deletion_auc
    assert curves.insertion_auc > curves.random_insertion_auc


def test_rank_correlations_tell_a_copy_from_an_unrelated_map():
    maps = np.random.default_rng(0).normal(size=(30, 8, 8, 1))
    assert rank_correlations(maps, 2 * maps) == pytest.approx(np.ones(30))
    unrelated = summarize_randomization(rank_correlations(maps, np.random.default_rng(1).normal(size=maps.shape)), 0)
    assert abs(unrelated["spearman_mean"]) < 0.1
    # A map zeroed out shares no ranking with a varying one, and all of it with another zeroed map.
    assert (rank_correlations(maps, np.zeros_like(maps)) == 0).all()
    assert (rank_correlations(np.zeros_like(maps), np.zeros_like(maps)) == 1).all()


@pytest.mark.parametrize("method", ["occlusion", "smoothgrad"])
def test_memory_bounded_methods_give_the_same_maps_for_any_batch(method):
    """The copies of every image are made a chunk of images at a time: a small batch_rows changes memory, not maps
    (smoothgrad draws its noise from one stream in image order)."""
    images, targets = _images(7), np.zeros(7, int)

    def run(batch_rows):
        if method == "occlusion":
            return attribute_occlusion(_read_one_pixel, images, targets, 2, patch=2, batch_rows=batch_rows)
        return attribute_smoothgrad(_read_one_pixel, images, targets, 2, samples=8, seed=3, batch_rows=batch_rows)

    np.testing.assert_allclose(run(20), run(1 << 14), atol=1e-7)
