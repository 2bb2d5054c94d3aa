"""What the Monitor measures, as plain functions of numpy arrays and TFDV statistics: each returns the audit's
CheckResults, so a drifted feature, a shifted score distribution or a failed fairness check on the span is reported,
judged and rendered as the audit's checks are. A failed result is an alert, with its check's severity."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from scipy.stats import spearmanr
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.model_audit.audit import CHECKS as AUDIT_CHECKS
from components.model_audit.checks.data import divergence, drift
from components.model_audit.checks.result import CheckResult, judged, not_applicable
from components.model_audit.inputs import AuditInputs, Predictions
from components.model_audit.policy import AuditPolicy, ThresholdCheck
from components.monitor.policy import AttributionDrift, DataDrift, MonitorPolicy

Statistics = statistics_pb2.DatasetFeatureStatisticsList


def schema_anomalies(check: ThresholdCheck, violations: Sequence[str]) -> CheckResult:
    """The span against the training schema (ExampleValidator): any violation of the data contract."""
    return judged("schema_anomalies", "schema", check, len(violations), "<=", details={"violations": list(violations)})


def data_drift(training: Statistics, span: Statistics, features: Sequence[str], policy: DataDrift
               ) -> list[CheckResult]:
    """One result per model feature, `data_drift.<feature>`: the L-infinity distance between category frequencies
    of a categorical feature, the Jensen-Shannon divergence between histograms of a numeric one (TFDV's drift
    comparators), training split against span."""
    measures = {"categorical": (drift(training, span, "categorical"), policy.categorical, "L-infinity distance"),
                "numeric": (drift(training, span, "numeric"), policy.numeric, "Jensen-Shannon divergence")}
    results = []
    for name in features:
        kind = next((k for k, (distances, _, _) in measures.items() if name in distances), None)
        if kind is None:
            results.append(not_applicable(f"data_drift.{name}", "data_drift", policy.numeric,
                                          "the feature is missing from the training or the span statistics"))
            continue
        distances, check, measure = measures[kind]
        if name in policy.features:
            check = check.model_copy(update={"threshold": policy.features[name]})
        results.append(judged(f"data_drift.{name}", "data_drift", check, distances[name], "<=",
                              details={"feature": name, "kind": kind, "measure": measure}))
    return results


def score_histogram(scores: np.ndarray, bins: int) -> np.ndarray:
    return np.histogram(np.clip(np.asarray(scores, dtype=np.float64), 0, 1), bins=bins, range=(0, 1))[0]


def prediction_drift(check: ThresholdCheck, training_scores: np.ndarray, span_scores: np.ndarray, bins: int
                     ) -> CheckResult:
    """Jensen-Shannon divergence between the score distributions, on `bins` equal bins of [0, 1]."""
    return prediction_drift_of_histograms(
        check, score_histogram(training_scores, bins), score_histogram(span_scores, bins),
        (float(np.mean(training_scores)), float(np.mean(span_scores))), (len(training_scores), len(span_scores)))


def prediction_drift_of_histograms(check: ThresholdCheck, training: np.ndarray, span: np.ndarray,
                                   means: tuple[float, float], examples: tuple[int, int]) -> CheckResult:
    """`prediction_drift` from the score histograms (`score_histogram`), their means and sizes: what a live window
    keeps instead of the scores."""
    training, span = np.asarray(training), np.asarray(span)
    details = {"bins": len(training), "training_histogram": training.tolist(), "span_histogram": span.tolist(),
               "training_mean_score": means[0], "span_mean_score": means[1],
               "training_examples": examples[0], "span_examples": examples[1]}
    return judged("prediction_drift", "prediction_drift", check, divergence(training, span), "<=", details=details)


def window_not_applicable(features: Sequence[str], policy: MonitorPolicy, reason: str) -> list[CheckResult]:
    """The drift checks, each not applicable for `reason` (an empty window)."""
    return [*(not_applicable(f"data_drift.{name}", "data_drift", policy.data_drift.numeric, reason)
              for name in features),
            not_applicable("prediction_drift", "prediction_drift", policy.prediction_drift, reason),
            not_applicable("attribution_drift.rank", "attribution_drift", policy.attribution_drift.rank, reason),
            not_applicable("attribution_drift.share", "attribution_drift", policy.attribution_drift.share, reason)]


def importance_shares(mean_abs: Mapping[str, float]) -> dict[str, float]:
    """Each feature's share of the total mean |attribution|."""
    total = sum(mean_abs.values())
    return {name: value / total if total else float("nan") for name, value in mean_abs.items()}


def attribution_drift(training: Mapping[str, float], span: Mapping[str, float], policy: AttributionDrift
                      ) -> list[CheckResult]:
    """The global importance (mean |attribution| per feature) on the span against training: the Spearman correlation
    of the two rankings, and the largest change in any feature's share of the total."""
    features = sorted(set(training) & set(span))
    a, b = np.array([training[f] for f in features]), np.array([span[f] for f in features])
    rank = float(spearmanr(a, b).statistic) if len(features) > 1 else float("nan")
    before, after = importance_shares(training), importance_shares(span)
    change = {f: after[f] - before[f] for f in features}
    worst = max(features, key=lambda f: abs(change[f]))
    ranking = {"training_ranking": sorted(features, key=training.get, reverse=True),
               "span_ranking": sorted(features, key=span.get, reverse=True),
               "training_total_mean_abs": float(a.sum()), "span_total_mean_abs": float(b.sum())}
    return [
        judged("attribution_drift.rank", "attribution_drift", policy.rank, rank, ">=", details=ranking),
        judged("attribution_drift.share", "attribution_drift", policy.share, abs(change[worst]), "<=",
               details={"worst_feature": worst, "share_change": change}),
    ]


def span_checks(check_ids: Sequence[str], audit_policy: AuditPolicy, predictions: Predictions | None
                ) -> list[CheckResult]:
    """The audit's performance and fairness checks, with the audit's thresholds, on the span's labelled predictions;
    not applicable without labels."""
    results = []
    for check_id in check_ids:
        check = getattr(audit_policy.checks, check_id)
        family, run = AUDIT_CHECKS[check_id]
        if check is None:
            continue
        if predictions is None:
            results.append(not_applicable(check_id, family, check, "the span has no labels"))
            continue
        # These checks read the predictions and the policy only.
        inputs = AuditInputs(predictions=predictions, explanations=None, train_statistics=None, eval_statistics=None,
                             anomalies=None, privacy_report={}, model_card={})
        results.extend(run(check, audit_policy, inputs))
    return results
