"""LIME on raw features: a weighted ridge surrogate of the interventional game, fitted around each example.

The interpretable representation is a switch per raw feature, z in {0, 1}^M: z_j = 1 keeps feature j at the
example's value, z_j = 0 takes it from the background. The surrogate's target at z is v(z), the interventional game
of `game.py` that Shapley values share: the model's mean score over the background rows, each row's features where
z = 0 put in place of the example's. So every perturbation is the dense encoding of raw values that occur in the
background (a categorical stays one of its categories, a numeric follows the background's distribution), scored
in the same batched graph calls as Shapley's coalitions, and the only randomness is which coalitions are drawn.

Sampling: the example itself (z = 1) and the all-background point (z = 0), then `samples - 2` coalitions, each with a
number of kept features uniform in 0..M and those features uniform among the M (as lime draws its image and text
perturbations). Kernel: pi(z) = exp(-d(z)^2 / width^2), with d(z) = sqrt((M - |z|) / M) the Euclidean distance from z
to the example's all-ones vector, scaled to [0, 1]. Surrogate: g(z) = b + beta . z by weighted ridge, the intercept
not penalised.

The attribution of feature j is beta_j times the switch's value at the example (1), so the attributions sum to
g(1) - g(0), the surrogate's estimate of f(x) - v(empty): comparable with Shapley values on the same game. On a
model linear in the dense columns, v(z) is linear in z and the attributions are w . (x - background mean) per
block, the exact Shapley values, up to the ridge's shrinkage.
"""

from dataclasses import dataclass
from typing import Sequence, Union

import numpy as np

from components.explainer.methods.blocks import Blocks
from components.explainer.methods.game import InterventionalGame
from components.explainer.methods.predict import PredictFn
from components.explainer.methods.shapley import DEFAULT_BATCH_ROWS, uniform_streams

DEFAULT_SAMPLES = 256
DEFAULT_KERNEL_WIDTH = 0.75
DEFAULT_RIDGE_ALPHA = 1.0


@dataclass(frozen=True)
class LimeExplanations:
    attributions: np.ndarray  # [N, M] the surrogate's coefficients
    intercept: np.ndarray  # [N] g(0)
    standard_errors: np.ndarray  # [N, M] of the coefficients (sandwich form of weighted ridge)
    fidelity: np.ndarray  # [N] weighted R^2 of the surrogate on its samples
    base_value: np.ndarray  # [N] v(empty): the mean prediction over the background
    prediction: np.ndarray  # [N] f(x)


def lime(
    predict_fn: PredictFn,
    x_dense: np.ndarray,
    background_dense: np.ndarray,
    blocks: Blocks,
    *,
    samples: int = DEFAULT_SAMPLES,
    kernel_width: float = DEFAULT_KERNEL_WIDTH,
    ridge_alpha: float = DEFAULT_RIDGE_ALPHA,
    seed: Union[int, Sequence[int]] = 0,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> LimeExplanations:
    """LIME attributions of raw features for dense rows `x_dense` [N, D].

    `seed` is one seed for the batch or one per example (then an example's explanation does not depend on which
    others share its batch). Costs N x `samples` x B model rows, in the game's batched graph calls.
    """
    x = np.asarray(x_dense, dtype=np.float32)
    coalitions = sample_coalitions(seed, len(x), samples, len(blocks))
    values = InterventionalGame(predict_fn, background_dense, blocks, batch_rows=batch_rows).values(x, coalitions)
    coefficients, intercept, standard_errors, fidelity = weighted_ridge(
        coalitions.astype(np.float64), values, kernel_weights(coalitions, kernel_width), ridge_alpha)
    return LimeExplanations(coefficients, intercept, standard_errors, fidelity, values[:, 1], values[:, 0])


def sample_coalitions(seed: Union[int, Sequence[int]], examples: int, samples: int, players: int) -> np.ndarray:
    """[N, samples, M] boolean: row 0 all kept, row 1 none kept, then a uniform count of kept features, uniformly
    placed."""
    uniforms = uniform_streams(seed, examples)(np.arange(examples), (samples - 2, players + 1))
    kept = np.floor(uniforms[:, :, 0] * (players + 1)).astype(np.int64)  # 0..M
    ranks = np.argsort(np.argsort(uniforms[:, :, 1:], axis=2), axis=2)  # a uniform random order of the features
    drawn = ranks < kept[:, :, np.newaxis]
    ends = np.broadcast_to(np.array([[True] * players, [False] * players]), (examples, 2, players))
    return np.concatenate([ends, drawn], axis=1)


def kernel_weights(coalitions: np.ndarray, width: float) -> np.ndarray:
    """[N, S] pi(z) = exp(-d(z)^2 / width^2), d(z)^2 = the share of features switched off, for coalitions [N, S, M]."""
    if width <= 0:
        raise ValueError(f"the kernel width must be positive, not {width}")
    return np.exp(-(1.0 - coalitions.mean(axis=2)) / width**2)


def weighted_ridge(design: np.ndarray, target: np.ndarray, weights: np.ndarray, alpha: float):
    """Per example, min over (b, beta) of sum_s w_s (y_s - b - beta . z_s)^2 + alpha |beta|^2.

    `design` [N, S, M], `target` and `weights` [N, S]. Returns (beta [N, M], b [N], standard errors of beta [N, M],
    weighted R^2 [N]). The standard errors are ridge's sandwich form sigma^2 A Z'WZ A, A = (Z'WZ + alpha I)^-1, with
    sigma^2 the weighted residual variance (as Visani et al.'s stability indices use them).
    """
    samples, players = design.shape[1:]
    if samples < players + 2 or alpha < 0:
        raise ValueError(f"LIME needs more samples ({samples}) than its {players} features + 1, and a non-negative "
                         f"ridge penalty (not {alpha})")
    weights = weights / weights.sum(axis=1, keepdims=True) * weights.shape[1]  # mean weight 1: alpha keeps its scale
    total = weights.sum(axis=1)
    design_mean = np.einsum("ns,nsm->nm", weights, design) / total[:, np.newaxis]
    target_mean = np.einsum("ns,ns->n", weights, target) / total
    centred = design - design_mean[:, np.newaxis]
    weighted = centred * weights[:, :, np.newaxis]
    gram = np.matmul(weighted.transpose(0, 2, 1), centred)  # Z'WZ [N, M, M]
    inverse = np.linalg.inv(gram + alpha * np.eye(players))
    moments = np.einsum("nsm,ns->nm", weighted, target - target_mean[:, np.newaxis])
    coefficients = np.einsum("nij,nj->ni", inverse, moments)
    intercept = target_mean - np.einsum("nm,nm->n", design_mean, coefficients)
    residuals = target - intercept[:, np.newaxis] - np.einsum("nsm,nm->ns", design, coefficients)
    residual_sum = np.einsum("ns,ns->n", weights, residuals**2)
    sigma2 = residual_sum / (samples - players - 1)
    covariance = sigma2[:, np.newaxis, np.newaxis] * np.matmul(np.matmul(inverse, gram), inverse)
    standard_errors = np.sqrt(np.maximum(np.diagonal(covariance, axis1=1, axis2=2), 0.0))
    spread = np.einsum("ns,ns->n", weights, (target - target_mean[:, np.newaxis]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        fidelity = np.where(spread > 0, 1.0 - residual_sum / spread, (residual_sum == 0).astype(np.float64))
    return coefficients, intercept, standard_errors, fidelity
