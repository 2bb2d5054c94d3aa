"""A points scorecard on the dense model input, fitted with numpy and scikit-learn inside the Trainer.

Each numeric is cut into bins whose good rate is monotone in the value: quantile pre-bins on the train split, merged
by pool-adjacent-violators (the maximum-likelihood monotone step function over the pre-bins, in whichever direction
fits better), then merged further until every bin holds at least `min_bin_share` of the rows. Each categorical's
categories are grouped: sorted by good rate, neighbours merged until every group holds the minimum share; categories
the train split never shows (and the out-of-vocabulary column) get weight of evidence 0. A logistic regression on
the bins' weights of evidence gives each feature a coefficient (a feature whose coefficient comes out negative is
refitted out: its points would run against its own evidence); points are
    factor * (coefficient * WoE + intercept / M) + offset / M, rounded to whole points,
with factor = points_to_double_odds / ln 2 and offset = base_score - factor * ln(base_odds), so that a total of
`base_score` points means good:bad odds of `base_odds`, and every `points_to_double_odds` more double them.
The rounded table is the model: `Scorecard` scores a dense row as sigmoid((total points - offset) / factor).

Reason codes are the points each feature lost against its best bin (the industry's adverse-action method). With the
applicant who sits in every feature's best bin as the single reference row, each feature's exact Shapley value is a
monotone function of the points it lost, for any increasing link (explain.py's `reasons_agree_with_shapley`), so the
reference row travels with the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from sklearn.linear_model import LogisticRegression

SCORECARD_ASSET = "glassbox_scorecard.json"
SMOOTHING = 0.5  # added to each bin's good and bad counts, so that a pure bin has a finite weight of evidence


@dataclass(frozen=True)
class Binned:
    """One feature's bins: `index(dense)` gives each row's bin, `woe` each bin's weight of evidence."""

    feature: str
    kind: str
    edges: np.ndarray  # numeric: interior cut points in dense units, increasing; categorical: empty
    groups: np.ndarray  # categorical: the bin of each one-hot column (-1: unseen, WoE 0); numeric: empty
    goods: np.ndarray  # per bin, on the train split
    bads: np.ndarray
    woe: np.ndarray

    @property
    def bins(self) -> int:
        return len(self.woe)


def _woe(goods: np.ndarray, bads: np.ndarray) -> np.ndarray:
    good_share = (goods + SMOOTHING) / (goods.sum() + SMOOTHING * len(goods))
    bad_share = (bads + SMOOTHING) / (bads.sum() + SMOOTHING * len(bads))
    return np.log(good_share / bad_share)


def _merge(blocks: List[list], i: int) -> None:
    """Merges block i+1 into block i; a block is [goods, bads, its pre-bins or categories]."""
    blocks[i] = [blocks[i][0] + blocks[i + 1][0], blocks[i][1] + blocks[i + 1][1], blocks[i][2] + blocks[i + 1][2]]
    del blocks[i + 1]


def _rate(block: Sequence[float]) -> float:
    return (block[0] + SMOOTHING) / (block[0] + block[1] + 2 * SMOOTHING)


def _pool_adjacent_violators(blocks: List[list], increasing: bool) -> List[list]:
    blocks = [list(b) for b in blocks]
    i = 0
    while i < len(blocks) - 1:
        if (_rate(blocks[i]) > _rate(blocks[i + 1])) if increasing else (_rate(blocks[i]) < _rate(blocks[i + 1])):
            _merge(blocks, i)
            i = max(i - 1, 0)
        else:
            i += 1
    return blocks


def _log_likelihood(blocks: Sequence[list]) -> float:
    return sum(b[0] * math.log(_rate(b)) + b[1] * math.log(1 - _rate(b)) for b in blocks)


