"""Interpretable challengers: what a logistic regression and a shallow tree achieve on the network's own inputs,
and how faithfully a shallow tree mimics the network (a global surrogate).

Everything runs on the dense matrix the network reads (z-scored numerics, one-hot categoricals), built from the
Transform output the Trainer used, so the comparison differs in the model family only. The surrogate tree is shown
with its numeric thresholds mapped back to raw units (a reviewer reads "credit_amount <= 7,882", not a z-score).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text

from components.interpretable import logistic_regression
from components.metrics import roc_auc
from components.model_audit.checks.bootstrap import bootstrap_interval
from components.model_audit.checks.result import Interval
from components.model_audit.policy import Bootstrap, ChallengerCheck


@dataclass(frozen=True)
class ChallengerData:
    """The network's dense inputs, labels and scores on the train and eval splits; `columns` names the inputs and
    `scales` maps a numeric column to (slope, intercept) of dense = slope * raw + intercept (absent: shown as is)."""

    columns: Sequence[str]
    train_x: np.ndarray  # [N_train, D]
    train_labels: np.ndarray  # [N_train] 0/1
    train_scores: np.ndarray  # [N_train] the network's predicted probability
    eval_x: np.ndarray
    eval_labels: np.ndarray
    eval_scores: np.ndarray
    scales: Mapping[int, tuple] = field(default_factory=dict)


@dataclass(frozen=True)
class ChallengerComparison:
    """The challengers' eval AUCs, the network's gain over the best one (with its CI) and the surrogate."""

    network_auc: float
    challenger_aucs: dict[str, float]
    best: str
    gain: float
    gain_ci: Interval | None
    surrogate: DecisionTreeRegressor  # thresholds in raw units where the data had scales
    columns: Sequence[str]
    surrogate_agreement: float
    surrogate_r2: float
    surrogate_text: str
    examples: int

    def details(self) -> dict:
        return {
            "network_auc": self.network_auc, "challenger_aucs": self.challenger_aucs, "best_challenger": self.best,
            "examples": self.examples,
            "surrogate": {"depth": self.surrogate.get_depth(), "leaves": self.surrogate.get_n_leaves(),
                          "agreement": self.surrogate_agreement, "r2": self.surrogate_r2,
                          "tree": self.surrogate_text},
        }


def challengers(tree_depth: int, seed: int) -> dict:
    """The interpretable model families, unfitted."""
    return {
        "logistic_regression": logistic_regression(),
        f"decision_tree_depth_{tree_depth}": DecisionTreeClassifier(max_depth=tree_depth, min_samples_leaf=10,
                                                                    random_state=seed),
    }


def in_raw_units(tree: DecisionTreeRegressor, scales: Mapping[int, tuple]) -> DecisionTreeRegressor:
    """A copy of the fitted tree whose splits on scaled columns compare raw values: dense <= t is
    raw <= (t - intercept) / slope for a positive slope (z-scoring divides by a positive deviation)."""
    if any(slope <= 0 for slope, _ in scales.values()):
        raise ValueError(f"a numeric column's scale must have a positive slope, got {dict(scales)}")
    readable = copy.deepcopy(tree)
    nodes = readable.tree_
    for node in np.flatnonzero(nodes.children_left >= 0):  # split nodes; leaves have no threshold
        slope, intercept = scales.get(int(nodes.feature[node]), (1.0, 0.0))
        nodes.threshold[node] = (nodes.threshold[node] - intercept) / slope
    return readable


def r_squared(target: np.ndarray, fitted: np.ndarray) -> float:
    residual = float(np.sum((target - fitted) ** 2))
    total = float(np.sum((target - np.mean(target)) ** 2))
    return 1.0 - residual / total if total > 0 else float(residual == 0)


def compare(data: ChallengerData, check: ChallengerCheck, bootstrap: Bootstrap, decision_threshold: float
            ) -> ChallengerComparison:
    """Fits the challengers on train, scores everything on eval, and bootstraps the gain over the best challenger.

    The gain's interval resamples the eval examples within each label class, pairing the two models' scores on
    the same resampled examples; the surrogate is fitted to the network's train scores and judged on eval.
    """
    labels = np.asarray(data.eval_labels).astype(int)
    scores = {}
    for name, model in challengers(check.tree_depth, bootstrap.seed).items():
        model.fit(data.train_x, np.asarray(data.train_labels).astype(int))
        scores[name] = model.predict_proba(data.eval_x)[:, 1]
    aucs = {name: float(roc_auc(labels, s)) for name, s in scores.items()}
    best = max(aucs, key=aucs.get)
    network = np.asarray(data.eval_scores, dtype=np.float64)
    network_auc = float(roc_auc(labels, network))
    gain = network_auc - aucs[best]
    interval = bootstrap_interval(lambda n, c: roc_auc(labels, n) - roc_auc(labels, c), (network, scores[best]),
                                  labels, gain, bootstrap)

    surrogate = DecisionTreeRegressor(max_depth=check.surrogate_depth, random_state=bootstrap.seed)
    surrogate.fit(data.train_x, data.train_scores)
    mimic = surrogate.predict(data.eval_x)
    agreement = float(np.mean((mimic >= decision_threshold) == (network >= decision_threshold)))
    readable = in_raw_units(surrogate, data.scales)
    text = export_text(readable, feature_names=list(data.columns), decimals=3)
    return ChallengerComparison(network_auc, aucs, best, gain, interval, readable, list(data.columns), agreement,
                      r_squared(network, mimic), text, len(labels))
