"""Performance of a multi-class (image) model: overall accuracy and the accuracy of its worst class."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from components.model_audit.checks.bootstrap import bootstrap_interval
from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, EstimatedCheck

FAMILY = "performance"


def _correct(inputs: AuditInputs) -> tuple[np.ndarray, np.ndarray]:
    classes = inputs.classes
    labels = np.asarray(classes.labels)
    return labels, (classes.predicted == labels).astype(np.float64)


def accuracy(check: EstimatedCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Share of eval examples classified correctly, with a bootstrap interval resampled within each class."""
    labels, correct = _correct(inputs)
    point = float(correct.mean())
    interval = bootstrap_interval(lambda c: c.mean(axis=-1), (correct,), labels, point, policy.bootstrap)
    return [judged("accuracy", FAMILY, check, point, ">=", interval, {"examples": len(labels)})]


def class_accuracies(labels: np.ndarray, correct: np.ndarray) -> dict:
    """{class: {'examples', 'accuracy'}}: the share of each class's examples recognised (its recall)."""
    return {str(c): {"examples": int((labels == c).sum()), "accuracy": float(correct[labels == c].mean())}
            for c in np.unique(labels)}


def worst_class_accuracy(check: EstimatedCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The lowest per-class accuracy; a class with fewer than min_group_examples makes the check inconclusive
    unless another class already fails it."""
    labels, correct = _correct(inputs)
    per_class = class_accuracies(labels, correct)
    judged_classes = {c: e["accuracy"] for c, e in per_class.items() if e["examples"] >= policy.min_group_examples}
    small = sorted(set(per_class) - set(judged_classes), key=int)
    if not judged_classes:
        return [judged("worst_class_accuracy", FAMILY, check, None, ">=", details={"classes": per_class},
                       inconclusive_because=f"no class has {policy.min_group_examples} examples")]
    worst = min(judged_classes, key=judged_classes.get)
    member = labels == int(worst)
    point = judged_classes[worst]
    interval = bootstrap_interval(lambda c: c.mean(axis=-1), (correct[member],), labels[member], point,
                                  policy.bootstrap)
    result = judged("worst_class_accuracy", FAMILY, check, point, ">=", interval,
                    {"worst_class": worst, "classes": per_class})
    if result.status == "pass" and small:
        return [replace(result, status="inconclusive",
                        reason=f"classes {', '.join(small)} have fewer than {policy.min_group_examples} examples")]
    return [result]


CHECKS = {"accuracy": accuracy, "worst_class_accuracy": worst_class_accuracy}
