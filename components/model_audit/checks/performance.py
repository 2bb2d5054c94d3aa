"""Performance: overall and worst-slice AUC, calibration, and no regression against the last audited model."""

from __future__ import annotations

from dataclasses import replace
from typing import Iterator, Mapping

import numpy as np

from components.metrics import expected_calibration_error, reliability_table, roc_auc
from components.model_audit.checks.bootstrap import bootstrap_interval
from components.model_audit.checks.result import CheckResult, Interval, judged, not_applicable
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, CalibrationCheck, EstimatedCheck, ThresholdCheck

FAMILY = "performance"


def _auc_with_interval(labels: np.ndarray, scores: np.ndarray, policy: AuditPolicy) -> tuple[float, Interval | None]:
    """AUC and its bootstrap interval, resampling within each class so every resample has both."""
    point = float(roc_auc(labels, scores))
    interval = bootstrap_interval(lambda s: roc_auc(labels, s), (scores,), labels, point, policy.bootstrap)
    return point, interval


def overall_auc(check: EstimatedCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    labels, scores = np.asarray(inputs.predictions.labels), np.asarray(inputs.predictions.scores)
    point, interval = _auc_with_interval(labels, scores, policy)
    details = {"examples": len(labels), "positives": int(labels.sum())}
    return [judged("overall_auc", FAMILY, check, point, ">=", interval, details)]


def _slices(groups: Mapping[str, np.ndarray]) -> Iterator[tuple[str, np.ndarray]]:
    """('column:value', membership mask) for every value of every slicing column."""
    for column, values in groups.items():
        values = np.asarray(values)
        for value in np.unique(values):
            yield f"{column}:{value}", values == value


def slice_aucs(labels: np.ndarray, scores: np.ndarray, groups: Mapping[str, np.ndarray], min_examples: int) -> dict:
    """{'column:value': {'examples', 'auc' or None, 'reason'}} for every slice; a small or one-class slice has
    no AUC (and a reason) rather than a noisy or undefined one."""
    slices = {}
    for name, member in _slices(groups):
        entry: dict = {"examples": int(member.sum()), "auc": None, "reason": None}
        if member.sum() < min_examples:
            entry["reason"] = f"{member.sum()} examples, fewer than {min_examples}"
        elif len(np.unique(labels[member])) < 2:
            entry["reason"] = "a single label class"
        else:
            entry["auc"] = float(roc_auc(labels[member], scores[member]))
        slices[name] = entry
    return slices


def worst_slice_auc(check: EstimatedCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The lowest slice AUC. A failing slice fails the check; otherwise a slice without an AUC makes it
    inconclusive, since the requirement cannot be vouched for there."""
    labels, scores = np.asarray(inputs.predictions.labels), np.asarray(inputs.predictions.scores)
    slices = slice_aucs(labels, scores, inputs.predictions.groups, policy.min_group_examples)
    measured = {name: entry["auc"] for name, entry in slices.items() if entry["auc"] is not None}
    if not measured:
        return [judged("worst_slice_auc", FAMILY, check, None, ">=", details={"slices": slices},
                       inconclusive_because="no slice has enough examples of both classes")]
    worst = min(measured, key=measured.get)
    member = dict(_slices(inputs.predictions.groups))[worst]
    point, interval = _auc_with_interval(labels[member], scores[member], policy)
    result = judged("worst_slice_auc", FAMILY, check, point, ">=", interval, {"worst_slice": worst, "slices": slices})
    unmeasured = [name for name in slices if name not in measured]
    if result.status == "pass" and unmeasured:
        return [replace(result, status="inconclusive", reason=f"no AUC for the slices {', '.join(unmeasured)}")]
    return [result]


def calibration_ece(check: CalibrationCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    labels = np.asarray(inputs.predictions.labels, dtype=np.float64)
    scores = np.asarray(inputs.predictions.scores, dtype=np.float64)
    point = float(expected_calibration_error(labels, scores, check.bins))
    interval = bootstrap_interval(lambda y, s: expected_calibration_error(y, s, check.bins), (labels, scores),
                                  np.zeros(len(labels)), point, policy.bootstrap)
    details = {"bins": reliability_table(labels, scores, check.bins)}
    return [judged("calibration_ece", FAMILY, check, point, "<=", interval, details)]


def auc_regression(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The drop in overall AUC from the last audited model; a first audit has nothing to regress from."""
    baseline = (inputs.baseline or {}).get("overall_auc")
    if baseline is None:
        return [not_applicable("auc_regression", FAMILY, check, "no audited baseline model with an overall AUC")]
    current = float(roc_auc(inputs.predictions.labels, inputs.predictions.scores))
    details = {"baseline_auc": baseline, "current_auc": current}
    return [judged("auc_regression", FAMILY, check, baseline - current, "<=", details=details)]


CHECKS = {"overall_auc": overall_auc, "worst_slice_auc": worst_slice_auc, "calibration_ece": calibration_ece,
          "auc_regression": auc_regression}
