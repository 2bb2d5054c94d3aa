"""Explanations: do they add up and track the model, how much weight protected attributes carry, and which
highly attributed features stand in for a protected attribute (proxies)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.stats import chi2_contingency
from scipy.stats.contingency import crosstab

from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, GroundTruthCheck, ProxyCheck, ThresholdCheck

FAMILY = "explanation"


def cramers_v(x: np.ndarray, y: np.ndarray) -> float:
    """Association of two categorical variables in [0, 1], with Bergsma's (2013) bias correction.

    On an eval split of ~180 rows an 8 x 4 table of independent variables has an uncorrected V near 0.2; the
    correction removes that expected chance association, so a threshold means the same for any table size.
    """
    _, table = crosstab(np.asarray(x).astype(str), np.asarray(y).astype(str))
    rows, columns = table.shape
    if rows < 2 or columns < 2:
        return 0.0
    n = table.sum()
    phi2 = chi2_contingency(table, correction=False).statistic / n
    phi2 = max(0.0, phi2 - (rows - 1) * (columns - 1) / (n - 1))
    rows_c, columns_c = rows - (rows - 1) ** 2 / (n - 1), columns - (columns - 1) ** 2 / (n - 1)
    denominator = min(rows_c - 1, columns_c - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def correlation_ratio(values: np.ndarray, groups: np.ndarray) -> float:
    """How much of a numeric variable's variance the groups explain, as sqrt(ε²) in [0, 1].

    ε² (the adjusted R² of a one-way ANOVA) rather than η², for the same reason as the correction of Cramér's V:
    η² of independent variables is about (groups − 1) / (N − 1) by chance alone.
    """
    values, groups = np.asarray(values, dtype=np.float64), np.asarray(groups).astype(str)
    labels, members = np.unique(groups, return_inverse=True)
    total = ((values - values.mean()) ** 2).sum()
    if total == 0 or len(values) <= len(labels):
        return 0.0
    means = np.bincount(members, weights=values) / np.bincount(members)
    between = (np.bincount(members) * (means - values.mean()) ** 2).sum()
    within_mean_square = (total - between) / (len(values) - len(labels))
    return float(np.sqrt(max(0.0, (between - (len(labels) - 1) * within_mean_square) / total)))


def association(values: np.ndarray, groups: np.ndarray) -> tuple[str, float]:
    """(measure, strength) between a raw feature and a protected attribute's groups."""
    values = np.asarray(values)
    if values.dtype.kind in "iuf":
        return "correlation_ratio", correlation_ratio(values, groups)
    return "cramers_v", cramers_v(values, groups)


def _method_quality(inputs: AuditInputs, section: str) -> dict:
    return inputs.explanations.quality.get("methods", {}).get(inputs.explanations.method, {}).get(section) or {}