def _enforce_min_share(blocks: List[list], min_count: float) -> List[list]:
    """Merges the smallest block into the neighbour with the closer good rate until every block holds `min_count`
    rows; merging neighbours keeps a monotone (or rate-sorted) sequence monotone."""
    while len(blocks) > 1:
        sizes = [b[0] + b[1] for b in blocks]
        small = int(np.argmin(sizes))
        if sizes[small] >= min_count:
            break
        if small == 0:
            _merge(blocks, 0)
        elif small == len(blocks) - 1:
            _merge(blocks, small - 1)
        else:
            left = abs(_rate(blocks[small - 1]) - _rate(blocks[small]))
            right = abs(_rate(blocks[small + 1]) - _rate(blocks[small]))
            _merge(blocks, small - 1 if left <= right else small)
    return blocks


def bin_numeric(feature: str, values: np.ndarray, labels: np.ndarray, max_prebins: int, min_bin_share: float
                ) -> Binned:
    """Monotone bins of one numeric column (module docstring); edges lie midway between observed values."""
    distinct = np.unique(values)
    midpoints = (distinct[:-1] + distinct[1:]) / 2
    if len(midpoints) >= max_prebins:
        cuts = np.quantile(values, np.linspace(0, 1, max_prebins + 1)[1:-1])
        midpoints = np.unique(midpoints[np.clip(np.searchsorted(midpoints, cuts), 0, len(midpoints) - 1)])
    prebin = np.searchsorted(midpoints, values, side="right")
    counts = [[float(np.sum(labels[prebin == b] == 1)), float(np.sum(labels[prebin == b] == 0)), [b]]
              for b in range(len(midpoints) + 1) if np.any(prebin == b)]
    fits = [_pool_adjacent_violators(counts, increasing) for increasing in (True, False)]
    blocks = max(fits, key=_log_likelihood)
    blocks = _enforce_min_share(blocks, min_bin_share * len(values))
    edges = np.array([midpoints[b[2][-1]] for b in blocks[:-1]], dtype=np.float64)
    goods, bads = np.array([b[0] for b in blocks]), np.array([b[1] for b in blocks])
    return Binned(feature, "numeric", edges, np.array([], dtype=int), goods, bads, _woe(goods, bads))


def bin_categorical(feature: str, onehot: np.ndarray, labels: np.ndarray, min_bin_share: float) -> Binned:
    """Groups of one categorical's columns (module docstring)."""
    category = onehot.argmax(axis=1)
    seen = [c for c in range(onehot.shape[1]) if np.any(category == c)]
    blocks = sorted(([float(np.sum(labels[category == c] == 1)), float(np.sum(labels[category == c] == 0)), [c]]
                     for c in seen), key=_rate)
    blocks = _enforce_min_share(blocks, min_bin_share * len(labels))
    groups = np.full(onehot.shape[1], -1, dtype=int)
    for index, block in enumerate(blocks):
        groups[block[2]] = index
    goods, bads = np.array([b[0] for b in blocks]), np.array([b[1] for b in blocks])
    return Binned(feature, "categorical", np.array([]), groups, goods, bads, _woe(goods, bads))


def bin_index(binned: Binned, block: np.ndarray) -> np.ndarray:
    """Each row's bin (-1: an unseen category) from the feature's dense columns."""
    if binned.kind == "numeric":
        return np.searchsorted(binned.edges, block[:, 0], side="right")
    return binned.groups[block.argmax(axis=1)]


def woe_matrix(binning: Sequence[Binned], layout: Sequence[Dict], dense: np.ndarray) -> np.ndarray:
    columns = []
    for binned, entry in zip(binning, layout):
        start, end = entry["columns"]
        index = bin_index(binned, dense[:, start:end])
        columns.append(np.where(index >= 0, binned.woe[np.maximum(index, 0)], 0.0))
    return np.stack(columns, axis=1)


