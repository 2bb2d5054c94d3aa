"""SmoothGrad (Smilkov et al., 2017): the target score's gradient averaged over noisy copies of the image,
which keeps what the gradient says consistently and averages away its pixel-to-pixel noise."""

import numpy as np

from components.explainer.image.methods.common import ScoresFn, in_chunks, one_hot, target_gradients


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
    (in the input's units: pixels scaled to [0, 1])."""
    images = np.asarray(images, dtype=np.float32)
    rng = np.random.default_rng(seed)
    noisy = images[:, np.newaxis] + rng.normal(0.0, noise, (len(images), samples) + images.shape[1:])
    repeated_targets = np.repeat(one_hot(targets, classes), samples, axis=0)
    gradients = in_chunks(target_gradients(scores_fn), noisy.reshape(-1, *images.shape[1:]).astype(np.float32),
                          repeated_targets, batch_rows)
    return gradients.reshape(noisy.shape).mean(axis=1)
