"""audit.json: the verdict and every check with its measurement, interval, threshold and evidence."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, Sequence

import jsonschema
import numpy as np

from components.files import write_json
from components.model_audit.audit import verdict
from components.model_audit.checks.result import CheckResult, Evidence
from components.model_audit.policy import AuditPolicy, policy_digest

AUDIT_FILE = "audit.json"  # in the AuditReport artifact; the next audit reads its figures as its baseline
REPORT_SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "audit_report.schema.json"
STATUSES = ("pass", "fail", "inconclusive", "not_applicable")


def to_json_value(value: Any) -> Any:
    """Plain JSON: numpy scalars become Python numbers, and NaN or infinity null (JSON has no NaN)."""
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [to_json_value(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def audit_report(results: Sequence[CheckResult], policy: AuditPolicy, lineage: Sequence[Evidence]) -> dict:
    """audit.json's content; the verdict follows the policy's inconclusive_blocks."""
    outcome, blocking = verdict(results, policy.inconclusive_blocks)
    return to_json_value({
        "format_version": 1,
        "verdict": outcome,
        "blocking_failures": blocking,
        "counts": {status: sum(r.status == status for r in results) for status in STATUSES},
        "policy": {"source": policy.source, "digest": policy_digest(policy),
                   "inconclusive_blocks": policy.inconclusive_blocks},
        "lineage": [asdict(entry) for entry in lineage],
        "checks": [asdict(result) for result in results],
    })


def validate_audit_report(report: Mapping) -> None:
    """Raises jsonschema.ValidationError when the report breaks schemas/audit_report.schema.json."""
    schema = json.loads(REPORT_SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(report)


def write_audit_json(path: str, report: Mapping) -> None:
    """Validates, then writes atomically: a report that breaks its schema is never written."""
    validate_audit_report(report)
    write_json(path, report)


def baseline_figures(report: Mapping) -> dict[str, float]:
    """A previous audit.json's measurements by check id: the next audit's baseline."""
    return {check["id"]: check["measured"] for check in report["checks"] if check["measured"] is not None}
