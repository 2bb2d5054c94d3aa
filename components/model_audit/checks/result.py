"""What every check returns, and how a measured value is judged against the policy's threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

from components.model_audit.policy import Check, EstimatedCheck, ThresholdCheck

Status = Literal["pass", "fail", "inconclusive", "not_applicable"]
Direction = Literal[">=", "<="]


@dataclass(frozen=True)
class Evidence:
    """An artifact a result rests on, as MLMD knows it: lineage can be followed from the report back to it."""

    role: str
    artifact_id: int | str
    uri: str
    sha256: str


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float
    confidence: float


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome. `reason` says why a result is inconclusive or not applicable, in words."""

    id: str
    family: str
    requirement: str
    severity: Literal["block", "warn"]
    status: Status
    measured: float | None = None
    threshold: float | None = None
    comparison: Direction | None = None
    rule: Literal["point", "ci_bound"] | None = None
    ci: Interval | None = None
    reason: str | None = None
    evidence: tuple[Evidence, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


def meets(value: float, threshold: float, comparison: Direction) -> bool:
    return value >= threshold if comparison == ">=" else value <= threshold


def judged(
    check_id: str,
    family: str,
    check: ThresholdCheck,
    measured: float | None,
    comparison: Direction,
    ci: Interval | None = None,
    details: Mapping[str, Any] | None = None,
    inconclusive_because: str | None = None,
) -> CheckResult:
    """The result of comparing `measured` with the check's threshold.

    Under the `ci_bound` rule the interval's unfavourable end is compared instead of the point estimate, so a
    pass means the requirement holds across the whole interval. An undefined measurement (None or NaN), a
    missing interval under `ci_bound`, or a caller's `inconclusive_because` makes the result inconclusive:
    too little evidence is reported as such, never as a pass or a fail.
    """
    rule = check.rule if isinstance(check, EstimatedCheck) else None
    if measured is not None and math.isnan(measured):
        measured = None
    reason = inconclusive_because
    if reason is None and measured is None:
        reason = "the measurement is undefined on this data"
    if reason is None and rule == "ci_bound" and ci is None:
        reason = "no confidence interval could be estimated for the ci_bound rule"
    if reason is None:
        compared = measured if rule != "ci_bound" else (ci.lower if comparison == ">=" else ci.upper)
        status: Status = "pass" if meets(compared, check.threshold, comparison) else "fail"
    else:
        status = "inconclusive"
    return CheckResult(
        id=check_id, family=family, requirement=check.requirement, severity=check.severity, status=status,
        measured=measured, threshold=check.threshold, comparison=comparison, rule=rule, ci=ci, reason=reason,
        details=dict(details or {}),
    )


def not_applicable(check_id: str, family: str, check: Check, reason: str) -> CheckResult:
    return CheckResult(
        id=check_id, family=family, requirement=check.requirement, severity=check.severity,
        status="not_applicable", threshold=getattr(check, "threshold", None), reason=reason,
    )
