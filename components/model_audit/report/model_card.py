"""model_card.json in Model Card Toolkit's schema v0.0.2: the hand-written card plus the audit's measurements.

MCT's schema has no field for out-of-scope uses, so they join the limitations, each marked as such; its metric
values and interval bounds are strings.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

from components.files import write_json

SCHEMA_VERSION = "0.0.2"


def _text(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _field(mapping: Mapping[str, Any], key: str) -> str:
    """A text field of the card, "" when absent: the documentation check reports what is missing."""
    return str(mapping.get(key) or "").strip()


def _descriptions(items: Any, prefix: str = "") -> list[dict[str, str]]:
    items = [items] if isinstance(items, str) else list(items or [])
    return [{"description": prefix + str(item).strip()} for item in items]


def performance_metrics(report: Mapping) -> list[dict]:
    """Every measured check (sliced by its attribute where it has one) and every slice's AUC."""
    metrics = []
    for check in report["checks"]:
        if check["measured"] is None:
            continue
        name, _, attribute = check["id"].partition(".")
        metric = {"type": name, "value": _text(check["measured"]), "slice": attribute or "overall"}
        if check["ci"]:
            metric["confidence_interval"] = {"lower_bound": _text(check["ci"]["lower"]),
                                             "upper_bound": _text(check["ci"]["upper"])}
        metrics.append(metric)
        for slice_name, entry in check["details"].get("slices", {}).items():
            if entry.get("auc") is not None:
                metrics.append({"type": "auc", "value": _text(entry["auc"]), "slice": slice_name})
    return metrics


def _audit_summary(report: Mapping) -> str:
    counts = report["counts"]
    blocking = f" Blocking failures: {', '.join(report['blocking_failures'])}." if report["blocking_failures"] else ""
    return (f"Audit verdict: {report['verdict']} ({counts['pass']} checks passed, {counts['fail']} failed, "
            f"{counts['inconclusive']} inconclusive, {counts['not_applicable']} not applicable; policy digest "
            f"{report['policy']['digest']}).{blocking}")


def model_card_json(card: Mapping[str, Any], report: Mapping, version: str, graphics: Mapping[str, bytes]) -> dict:
    """The card (schemas/german_credit/model_card.yaml content) and the audit report, in MCT's field names."""
    documentation = " ".join(part for part in (_field(card, "documentation"), _audit_summary(report))
                             if part)
    return {
        "schema_version": SCHEMA_VERSION,
        "model_details": {
            "name": _field(card, "name"),
            "overview": _field(card, "overview"),
            "documentation": documentation,
            "owners": [{"name": _field(o, "name"), "contact": _field(o, "contact")}
                       for o in card.get("owners") or []],
            "version": {"name": version},
        },
        "model_parameters": {
            "model_architecture": _field(card, "model_architecture"),
            "input_format": _field(card, "input_format"),
            "output_format": _field(card, "output_format"),
            "data": [{"name": _field(d, "name"), "description": _field(d, "description"),
                      "sensitive": {"sensitive_data": [str(s) for s in d.get("sensitive") or []]}}
                     for d in card.get("data") or []],
        },
        "quantitative_analysis": {
            "performance_metrics": performance_metrics(report),
            "graphics": {
                "description": "Audit charts: fairness per protected attribute, global feature importance.",
                "collection": [{"name": name, "image": base64.b64encode(png).decode("ascii")}
                               for name, png in graphics.items()],
            },
        },
        "considerations": {
            "users": _descriptions(card.get("intended_users")),
            "use_cases": _descriptions(card.get("intended_use")),
            "limitations": _descriptions(card.get("limitations"))
            + _descriptions(card.get("out_of_scope_uses"), "Out of scope: "),
            "tradeoffs": _descriptions(card.get("tradeoffs")),
            "ethical_considerations": [
                {"name": _field(r, "name"), "mitigation_strategy": _field(r, "mitigation_strategy")}
                for r in card.get("ethical_considerations") or []
            ],
        },
    }


def write_model_card(path: str, model_card: Mapping) -> None:
    write_json(path, model_card)
