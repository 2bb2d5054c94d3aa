"""Runs the checks a policy lists, attaches each family's evidence, and reaches the verdict."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal, Sequence

from components.model_audit.checks import (
    challenger,
    data,
    documentation,
    explanation,
    fairness,
    image_explanation,
    image_performance,
    performance,
    privacy,
)
from components.model_audit.checks.result import CheckResult, Evidence, not_applicable
from components.model_audit.inputs import AuditInputs, check_audit_inputs
from components.model_audit.policy import AuditPolicy, Check, Checks, policy_digest

FAMILIES = (performance, challenger, image_performance, fairness, explanation, image_explanation, data, privacy,
            documentation)
CHECKS = {check_id: (family.FAMILY, run) for family in FAMILIES for check_id, run in family.CHECKS.items()}


def run_checks(policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Every check the policy lists, in the policy model's order; inputs that do not fit fail first."""
    check_audit_inputs(policy, inputs)
    results = []
    for check_id in Checks.model_fields:
        check = getattr(policy.checks, check_id)
        if check is None:
            continue
        family, run = CHECKS[check_id]
        evidence = tuple(inputs.evidence.get(family, ()))
        results.extend(replace(result, evidence=evidence) for result in run(check, policy, inputs))
    # What says a family does not apply is the policy itself.
    policy_evidence = (Evidence(role="audit_policy", artifact_id="file", uri=policy.source,
                                sha256=policy_digest(policy)),)
    for family, reason in policy.not_applicable.items():
        check = Check(requirement=f"The policy declares no {family} check applicable to this model.", severity="warn")
        results.append(replace(not_applicable(family, family, check, reason), evidence=policy_evidence))
    return results


def verdict(results: Sequence[CheckResult], inconclusive_blocks: bool = False
            ) -> tuple[Literal["pass", "fail"], list[str]]:
    """'fail' with the ids of the blocking failures, when a block check failed (or, if the policy says so, could
    not be decided); a warn check never fails the audit."""
    blocking_statuses = {"fail", "inconclusive"} if inconclusive_blocks else {"fail"}
    blocking = [r.id for r in results if r.severity == "block" and r.status in blocking_statuses]
    return ("fail" if blocking else "pass"), blocking