@dataclass(frozen=True)
class FittedScorecard:
    layout: Sequence[Dict]
    binning: Sequence[Binned]
    points: Sequence[np.ndarray]  # per feature, whole points per bin
    unseen_points: Sequence[float]  # per feature, the points of WoE 0 (unseen categories)
    coefficients: np.ndarray
    intercept: float
    factor: float
    offset: float
    settings: Dict

    def feature_points(self, dense: np.ndarray) -> np.ndarray:
        """[N, M] each row's points per feature, as the table gives them."""
        columns = []
        for binned, entry, points, unseen in zip(self.binning, self.layout, self.points, self.unseen_points):
            start, end = entry["columns"]
            index = bin_index(binned, dense[:, start:end])
            columns.append(np.where(index >= 0, points[np.maximum(index, 0)], unseen))
        return np.stack(columns, axis=1).astype(np.float64)

    def probability(self, dense: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(self.feature_points(dense).sum(axis=1) - self.offset) / self.factor))


def fit_scorecard(dense: np.ndarray, labels: np.ndarray, layout: Sequence[Dict], settings: Dict) -> FittedScorecard:
    """Bins, weight-of-evidence logistic regression and points on the train split's dense rows (module docstring).
    `settings`: min_bin_share, max_prebins, regularization (sklearn's C), base_score, base_odds,
    points_to_double_odds, and `unscored`: features that get the same points in every bin (binned and shown, never
    scored)."""
    labels = np.asarray(labels).astype(int).reshape(-1)
    binning = []
    for entry in layout:
        start, end = entry["columns"]
        if entry["kind"] == "numeric":
            binning.append(bin_numeric(entry["feature"], dense[:, start], labels, settings["max_prebins"],
                                       settings["min_bin_share"]))
        else:
            binning.append(bin_categorical(entry["feature"], dense[:, start:end], labels, settings["min_bin_share"]))
    woe = woe_matrix(binning, layout, dense)
    unscored = set(settings.get("unscored", ()))
    used = np.array([b.bins > 1 and b.feature not in unscored for b in binning])
    coefficients = np.zeros(len(layout))
    while True:
        regression = LogisticRegression(C=settings["regularization"], max_iter=1000)
        regression.fit(woe[:, used], labels)
        fitted = regression.coef_[0]
        if np.all(fitted > 0) or not used.any():
            break
        used[np.flatnonzero(used)[fitted <= 0]] = False  # points against its own evidence: refit without it
    coefficients[used] = fitted
    intercept = float(regression.intercept_[0])
    factor = settings["points_to_double_odds"] / math.log(2)
    offset = settings["base_score"] - factor * math.log(settings["base_odds"])
    share = (factor * intercept + offset) / len(layout)
    points = [np.round(factor * c * b.woe + share) for c, b in zip(coefficients, binning)]
    unseen = [float(np.round(share))] * len(layout)
    return FittedScorecard(list(layout), binning, points, unseen, coefficients, intercept, factor, offset,
                           dict(settings))


def bin_labels(binned: Binned, entry: Dict, scale: tuple) -> List[str]:
    """The bins in words: raw-unit intervals for a numeric (dense = slope * raw + intercept), category lists for a
    categorical."""
    if binned.kind == "numeric":
        slope, intercept = scale
        raw = [f"{(edge - intercept) / slope:.5g}" for edge in binned.edges]
        if not raw:
            return ["any value"]
        return ([f"< {raw[0]}"] + [f"{lo} to < {hi}" for lo, hi in zip(raw[:-1], raw[1:])] + [f">= {raw[-1]}"])
    vocabulary = entry["vocabulary"]
    return [", ".join(vocabulary[c] for c in np.flatnonzero(binned.groups == b)) for b in range(binned.bins)]