def completeness_error(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The median |sum of attributions − (prediction − baseline prediction)|: attributions that do not add up to
    the prediction they explain cannot be read as its decomposition."""
    completeness = _method_quality(inputs, "completeness")
    details = {"method": inputs.explanations.method, **completeness}
    return [judged("completeness_error", FAMILY, check, completeness.get("median"), "<=", details=details)]


def faithfulness(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Deletion AUC as a share of the random order's: below 1 when removing features in attribution order lowers
    the score faster than removing them at random, i.e. the attributions point at what the model uses."""
    curves = {k: v for k, v in _method_quality(inputs, "faithfulness").items() if not k.endswith("_curve")}
    deletion, random_deletion = curves.get("deletion_auc"), curves.get("random_deletion_auc")
    ratio = deletion / random_deletion if deletion is not None and random_deletion else None
    details = {"method": inputs.explanations.method, **curves}
    return [judged("faithfulness", FAMILY, check, ratio, "<=", details=details)]


def lime_stability(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The lower of LIME's variables and coefficients stability indices (Visani et al., 0-100) over runs with other
    seeds: an explanation that changes with the seed cannot be relied on, whichever method is primary."""
    lime = inputs.explanations.quality.get("methods", {}).get("lime")
    repeated = ((lime or {}).get("stability") or {}).get("repeated_seeds") or {}
    indices = [repeated[name] for name in ("vsi", "csi") if repeated.get(name) is not None]
    details = {"method": "lime", **repeated, "fidelity": (lime or {}).get("fidelity"),
               "agreement_with_exact_shapley": (lime or {}).get("agreement_with_exact_shapley")}
    return [judged("lime_stability", FAMILY, check, min(indices) if len(indices) == 2 else None, ">=", details=details,
                   inconclusive_because=None if lime else "the Explainer did not run LIME (explainer.methods)")]


def _ground_truth(check_id: str, section: str, what: str):
    """A check of every method against one of quality.json's ground truths: per method, its correlation with the
    truth (at least the threshold) and its precision@k (at least `min_precision_at_k`)."""

    def run(check: GroundTruthCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
        truth = inputs.explanations.quality.get("ground_truth", {}).get(section)
        if not truth or "methods" not in truth:
            reason = (truth or {}).get("skipped") or f"the Explainer measured no ground truth on {what}"
            return [judged(check_id, FAMILY, check, None, ">=", inconclusive_because=reason)]
        results = []
        for method, found in truth["methods"].items():
            details = {**{k: v for k, v in truth.items() if k != "methods"}, **found,
                       "min_precision_at_k": check.min_precision_at_k}
            result = judged(f"{check_id}.{method}", FAMILY, check, found.get("correlation"), ">=", details=details)
            precision = found.get("precision_at_k")
            if result.status == "pass" and precision is not None and precision < check.min_precision_at_k:
                result = replace(result, status="fail", reason=f"precision@{found['k']} is {precision:.2f}, below "
                                                               f"{check.min_precision_at_k:.2f}")
            results.append(result)
        return results

    return run


def protected_attribution_share(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs
                                ) -> list[CheckResult]:
    """The share of the total mean |attribution| carried by the features that encode protected attributes."""
    importance = dict(sorted(inputs.explanations.mean_abs.items(), key=lambda item: -item[1]))
    total = sum(importance.values())
    share = sum(importance[f] for f in policy.protected_features) / total if total > 0 else None
    details = {"method": inputs.explanations.method, "protected_features": policy.protected_features,
               "importance": importance}
    return [judged("protected_attribution_share", FAMILY, check, share, "<=", details=details)]


def proxy_features(check: ProxyCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Per protected attribute: the strongest association with it among the `top_k` most attributed other
    features. A feature both strongly associated and highly attributed may carry the attribute into decisions
    that do not use it directly."""
    importance = inputs.explanations.mean_abs
    candidates = [f for f in sorted(importance, key=lambda f: -importance[f]) if f not in policy.protected_features]
    top = candidates[: check.top_k]
    results = []
    for attribute in policy.protected_attributes:
        groups = inputs.predictions.groups[attribute]
        associations = {
            feature: dict(zip(("measure", "value"), association(inputs.explanations.features[feature], groups)))
            for feature in candidates if feature in inputs.explanations.features
        }
        measured_top = [f for f in top if f in associations]
        proxies = [f for f in measured_top if associations[f]["value"] > check.threshold]
        strongest = max((associations[f]["value"] for f in measured_top), default=None)
        details = {"attribute": attribute, "top_features": top, "proxies": proxies, "associations": associations}
        result = judged(f"proxy_features.{attribute}", FAMILY, check, strongest, "<=", details=details,
                        inconclusive_because=None if measured_top else "no raw values of the top features")
        if proxies:
            result = replace(result, reason=f"{', '.join(proxies)} may stand in for {attribute}")
        results.append(result)
    return results


CHECKS = {"completeness_error": completeness_error, "faithfulness": faithfulness, "lime_stability": lime_stability,
          "protected_attribution_share": protected_attribution_share, "proxy_features": proxy_features,
          "ground_truth_challenger": _ground_truth("ground_truth_challenger", "logistic_regression",
                                                   "the logistic regression challenger"),
          "ground_truth_planted": _ground_truth("ground_truth_planted", "planted_signal", "a planted signal")}
