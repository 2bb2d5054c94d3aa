"""The model metrics that audit, challengers, monitor and explainer share: one definition each, so their figures agree.

Plain numpy functions, no TFX and no policy. Each works along the last axis, so one call scores the data ([N]) or
all bootstrap resamples ([resamples, N]) at once.

For the fairness rates, `decisions` is 1 where the favourable outcome (label 1, a good credit risk) is granted and
`groups` [N] holds each example's group.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUC along the last axis of `scores` ([..., N]) for fixed `labels` [N], by the rank-sum formula.

    Ties count one half, as in sklearn. NaN when the labels hold one class only: AUC is undefined there.
    """
    positive = np.asarray(labels).astype(bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    scores = np.asarray(scores, dtype=np.float64)
    if n_pos == 0 or n_neg == 0:
        return np.full(scores.shape[:-1], np.nan)
    ranks = rankdata(scores, axis=-1)
    return (ranks[..., positive].sum(axis=-1) - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def _score_bins(scores: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((np.asarray(scores) * bins).astype(int), 0, bins - 1)


def expected_calibration_error(labels: np.ndarray, scores: np.ndarray, bins: int = 10) -> np.ndarray:
    """Σ_b (n_b / N) |mean label_b − mean score_b| over equal-width score bins, along the last axis.

    Written as Σ_b |Σ_{i in b} (y_i − s_i)| / N so that all resamples share one bincount.
    """
    labels, scores = np.broadcast_arrays(np.asarray(labels, dtype=np.float64), np.asarray(scores, dtype=np.float64))
    n = scores.shape[-1]
    rows = scores.reshape(-1, n)
    slot = _score_bins(rows, bins) + bins * np.arange(len(rows))[:, None]
    gaps = np.bincount(slot.ravel(), weights=(labels.reshape(-1, n) - rows).ravel(), minlength=bins * len(rows))
    return (np.abs(gaps.reshape(-1, bins)).sum(axis=1) / n).reshape(scores.shape[:-1])


def reliability_table(labels: np.ndarray, scores: np.ndarray, bins: int) -> list[dict]:
    """Per non-empty bin: its score range, size, mean score and positive rate (the reliability diagram)."""
    slot = _score_bins(scores, bins)
    return [
        {"low": b / bins, "high": (b + 1) / bins, "examples": int((slot == b).sum()),
         "mean_score": float(scores[slot == b].mean()), "positive_rate": float(labels[slot == b].mean())}
        for b in range(bins) if (slot == b).any()
    ]


def rate_by_group(decisions: np.ndarray, condition: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """[G, ...]: the share of favourable decisions among each group's examples where `condition` holds; NaN
    where a group has none (a TPR without positives is undefined, not zero)."""
    rates = []
    for value in np.unique(groups):
        member = groups == value
        count = condition[..., member].sum(axis=-1)
        granted = (decisions[..., member] * condition[..., member]).sum(axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rates.append(np.where(count > 0, granted / count, np.nan))
    return np.stack(rates)


def _spread(rates: np.ndarray) -> np.ndarray:
    """Largest minus smallest rate over groups; NaN when any group's rate is undefined."""
    return rates.max(axis=0) - rates.min(axis=0)


def disparate_impact_ratio(decisions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Lowest over highest group selection rate (1 = parity); the four-fifths rule asks for at least 0.8."""
    selection = rate_by_group(decisions, np.ones_like(decisions, dtype=bool), groups)
    highest = selection.max(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(highest > 0, selection.min(axis=0) / highest, np.nan)


def equal_opportunity_difference(labels: np.ndarray, decisions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The largest gap in true positive rate between groups: how unequally creditworthy applicants are accepted."""
    return _spread(rate_by_group(decisions, labels == 1, groups))


def equalized_odds_difference(labels: np.ndarray, decisions: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """The larger of the TPR gap and the false positive rate gap between groups (fairlearn's definition)."""
    return np.maximum(equal_opportunity_difference(labels, decisions, groups),
                      _spread(rate_by_group(decisions, labels == 0, groups)))
