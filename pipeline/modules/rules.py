"""A shallow decision tree on the dense model input, read as an ordered list of rules in plain words.

Fitted with scikit-learn inside the Trainer on the train split's dense rows (`depth` levels, every leaf holding at
least `min_leaf_share` of the rows). Each leaf is one rule: the conditions on its path, with numeric thresholds in raw
units and one-hot splits as "feature is / is not category", and the share of good risks the leaf held in training,
which is the score of every applicant it covers. The rules are listed from the lowest score up. `RuleList` scores a
dense row with the same comparisons (piecewise constant: no gradient).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf
from sklearn.tree import DecisionTreeClassifier

RULES_ASSET = "glassbox_rules.json"


@dataclass(frozen=True)
class Condition:
    column: int
    threshold: float
    above: bool  # dense[column] > threshold (else <=)


@dataclass(frozen=True)
class Rule:
    conditions: Sequence[Condition]
    probability: float  # the leaf's share of good risks in training
    goods: int
    bads: int


def fit_rules(dense: np.ndarray, labels: np.ndarray, settings: Dict, seed: int) -> List[Rule]:
    """The tree's leaves as rules, lowest score first; `settings`: depth, min_leaf_share."""
    labels = np.asarray(labels).astype(int).reshape(-1)
    tree = DecisionTreeClassifier(max_depth=settings["depth"], random_state=seed,
                                  min_samples_leaf=max(1, int(np.ceil(settings["min_leaf_share"] * len(labels)))))
    tree.fit(dense, labels)
    nodes = tree.tree_
    leaf_of = tree.apply(dense)
    rules = []

    def walk(node: int, path: List[Condition]) -> None:
        if nodes.children_left[node] < 0:
            members = labels[leaf_of == node]
            goods, bads = int(members.sum()), int(len(members) - members.sum())
            rules.append(Rule(tuple(path), goods / max(goods + bads, 1), goods, bads))
            return
        column, threshold = int(nodes.feature[node]), float(nodes.threshold[node])
        walk(nodes.children_left[node], path + [Condition(column, threshold, False)])
        walk(nodes.children_right[node], path + [Condition(column, threshold, True)])

    walk(0, [])
    return sorted(rules, key=lambda rule: rule.probability)


def _owner(layout: Sequence[Dict], column: int) -> Dict:
    return next(e for e in layout if e["columns"][0] <= column < e["columns"][1])


def condition_text(condition: Condition, layout: Sequence[Dict], scales: Dict[str, tuple]) -> str:
    """'credit_amount > 7882' in raw units (dense = slope * raw + intercept), 'checking_account is little'."""
    entry = _owner(layout, condition.column)
    if entry["kind"] == "categorical":
        category = entry["vocabulary"][condition.column - entry["columns"][0]]
        return f"{entry['feature']} {'is' if condition.above else 'is not'} {category}"
    slope, intercept = scales.get(entry["feature"], (1.0, 0.0))
    return f"{entry['feature']} {'>' if condition.above else '<='} {(condition.threshold - intercept) / slope:.5g}"


def table(rules: Sequence[Rule], layout: Sequence[Dict], scales: Dict[str, tuple], settings: Dict) -> Dict:
    """The rules asset: each rule in words with its score and training counts."""
    return {"kind": "rules", "depth": settings["depth"], "min_leaf_share": settings["min_leaf_share"], "rules": [
        {"rule": " and ".join(condition_text(c, layout, scales) for c in rule.conditions) or "every applicant",
         "score": round(rule.probability, 4), "goods": rule.goods, "bads": rule.bads} for rule in rules]}


class RuleList(tf.Module):
    """The rules as a TensorFlow model of the dense input: each row takes the score of the one rule it meets."""

    def __init__(self, rules: Sequence[Rule]):
        super().__init__()
        self._rules = [([(c.column, float(c.threshold), c.above) for c in rule.conditions], float(rule.probability))
                       for rule in rules]

    def __call__(self, dense: tf.Tensor, training: bool = False) -> tf.Tensor:
        # compared in float64, as scikit-learn compares its float32 inputs with its float64 thresholds
        wide = tf.cast(dense, tf.float64)
        score = tf.zeros_like(dense[:, :1])
        for conditions, probability in self._rules:
            met = tf.ones_like(dense[:, 0], dtype=tf.bool)
            for column, threshold, above in conditions:
                met &= (wide[:, column] > threshold) if above else (wide[:, column] <= threshold)
            score += tf.cast(met, tf.float32)[:, tf.newaxis] * probability
        return score
