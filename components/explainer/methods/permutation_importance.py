"""Global permutation importance of raw features: how much AUC and log-loss suffer when one feature is shuffled.

A feature is shuffled as a whole block (all its one-hot columns move together), so each permuted row is
still a valid encoding, just of another applicant's value.
"""

from dataclasses import dataclass

import numpy as np
from scipy import stats

from components.explainer.methods.blocks import Blocks, column_owners
from components.explainer.methods.predict import PredictFn, predict_in_chunks, row_scores
from components.metrics import roc_auc

LOG_LOSS_CLIP = 1e-7


@dataclass(frozen=True)
class MetricDrop:
    mean: np.ndarray  # [M] positive when shuffling the feature hurts
    low: np.ndarray  # [M] 95% confidence interval: mean -/+ t(0.975, R-1) * sd / sqrt(R)
    high: np.ndarray  # [M]
    per_repeat: np.ndarray  # [M, R]


@dataclass(frozen=True)
class PermutationImportance:
    auc: float  # on the unshuffled rows
    log_loss: float
    auc_drop: MetricDrop  # AUC(unshuffled) - AUC(shuffled)
    log_loss_increase: MetricDrop  # log-loss(shuffled) - log-loss(unshuffled)


def permutation_importance(
    predict_fn: PredictFn,
    x_dense: np.ndarray,
    labels: np.ndarray,
    blocks: Blocks,
    *,
    repeats: int = 10,
    seed: int = 0,
    batch_rows: int = 1 << 16,
) -> PermutationImportance:
    """Importance of each raw feature; `predict_fn` returns the positive-class probability, `labels` are 0/1."""
    x = np.asarray(x_dense, dtype=np.float32)
    labels = np.asarray(labels).astype(bool)
    column_owners(blocks, x.shape[1])
    if repeats < 2:
        raise ValueError("repeats must be at least 2 for a confidence interval")
    if labels.all() or not labels.any():
        raise ValueError("labels must hold both classes for AUC")
    scores = row_scores(predict_fn)
    reference = predict_in_chunks(scores, x, batch_rows)
    row_orders = np.argsort(np.random.default_rng(seed).random((len(blocks), repeats, len(x))), axis=2)
    shuffled_scores = np.stack([
        predict_in_chunks(scores, _shuffle_block(x, block, orders), batch_rows).reshape(repeats, len(x))
        for block, orders in zip(blocks, row_orders)
    ])  # [M, R, N]
    auc, loss = roc_auc(labels, reference), log_loss(labels, reference)
    return PermutationImportance(
        auc=float(auc),
        log_loss=float(loss),
        auc_drop=_with_interval(auc - roc_auc(labels, shuffled_scores)),
        log_loss_increase=_with_interval(log_loss(labels, shuffled_scores) - loss),
    )


def log_loss(labels: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Mean binary cross-entropy along the last axis."""
    p = np.clip(probabilities, LOG_LOSS_CLIP, 1 - LOG_LOSS_CLIP)
    return -np.mean(np.where(labels, np.log(p), np.log1p(-p)), axis=-1)


def _shuffle_block(x: np.ndarray, block: tuple[int, int], orders: np.ndarray) -> np.ndarray:
    """[R * N, D]: x repeated once per row order, the block's columns taken from the reordered rows."""
    start, end = block
    shuffled = np.repeat(x[np.newaxis], len(orders), axis=0)
    shuffled[:, :, start:end] = x[orders, start:end]
    return shuffled.reshape(-1, x.shape[1])


def _with_interval(per_repeat: np.ndarray) -> MetricDrop:
    repeats = per_repeat.shape[1]
    mean = per_repeat.mean(axis=1)
    half_width = stats.t.ppf(0.975, repeats - 1) * per_repeat.std(axis=1, ddof=1) / np.sqrt(repeats)
    return MetricDrop(mean, mean - half_width, mean + half_width, per_repeat)
