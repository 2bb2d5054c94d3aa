"""The privacy report from the measured aggregates, and the checks that can only be made over all of the data.

`check_aggregates` fails closed (PrivacyViolationError, with the measured figures) on values that a
generalization cannot place, on an undeclared column in which PII detectors fire too often, and on classes
below k or l when the policy says `on_k_violation: fail`; otherwise it returns the report and the
equivalence classes to suppress.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Set, Tuple

from components.privacy.actions import (
    check_detector_rate,
    check_placeable,
    classes_to_suppress,
    k_anonymity,
    l_diversity,
)
from components.privacy.frames import ClassStats
from components.privacy.policy import PrivacyPolicy, policy_digest

MEASURES = ("rows", "affected", "non_empty_text", "pii_before", "pii_after")


def column_report(counts: Mapping[Tuple[str, str], int], policy: PrivacyPolicy) -> Dict[str, Dict]:
    """Per raw column: its action, output name, and what the action did (counts as `frames.column_counts` gives)."""
    report = {}
    for column in sorted({column for column, _ in counts}):
        measured = {measure: counts.get((column, measure), 0) for measure in MEASURES}
        rule = policy.columns.get(column)
        dropped = bool(rule and rule.action == "drop")
        report[column] = {
            "action": rule.action if rule else "undeclared (redact_pii)",
            "released_as": None if dropped else policy.output_name(column),
            "rows": measured["rows"],
            "rows_affected": measured["affected"],
            "text_values": measured["non_empty_text"],
            "detector_hits_before": measured["pii_before"],
            "detector_hits_after": 0 if dropped else measured["pii_after"],
        }
    return report


def anonymity_report(classes: ClassStats, policy: PrivacyPolicy) -> Tuple[Dict[str, Any], Set[tuple]]:
    """k and l before and after suppression (or why l-diversity does not apply to this data), and the classes to
    suppress; raises when the policy says `fail`."""
    counts = {group: rows for group, (rows, _) in classes.items()}
    labels = {group: group_labels for group, (_, group_labels) in classes.items()}
    # classes_to_suppress reads `l_diversity`: hand it only what applies to this data.
    applied = policy.model_copy(update={"l_diversity": policy.applied_l_diversity})
    suppressed = classes_to_suppress(counts, labels, applied)
    kept = {group: n for group, n in counts.items() if group not in suppressed}
    measures = {
        "quasi_identifiers": policy.quasi_identifiers,
        "required_k": policy.k,
        "k_before": k_anonymity(counts),
        "k": k_anonymity(kept),
        "equivalence_classes": len(counts),
        "suppressed_classes": len(suppressed),
        "suppressed_rows": sum(counts[g] for g in suppressed),
    }
    if policy.l_diversity:
        measures.update({"l_label": policy.l_diversity.label, "required_l": policy.l_diversity.distinct})
    if policy.l_diversity_skipped:
        measures["l_diversity_skipped"] = policy.l_diversity_skipped
    elif policy.l_diversity:
        measures.update({"l_before": l_diversity(labels), "l": l_diversity({g: labels[g] for g in kept})})
    return measures, suppressed


def check_aggregates(
    counts: Mapping[Tuple[str, str], int], classes: ClassStats, policy: PrivacyPolicy, splits: List[str],
    unplaceable: Mapping[Tuple[str, str], Tuple[int, str]],
) -> Tuple[Dict[str, Any], Set[tuple]]:
    """The report (privacy_report.json) and the classes to suppress, once every check has passed."""
    check_placeable(unplaceable, policy, splits)
    columns = column_report(counts, policy)
    for column, figures in columns.items():
        if column not in policy.columns:
            check_detector_rate(column, figures["text_values"], figures["detector_hits_before"], policy)
    anonymity, suppressed = anonymity_report(classes, policy)
    rows_in = max((figures["rows"] for figures in columns.values()), default=0)
    report = {
        "policy": policy.source,
        "policy_digest": policy_digest(policy),
        "splits": splits,
        "rows_in": rows_in,
        "rows_out": rows_in - anonymity["suppressed_rows"],
        "columns": columns,
        "anonymity": anonymity,
        "detector_hits_after_total": sum(figures["detector_hits_after"] for figures in columns.values()),
    }
    return report, suppressed
