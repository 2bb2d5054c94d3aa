"""Interventional Shapley values of raw features: exact enumeration, or antithetic permutation sampling.

Both estimate the same quantity: the Shapley values of the game v(S) = mean over the background of
f(x on S, background elsewhere) (see `game.py`), so sampled values converge to the exact ones.
"""

from dataclasses import dataclass
from math import factorial
from typing import Callable, Sequence, Union

import numpy as np

from components.explainer.methods.blocks import Blocks
from components.explainer.methods.game import InterventionalGame
from components.explainer.methods.predict import PredictFn

MAX_EXACT_FEATURES = 12
DEFAULT_BATCH_ROWS = 1 << 17


@dataclass(frozen=True)
class ShapleyValues:
    attributions: np.ndarray  # [N, M]; base_value + attributions.sum(1) == prediction
    base_value: np.ndarray  # [N] v(empty coalition): the mean prediction over the background
    prediction: np.ndarray  # [N] f(x) = v(all features)


@dataclass(frozen=True)
class SampledShapleyValues(ShapleyValues):
    standard_errors: np.ndarray  # [N, M] of each attribution, from the antithetic pairs
    permutations: np.ndarray  # [N] permutations used per example (twice the pairs)


def exact_shapley(
    predict_fn: PredictFn,
    x_dense: np.ndarray,
    background_dense: np.ndarray,
    blocks: Blocks,
    *,
    max_features: int = MAX_EXACT_FEATURES,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> ShapleyValues:
    """Exact Shapley values by enumerating all 2^M coalitions of the M raw features.

    Costs N x 2^M x B model rows, hence the limit on M; above it use `sampled_shapley`.
    """
    players = len(blocks)
    if players > max_features:
        raise ValueError(
            f"exact Shapley enumerates all 2^{players} coalitions of {players} raw features, above the limit of "
            f"{max_features}; use sampled_shapley, or raise max_features"
        )
    coalitions = all_coalitions(players)
    values = InterventionalGame(predict_fn, background_dense, blocks, batch_rows=batch_rows).values(x_dense, coalitions)
    return ShapleyValues(shapley_from_values(values, players), values[:, 0], values[:, -1])


def all_coalitions(players: int) -> np.ndarray:
    """[2^M, M] boolean; row s holds the bits of s, so row 0 is the empty coalition and the last row the full one."""
    return (np.arange(1 << players)[:, np.newaxis] >> np.arange(players)) & 1 == 1


def shapley_from_values(values: np.ndarray, players: int) -> np.ndarray:
    """[N, M] phi_i = sum over S without i of |S|!(M-|S|-1)!/M! (v(S + i) - v(S)), for v indexed as `all_coalitions`.

    Differences first, then the weighted sum (float64). A feature the model ignores gets zero up to the rounding
    of the model's own float32 outputs, not exactly zero: v(S + i) and v(S) score rows that differ only in
    columns the model ignores, but at other places in the batch, and TensorFlow's CPU kernels may round a row
    differently by where it sits. Each difference is then a few float32 units in the last place of the model's
    output, and so is their weighted average (the weights sum to one).
    """
    weight = np.array([factorial(k) * factorial(players - k - 1) / factorial(players) for k in range(players)])
    coalitions = np.arange(1 << players)
    sizes = all_coalitions(players).sum(axis=1)
    attributions = np.zeros((len(values), players))
    for feature in range(players):
        without = coalitions[(coalitions >> feature) & 1 == 0]
        gains = values[:, without | (1 << feature)] - values[:, without]
        attributions[:, feature] = gains @ weight[sizes[without]]
    return attributions


def sampled_shapley(
    predict_fn: PredictFn,
    x_dense: np.ndarray,
    background_dense: np.ndarray,
    blocks: Blocks,
    *,
    max_permutations: int = 512,
    target_standard_error: float = 0.005,
    permutations_per_round: int = 16,
    seed: Union[int, Sequence[int]] = 0,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> SampledShapleyValues:
    """Shapley values from permutations, each paired with its reverse (antithetic sampling).

    Every permutation's marginal contributions telescope to f(x) - v(empty), so efficiency holds for
    any number of permutations. A pair's average is one independent draw; the standard error of an
    attribution is the standard deviation of those draws over sqrt(pairs). Examples leave the loop as
    soon as all their standard errors are at most the target (or `max_permutations` is reached), so
    the model is only run for those still uncertain.

    `seed` is one seed for the whole batch, or one per example: then each example draws its permutations
    from its own stream, and its values do not depend on which other examples share its batch.
    """
    if min(permutations_per_round, max_permutations) < 4 or permutations_per_round % 2:
        raise ValueError(
            "permutations_per_round must be even, and it and max_permutations at least 4: "
            "a standard error needs two antithetic pairs"
        )
    x = np.asarray(x_dense, dtype=np.float32)
    players = len(blocks)
    game = InterventionalGame(predict_fn, background_dense, blocks, batch_rows=batch_rows)
    ends = game.values(x, np.array([[False] * players, [True] * players]))
    base_value, prediction = ends[:, 0], ends[:, 1]

    uniforms = uniform_streams(seed, len(x))
    pair_sum = np.zeros((len(x), players))
    pair_square_sum = np.zeros((len(x), players))
    pairs_used = np.zeros(len(x), dtype=np.int64)
    active, pairs, max_pairs = np.arange(len(x)), 0, max_permutations // 2
    while active.size and pairs < max_pairs:
        new_pairs = min(permutations_per_round // 2, max_pairs - pairs)
        orders = np.argsort(uniforms(active, (new_pairs, players)), axis=2)
        draws = _antithetic_pair_marginals(game, x[active], base_value[active], prediction[active], orders)
        pair_sum[active] += draws.sum(axis=1)
        pair_square_sum[active] += (draws**2).sum(axis=1)
        pairs += new_pairs
        pairs_used[active] = pairs
        standard_errors = _standard_errors(pair_sum[active], pair_square_sum[active], pairs)
        active = active[~(standard_errors <= target_standard_error).all(axis=1)]

    return SampledShapleyValues(
        attributions=pair_sum / pairs_used[:, np.newaxis],
        base_value=base_value,
        prediction=prediction,
        standard_errors=_standard_errors(pair_sum, pair_square_sum, pairs_used[:, np.newaxis]),
        permutations=2 * pairs_used,
    )


def uniform_streams(seed: Union[int, Sequence[int]], examples: int) -> Callable[[np.ndarray, tuple], np.ndarray]:
    """(example indices, shape) -> uniforms [len(indices), *shape], from one shared stream or one per example."""
    if np.ndim(seed) == 0:
        shared = np.random.default_rng(seed)
        return lambda indices, shape: shared.random((len(indices), *shape))
    if len(seed) != examples:
        raise ValueError(f"{len(seed)} seeds for {examples} examples: give one seed, or one per example")
    streams = [np.random.default_rng(s) for s in seed]
    return lambda indices, shape: np.stack([streams[i].random(shape) for i in indices])


def _antithetic_pair_marginals(game, x, base_value, prediction, orders) -> np.ndarray:
    """[n, pairs, M]: each pair's average marginal contribution of each feature, for orders [n, pairs, M]."""
    n, pairs, players = orders.shape
    orders = np.concatenate([orders, orders[:, :, ::-1]], axis=1)  # permutation p and its reverse at p + pairs
    positions = np.argsort(orders, axis=2)  # where each feature enters
    prefixes = positions[:, :, np.newaxis, :] < np.arange(1, players)[:, np.newaxis]  # [n, 2p, M-1, M]
    inner = game.values(x, prefixes.reshape(n, -1, players)).reshape(n, 2 * pairs, players - 1)
    chain = np.concatenate(
        [np.broadcast_to(base_value[:, None, None], (n, 2 * pairs, 1)), inner,
         np.broadcast_to(prediction[:, None, None], (n, 2 * pairs, 1))],
        axis=2,
    )
    marginals = np.take_along_axis(np.diff(chain, axis=2), positions, axis=2)
    return (marginals[:, :pairs] + marginals[:, pairs:]) / 2


def _standard_errors(total, square_total, count):
    """Standard error of the mean of `count` (at least 2) draws, from their sum and sum of squares."""
    variance = np.maximum(square_total - total**2 / count, 0.0) / (count - 1)
    return np.sqrt(variance / count)
