"""Stratified bootstrap, vectorised: every statistic is computed on all resamples at once along the last axis."""

from __future__ import annotations

import functools
from typing import Callable

import numpy as np

from components.model_audit.checks.result import Interval
from components.model_audit.policy import Bootstrap


def stratified_resamples(strata: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """Row indices [resamples, N]: column j always draws from the rows in j's stratum.

    Each resample therefore keeps every stratum's size, and `strata[index]` equals `strata` in every row, so
    a statistic can take its group masks from the original data. Stratifying by group keeps a small group
    from vanishing in a resample; stratifying by label keeps AUC defined.

    The checks ask for the same strata again and again (every fairness metric and its group table, per protected
    attribute): the last two indices made are kept, read-only, and given again.
    """
    strata = np.asarray(strata)
    if strata.dtype == object:
        strata = strata.astype(str)
    return _resamples(strata.tobytes(), strata.dtype.str, strata.shape, resamples, seed)


@functools.lru_cache(maxsize=2)
def _resamples(data: bytes, dtype: str, shape: tuple, resamples: int, seed: int) -> np.ndarray:
    strata = np.frombuffer(data, dtype=dtype).reshape(shape)
    rng = np.random.default_rng(seed)
    index = np.empty((resamples, len(strata)), dtype=np.intp)
    for value in np.unique(strata):
        members = np.flatnonzero(strata == value)
        index[:, members] = members[rng.integers(0, len(members), size=(resamples, len(members)))]
    index.flags.writeable = False
    return index


def percentile_interval(estimates: np.ndarray, point: float, confidence: float) -> Interval | None:
    """The percentile interval of the resampled estimates, widened to contain the point estimate.

    Fairness metrics are minima, maxima and spreads over groups, so their resampled values are biased away from
    parity: with equal groups every resampled gap is above the observed 0, and a bare percentile interval would
    exclude it. Resamples where the statistic is undefined (a group without positives) are left out; with fewer
    than half of them defined there is no interval.
    """
    finite = estimates[np.isfinite(estimates)]
    if finite.size < max(1, estimates.size // 2):
        return None
    tail = (1 - confidence) / 2
    lower, upper = np.quantile(finite, [tail, 1 - tail])
    if np.isfinite(point):
        lower, upper = min(lower, point), max(upper, point)
    return Interval(float(lower), float(upper), confidence)


def bootstrap_interval(statistic: Callable[..., np.ndarray], arrays: tuple[np.ndarray, ...], strata: np.ndarray,
                       point: float, settings: Bootstrap) -> Interval | None:
    """`statistic(*resampled_arrays)` over the policy's seeded resamples, as a percentile interval."""
    index = stratified_resamples(strata, settings.resamples, settings.seed)
    return percentile_interval(statistic(*(a[index] for a in arrays)), point, settings.confidence)
