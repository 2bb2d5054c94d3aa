"""Fairness per protected attribute: disparate impact, equal opportunity and equalized odds, with bootstrap CIs.

The favourable outcome is label 1 (good credit risk) and a decision grants it when the score reaches the decision
threshold. The metrics (components.metrics) score the data or all bootstrap resamples of an attribute in one call;
`groups` [N] stays fixed because the resampling is stratified by group.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from components.metrics import (
    disparate_impact_ratio,
    equal_opportunity_difference,
    equalized_odds_difference,
    rate_by_group,
)
from components.model_audit.checks.bootstrap import bootstrap_interval, percentile_interval, stratified_resamples
from components.model_audit.checks.result import CheckResult, Direction, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, Bootstrap, EstimatedCheck

FAMILY = "fairness"


@dataclass(frozen=True)
class FairnessMetric:
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]  # (labels, decisions, groups)
    comparison: Direction
    needs: tuple[str, ...]  # the label classes every group must hold for the metric to be defined


METRICS = {
    "disparate_impact_ratio": FairnessMetric(
        lambda labels, decisions, groups: disparate_impact_ratio(decisions, groups), ">=", ()),
    "equal_opportunity_difference": FairnessMetric(equal_opportunity_difference, "<=", ("positives",)),
    "equalized_odds_difference": FairnessMetric(equalized_odds_difference, "<=", ("positives", "negatives")),
}


def group_rates(labels: np.ndarray, decisions: np.ndarray, groups: np.ndarray, settings: Bootstrap) -> dict:
    """Per group: its size, positives, negatives, and selection rate, TPR and FPR each with a bootstrap CI."""
    index = stratified_resamples(groups, settings.resamples, settings.seed)
    table = {
        str(value): {"examples": int((groups == value).sum()), "positives": int(labels[groups == value].sum()),
                     "negatives": int((labels[groups == value] == 0).sum())}
        for value in np.unique(groups)
    }
    conditions = {"selection_rate": np.ones_like(labels, dtype=bool), "tpr": labels == 1, "fpr": labels == 0}
    for name, condition in conditions.items():
        points = rate_by_group(decisions, condition, groups)
        resampled = rate_by_group(decisions[index], condition[index], groups)
        for row, entry in enumerate(table.values()):
            interval = percentile_interval(resampled[row], points[row], settings.confidence)
            entry[name] = float(points[row]) if np.isfinite(points[row]) else None
            entry[f"{name}_ci"] = [interval.lower, interval.upper] if interval else None
    return table


def _inconclusive_because(table: dict, metric: FairnessMetric, min_examples: int) -> str | None:
    small = [group for group, entry in table.items() if entry["examples"] < min_examples]
    if small:
        return f"groups {', '.join(small)} have fewer than {min_examples} examples"
    for kind in metric.needs:
        lacking = [group for group, entry in table.items() if entry[kind] == 0]
        if lacking:
            return f"groups {', '.join(lacking)} have no {kind}, so their rate is undefined"
    if len(table) < 2:
        return "a single group: there is nothing to compare"
    return None


def fairness_results(check_id: str, check: EstimatedCheck, policy: AuditPolicy, inputs: AuditInputs
                     ) -> list[CheckResult]:
    """One result per protected attribute, id `<check>.<attribute>`."""
    metric = METRICS[check_id]
    labels = np.asarray(inputs.predictions.labels)
    decisions = inputs.predictions.decisions
    results = []
    for attribute in policy.protected_attributes:
        groups = np.asarray(inputs.predictions.groups[attribute]).astype(str)
        statistic = partial(metric.compute, groups=groups)
        point = float(statistic(labels, decisions))
        interval = bootstrap_interval(statistic, (labels, decisions), groups, point, policy.bootstrap)
        table = group_rates(labels, decisions, groups, policy.bootstrap)
        details = {"attribute": attribute, "decision_threshold": inputs.predictions.decision_threshold,
                   "groups": table}
        results.append(judged(f"{check_id}.{attribute}", FAMILY, check, point, metric.comparison, interval, details,
                              _inconclusive_because(table, metric, policy.min_group_examples)))
    return results


CHECKS = {check_id: partial(fairness_results, check_id) for check_id in METRICS}