def reference_row(fitted: FittedScorecard, width: int) -> np.ndarray:
    """A dense row in every feature's best bin: the applicant the points lost are counted from."""
    row = np.zeros(width, dtype=np.float32)
    for binned, entry, points in zip(fitted.binning, fitted.layout, fitted.points):
        start, end = entry["columns"]
        best = int(np.argmax(points))
        if binned.kind == "numeric":
            edges = binned.edges
            if len(edges) == 0:
                value = 0.0
            elif best == 0:
                value = edges[0] - 1.0
            elif best == len(edges):
                value = edges[-1] + 1.0
            else:
                value = (edges[best - 1] + edges[best]) / 2
            row[start] = value
        else:
            members = np.flatnonzero(binned.groups == best)
            row[start + int(members[0])] = 1.0
    return row


def table(fitted: FittedScorecard, scales: Dict[str, tuple], width: int) -> Dict:
    """The scorecard asset: settings, scaling, one row per (feature, bin) with its points and train counts, each
    feature's best points, and the reference row."""
    rows, best = [], {}
    for binned, entry, points, unseen in zip(fitted.binning, fitted.layout, fitted.points, fitted.unseen_points):
        labels = bin_labels(binned, entry, scales.get(entry["feature"], (1.0, 0.0)))
        for label, value, goods, bads, woe in zip(labels, points, binned.goods, binned.bads, binned.woe):
            rows.append({"feature": entry["feature"], "bin": label, "points": int(value), "goods": int(goods),
                         "bads": int(bads), "woe": round(float(woe), 4)})
        if binned.kind == "categorical" and np.any(binned.groups < 0):
            unseen_names = [entry["vocabulary"][c] for c in np.flatnonzero(binned.groups < 0)]
            rows.append({"feature": entry["feature"], "bin": f"unseen in training ({', '.join(unseen_names)})",
                         "points": int(unseen), "goods": 0, "bads": 0, "woe": 0.0})
        best[entry["feature"]] = int(points.max())
    return {
        "kind": "scorecard",
        "base_score": fitted.settings["base_score"], "base_odds": fitted.settings["base_odds"],
        "points_to_double_odds": fitted.settings["points_to_double_odds"],
        "factor": fitted.factor, "offset": fitted.offset,
        "min_bin_share": fitted.settings["min_bin_share"],
        "coefficients": {e["feature"]: float(c) for e, c in zip(fitted.layout, fitted.coefficients)},
        "intercept": fitted.intercept,
        "rows": rows, "best_points": best,
        "reference_dense": reference_row(fitted, width).tolist(),
    }


class Scorecard(tf.Module):
    """The fitted table as a TensorFlow model of the dense input: numerics by comparison with their edges (piecewise
    constant, so no gradient), categoricals by a dot product of their one-hot block with the points per column."""

    def __init__(self, fitted: FittedScorecard):
        super().__init__()
        self._parts = []
        for binned, entry, points, unseen in zip(fitted.binning, fitted.layout, fitted.points, fitted.unseen_points):
            start, end = entry["columns"]
            if binned.kind == "numeric":
                self._parts.append((start, end, tf.constant(binned.edges, tf.float32),
                                    tf.constant(points, tf.float32)))
            else:
                per_column = np.where(binned.groups >= 0, points[np.maximum(binned.groups, 0)], unseen)
                self._parts.append((start, end, None, tf.constant(per_column, tf.float32)))
        self._factor = float(fitted.factor)
        self._offset = float(fitted.offset)

    def feature_points(self, dense: tf.Tensor) -> tf.Tensor:
        columns = []
        for start, end, edges, points in self._parts:
            if edges is None:
                columns.append(tf.linalg.matvec(dense[:, start:end], points))
            else:
                index = tf.reduce_sum(tf.cast(dense[:, start:start + 1] >= edges[tf.newaxis, :], tf.int32), axis=1)
                columns.append(tf.gather(points, index))
        return tf.stack(columns, axis=1)

    def __call__(self, dense: tf.Tensor, training: bool = False) -> tf.Tensor:
        total = tf.reduce_sum(self.feature_points(dense), axis=1, keepdims=True)
        return tf.sigmoid((total - self._offset) / self._factor)
