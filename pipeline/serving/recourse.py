"""Recourse: the smallest changes to what an applicant can change that would turn a decline into an approval.

The search is bounded and exhaustive within its bounds. Each mutable feature gets options: a categorical its
categories (the schema's domain where it closes one, within the model's vocabulary); a numeric, for changes of that
feature alone, up to `SINGLE_CHANGE_POINTS` values evenly spaced over the range the Explainer's background covers
(whole numbers for an integer feature), and, for changes of two features together, the background's values at
`grid_points` evenly spaced quantiles. Every option is encoded once, through the model's own Transform graph; the
dense encoding is feature-separable (each raw feature owns its columns, as the Shapley game also relies on), so a
changed applicant is their dense row with the changed features' columns replaced, and every single change and every
pair of changes to two different features is scored in one batched model call.

A suggestion is kept when it flips the decision and is minimal: a pair is dropped when one of its two changes flips
the decision alone. Suggestions are ranked by a cost: first the number of features changed, then the size of the
changes, where a categorical change counts 1 and a numeric one its distance in the training data's standard
deviations (the z-score the model reads: |new - old| / std), then by the higher new score. Per set of features only
the cheapest suggestion is kept, so the list offers different routes, not one route in small steps. The best
`max_suggestions` are then checked end to end: the changed values are encoded as a request is (tf.Example, the
Transform graph, the model) and a suggestion survives only when that score also reaches the threshold.

Immutable features, and every feature that carries a protected attribute, are never changed: they are simply not
among the options.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any, Dict, List, Mapping, Sequence

import numpy as np

from components.explainer.model import ExplainedModel, with_values
from components.privacy.examples import example_to_row

CATEGORICAL_COST = 1.0
CHANGED_ROWS_PER_CALL = 1 << 16  # changed applicants built and scored at once: bounds memory for long requests
SINGLE_CHANGE_POINTS = 64  # numeric values tried for a change of one feature alone


@dataclass(frozen=True)
class Option:
    """One value a mutable feature can be changed to, with its dense columns."""

    feature: str
    value: Any
    start: int
    end: int
    block: np.ndarray  # [end - start] float32
    numeric: bool
    paired: bool  # also tried together with another feature's change


@dataclass(frozen=True)
class Suggestion:
    changes: Dict[str, tuple]  # feature -> (from, to), raw values
    score: float
    cost: float

    def as_dict(self, threshold: float) -> Dict[str, Any]:
        return {"changes": {name: [before, after] for name, (before, after) in self.changes.items()},
                "score": self.score, "decision": "approve" if self.score >= threshold else "decline",
                "cost": self.cost}


def _quantile_values(values: Sequence[float], points: int) -> List[Any]:
    """Observed values at `points` evenly spaced quantiles (the nearest observation), distinct, ascending."""
    observed = np.sort(np.asarray(values))
    picks = np.unique(np.round(np.linspace(0, len(observed) - 1, points)).astype(int))
    return sorted({observed[i].item() for i in picks})


def _range_values(values: Sequence[float], points: int) -> List[Any]:
    """`points` values evenly spaced from the least to the greatest observed value, as whole numbers (distinct) when
    every observed value is one."""
    low, high = min(values), max(values)
    spaced = np.linspace(low, high, points)
    if all(isinstance(v, int) for v in values):
        return sorted({int(v) for v in np.round(spaced)})
    return [float(v) for v in spaced]


class RecourseSearch:
    def __init__(self, model: ExplainedModel, options: Sequence[Option], threshold: float, max_suggestions: int):
        self.model, self.options, self.threshold = model, list(options), threshold
        self.max_suggestions = max_suggestions
        self.mutable = sorted({o.feature for o in self.options})
        width = model.width
        singles = [(k,) for k in range(len(self.options))]
        pairs = [(a, b) for a, b in combinations(range(len(self.options)), 2)
                 if self.options[a].feature != self.options[b].feature and self.options[a].paired
                 and self.options[b].paired]
        self.combos = singles + pairs
        self._masks = np.zeros((len(self.combos), width), dtype=bool)
        self._values = np.zeros((len(self.combos), width), dtype=np.float32)
        for c, combo in enumerate(self.combos):
            for k in combo:
                option = self.options[k]
                self._masks[c, option.start:option.end] = True
                self._values[c, option.start:option.end] = option.block
        self._members = np.full((len(self.combos), 2), -1)
        for c, combo in enumerate(self.combos):
            self._members[c, :len(combo)] = combo
        self._sizes = np.array([len(c) for c in self.combos])
        self._features = [tuple(sorted(self.options[k].feature for k in combo)) for combo in self.combos]

    @classmethod
    def from_background(cls, model: ExplainedModel, background: Sequence[bytes], mutable: Sequence[str],
                        categories: Mapping[str, Sequence[str] | None], grid_points: int, threshold: float,
                        max_suggestions: int) -> RecourseSearch:
        """Options of the `mutable` features from the background rows (see the module docstring); `categories`: each
        categorical's closed domain (None where the schema leaves it open: then the background's values)."""
        rows = [example_to_row(record) for record in background]
        wanted: List[tuple] = []
        for feature, (start, end) in zip(model.features, model.blocks):
            name = feature["feature"]
            if name not in mutable:
                continue
            observed = [row[name] for row in rows if row.get(name) is not None]
            if feature["kind"] == "numeric":
                paired = _quantile_values(observed, grid_points)
                values = sorted(set(paired) | set(_range_values(observed, SINGLE_CHANGE_POINTS)))
            else:
                vocabulary = [v for v in feature["vocabulary"] if not v.startswith("<")]  # not <OOV>, <MISSING>
                domain = categories.get(name)
                values = paired = ([v for v in vocabulary if v in domain] if domain is not None
                                   else sorted(set(observed)))
            wanted.extend((name, value, start, end, feature["kind"] == "numeric", value in paired) for value in values)
        if not wanted:
            return cls(model, [], threshold, max_suggestions)
        template = background[0]
        dense = model.dense([with_values(template, {name: value}) for name, value, *_ in wanted])
        options = [Option(name, value, start, end, dense[i, start:end].copy(), numeric, paired)
                   for i, (name, value, start, end, numeric, paired) in enumerate(wanted)]
        return cls(model, options, threshold, max_suggestions)

    def proposals(self, dense: np.ndarray) -> tuple[List[List[int]], np.ndarray]:
        """For each dense row, the combos (indices into `combos`) to check end to end, best first: flipping by the
        dense shortcut, minimal, the cheapest per set of features, at most twice `max_suggestions` (some may fail
        the end-to-end check); and the cost of every combo for every row [rows, combos]."""
        if not self.combos or len(dense) == 0:
            return [[] for _ in range(len(dense))], np.zeros((len(dense), len(self.combos)))
        dense = np.asarray(dense, dtype=np.float32)
        n, combos = len(dense), len(self.combos)
        # changed[i, k]: option k differs from row i's value of its feature; distance[i, k]: its cost.
        changed = np.zeros((n, len(self.options)), dtype=bool)
        distance = np.zeros((n, len(self.options)))
        for k, option in enumerate(self.options):
            current = dense[:, option.start:option.end]
            changed[:, k] = (current != option.block).any(axis=1)
            distance[:, k] = np.abs(current[:, 0] - option.block[0]) if option.numeric else CATEGORICAL_COST
        members = self._members
        second = members[:, 1] >= 0
        valid = changed[:, members[:, 0]] & np.where(second, changed[:, np.maximum(members[:, 1], 0)], True)
        cost = distance[:, members[:, 0]] + np.where(second, distance[:, np.maximum(members[:, 1], 0)], 0.0)
        scores = np.zeros((n, combos))
        step = max(1, CHANGED_ROWS_PER_CALL // combos)
        for first in range(0, n, step):
            part = dense[first:first + step]
            rows = np.where(self._masks[np.newaxis], self._values[np.newaxis], part[:, np.newaxis, :])
            scores[first:first + step] = self.model.predict(rows.reshape(len(part) * combos, -1)).reshape(-1, combos)
        flips = valid & (scores >= self.threshold)
        singles = len(self.options)  # the first `singles` combos are the single changes, in option order
        alone = flips[:, :singles]
        minimal = ~(alone[:, members[:, 0]] | np.where(second, alone[:, np.maximum(members[:, 1], 0)], False))
        minimal[:, :singles] = True
        keep = flips & minimal
        found = []
        for i in range(n):
            candidates = np.flatnonzero(keep[i])
            order = sorted(candidates, key=lambda c: (self._sizes[c], cost[i, c], -scores[i, c], c))
            chosen, seen = [], set()
            for c in order:
                if self._features[c] in seen:
                    continue
                seen.add(self._features[c])
                chosen.append(int(c))
                if len(chosen) == 2 * self.max_suggestions:
                    break
            found.append(chosen)
        return found, cost

    def search(self, rows: Sequence[Mapping[str, Any]], dense: np.ndarray, encode) -> List[List[Suggestion]]:
        """Suggestions for each de-identified row (with its dense encoding), checked end to end: `encode` turns
        changed rows into serialized examples as a request's are."""
        if self.max_suggestions == 0:
            return [[] for _ in rows]
        proposals, costs = self.proposals(dense)
        changed_rows, owners = [], []
        for i, combos in enumerate(proposals):
            for c in combos:
                changes = {self.options[k].feature: self.options[k].value for k in self.combos[c]}
                changed_rows.append({**rows[i], **changes})
                owners.append((i, c))
        if not changed_rows:
            return [[] for _ in rows]
        scores = self.model.predict(self.model.dense(encode(changed_rows)))
        suggestions: List[List[Suggestion]] = [[] for _ in rows]
        for (i, c), score in zip(owners, scores):
            if score < self.threshold or len(suggestions[i]) == self.max_suggestions:
                continue
            options = [self.options[k] for k in self.combos[c]]
            suggestions[i].append(Suggestion(
                changes={o.feature: (rows[i][o.feature], o.value) for o in sorted(options, key=lambda o: o.feature)},
                score=float(score), cost=float(costs[i, c])))
        return suggestions
