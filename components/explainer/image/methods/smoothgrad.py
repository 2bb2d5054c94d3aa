"""SmoothGrad (Smilkov et al., 2017): the target score's gradient averaged over noisy copies of the image,
which keeps what the gradient says consistently and averages away its pixel-to-pixel noise."""

import numpy as np

from components.explainer.image.methods.common import ScoresFn, example_chunks, in_chunks, one_hot, target_gradients


def attribute_smoothgrad(
    scores_fn: ScoresFn,
    images: np.ndarray,
    targets: np.ndarray,
    classes: int,
    *,
    samples: int = 32,
    noise: float = 0.15,
    seed: int = 0,
    batch_rows: int = 16384,
) -> np.ndarray:
    """[N, H, W, C]: mean gradient over `samples` copies with Gaussian noise of standard deviation `noise`
    (in the input's units: pixels scaled to [0, 1]). The noisy copies are made a chunk of images at a time, at most
    `batch_rows` copies, from one noise stream in image order (the same maps for any `batch_rows`)."""
    images = np.asarray(images, dtype=np.float32)
    rng = np.random.default_rng(seed)
    hot = one_hot(targets, classes)
    found = np.zeros(images.shape)
    for rows in example_chunks(len(images), samples, batch_rows):
        chunk = images[rows]
        noisy = chunk[:, np.newaxis] + rng.normal(0.0, noise, (len(chunk), samples) + images.shape[1:])
        gradients = in_chunks(target_gradients(scores_fn), noisy.reshape(-1, *images.shape[1:]).astype(np.float32),
                              np.repeat(hot[rows], samples, axis=0), batch_rows)
        found[rows] = gradients.reshape(noisy.shape).mean(axis=1)
    return found
