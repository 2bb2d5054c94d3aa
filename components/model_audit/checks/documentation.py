"""Documentation: the model card states what the model is for, what it is not for, its limits and its owners."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping

from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, DocumentationCheck, ThresholdCheck

FAMILY = "documentation"


def _present(card: Mapping[str, Any], field_path: str) -> bool:
    """A dotted path that leads to something with content: blank text, an empty list or mapping is missing."""
    value: Any = card
    for part in field_path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return bool(value.strip()) if isinstance(value, str) else value is not None and value != [] and value != {}


def missing_fields(card: Mapping[str, Any], required: list[str]) -> list[str]:
    return [field_path for field_path in required if not _present(card, field_path)]


def model_card(check: DocumentationCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Counts the required fields the card lacks; the threshold is zero missing fields."""
    missing = missing_fields(inputs.model_card, check.required_fields)
    as_threshold = ThresholdCheck(requirement=check.requirement, severity=check.severity, threshold=0)
    details = {"required_fields": check.required_fields, "missing": missing}
    result = judged("model_card", FAMILY, as_threshold, len(missing), "<=", details=details)
    return [result if not missing else replace(result, reason=f"missing: {', '.join(missing)}")]


CHECKS = {"model_card": model_card}
