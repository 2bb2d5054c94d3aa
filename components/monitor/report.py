"""monitor.json and report.html: every monitoring check, the alerts among them, and what they rest on."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Mapping, Sequence

from components.model_audit.checks.result import CheckResult, Evidence
from components.model_audit.report.audit_json import to_json_value
from components.model_audit.report.html import attention_order, render_page

TEMPLATE = Path(__file__).resolve().parent / "templates" / "monitor.html.j2"
FAMILIES = (("schema", "Data contract"), ("data_drift", "Data drift"), ("prediction_drift", "Prediction drift"),
            ("attribution_drift", "Attribution drift"), ("performance", "Performance on the span"),
            ("fairness", "Fairness on the span"))


def alerts(results: Sequence[CheckResult]) -> list[CheckResult]:
    """The failed checks: each is an alert with its check's severity (block: act before the model serves on)."""
    return [r for r in results if r.status == "fail"]


def monitor_report(results: Sequence[CheckResult], span: Mapping, policy: Mapping, lineage: Sequence[Evidence]
                   ) -> dict:
    raised = alerts(results)
    return to_json_value({
        "format_version": 1,
        "alerts": [{"id": r.id, "family": r.family, "severity": r.severity, "measured": r.measured,
                    "threshold": r.threshold, "comparison": r.comparison} for r in raised],
        "counts": {"block": sum(r.severity == "block" for r in raised),
                   "warn": sum(r.severity == "warn" for r in raised), "checks": len(results)},
        "drifted_features": [r.details["feature"] for r in raised if r.family == "data_drift"],
        "span": dict(span),
        "policy": dict(policy),
        "lineage": [asdict(entry) for entry in lineage],
        "checks": [asdict(result) for result in results],
    })


def render_monitor_html(report: Mapping, title: str, importance_png: bytes | None = None) -> str:
    checks = attention_order(report["checks"])
    by_family = {family: [c for c in checks if c["family"] == family] for family, _ in FAMILIES}
    return render_page(TEMPLATE, title=title, report=report, families=FAMILIES, by_family=by_family,
                       attention=[c for c in checks if c["status"] == "fail"], importance_png=importance_png)
