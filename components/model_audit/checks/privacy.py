"""Privacy: the Privacy component's report shows no personal data left and the anonymity the policy requires."""

from __future__ import annotations

from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, ThresholdCheck

FAMILY = "privacy"


def pii_after_deidentification(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs
                               ) -> list[CheckResult]:
    """PII detector hits in the de-identified data, over every column; any hit is personal data that got through."""
    hits = inputs.privacy_report.get("detector_hits_after_total")
    return [judged("pii_after_deidentification", FAMILY, check, hits, "<=")]


def k_anonymity(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The released data's k against the stricter of this policy's k and the privacy policy's own."""
    anonymity = inputs.privacy_report.get("anonymity") or {}
    required_k = anonymity.get("required_k")
    threshold = max(check.threshold, required_k) if required_k is not None else check.threshold
    details = {"audit_policy_k": check.threshold, "privacy_policy_k": required_k}
    return [judged("k_anonymity", FAMILY, check.model_copy(update={"threshold": threshold}), anonymity.get("k"), ">=",
                   details=details)]


CHECKS = {"pii_after_deidentification": pii_after_deidentification, "k_anonymity": k_anonymity}
