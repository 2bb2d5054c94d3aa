"""Data: no anomalies against the data contract, and no train/eval drift beyond the policy's thresholds.

Drift is measured on TFDV statistics as TFDV's own drift comparators do: the L-infinity distance between the
category frequencies of a categorical feature, the Jensen-Shannon divergence between the histograms of a numeric
one. Train and eval histograms have different bucket edges, so both are spread, uniformly within each bucket,
over the union of the edges before they are compared.
"""

from __future__ import annotations

import numpy as np
from scipy.special import rel_entr
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.model_audit.checks.result import CheckResult, judged, not_applicable
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, ThresholdCheck

FAMILY = "data"
FeatureStatistics = statistics_pb2.FeatureNameStatistics


def feature_statistics(statistics: statistics_pb2.DatasetFeatureStatisticsList) -> dict[str, FeatureStatistics]:
    """The first dataset's features by name (a path's steps joined with '.'); StatisticsGen writes one per split."""
    if not statistics.datasets:
        return {}
    return {".".join(f.path.step) or f.name: f for f in statistics.datasets[0].features}


def category_frequencies(feature: FeatureStatistics) -> dict[str, float]:
    """Each category's share of the feature's values, from the rank histogram."""
    buckets = feature.string_stats.rank_histogram.buckets
    counts = {bucket.label: bucket.sample_count for bucket in buckets}
    # the histogram may stop at TFDV's bucket limit; the total number of values does not
    total = max(sum(counts.values()), feature.string_stats.common_stats.tot_num_values)
    return {label: count / total for label, count in counts.items()} if total else {}


def l_infinity_distance(train: FeatureStatistics, evaluation: FeatureStatistics) -> float:
    """The largest difference in any category's frequency: 0 for identical, 1 for disjoint categories."""
    p, q = category_frequencies(train), category_frequencies(evaluation)
    return max((abs(p.get(label, 0.0) - q.get(label, 0.0)) for label in p.keys() | q.keys()), default=0.0)


def _standard_histogram(feature: FeatureStatistics) -> statistics_pb2.Histogram:
    return next((h for h in feature.num_stats.histograms if h.type == statistics_pb2.Histogram.STANDARD),
                statistics_pb2.Histogram())


def _spread_over(histogram: statistics_pb2.Histogram, edges: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The histogram's counts on the intervals between `edges`, then on the zero-width buckets at `points`, then
    NaN: a constant feature's single bucket has no width to spread over, so it stays a point mass."""
    intervals = max(len(edges) - 1, 0)
    mass = np.zeros(intervals + len(points) + 1)
    for bucket in histogram.buckets:
        low, high = bucket.low_value, bucket.high_value
        if high > low:
            overlap = np.clip(np.minimum(high, edges[1:]) - np.maximum(low, edges[:-1]), 0, None)
            mass[:intervals] += bucket.sample_count * overlap / (high - low)
        else:
            mass[intervals + np.searchsorted(points, low)] += bucket.sample_count
    mass[-1] = histogram.num_nan
    return mass


def jensen_shannon_divergence(train: FeatureStatistics, evaluation: FeatureStatistics) -> float:
    """JS divergence (base 2, so in [0, 1]) between the features' standard histograms on common buckets."""
    histograms = [_standard_histogram(train), _standard_histogram(evaluation)]
    buckets = [b for h in histograms for b in h.buckets]
    edges = np.unique([v for b in buckets if b.high_value > b.low_value for v in (b.low_value, b.high_value)])
    points = np.unique([b.low_value for b in buckets if b.high_value <= b.low_value])
    return divergence(*(_spread_over(h, edges, points) for h in histograms))


def divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between two histograms of counts on the same buckets; NaN when
    either is empty."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if p.sum() == 0 or q.sum() == 0:
        return float("nan")
    p, q = p / p.sum(), q / q.sum()
    m = (p + q) / 2
    return float((rel_entr(p, m).sum() + rel_entr(q, m).sum()) / 2 / np.log(2))


def drift(train: statistics_pb2.DatasetFeatureStatisticsList, evaluation: statistics_pb2.DatasetFeatureStatisticsList,
          kind: str) -> dict[str, float]:
    """{feature: distance} for the features present in both splits: kind 'categorical' (L-infinity) or
    'numeric' (Jensen-Shannon)."""
    train_features, eval_features = feature_statistics(train), feature_statistics(evaluation)
    distance, stats = ((l_infinity_distance, "string_stats") if kind == "categorical"
                       else (jensen_shannon_divergence, "num_stats"))
    return {
        name: distance(feature, eval_features[name])
        for name, feature in sorted(train_features.items())
        if name in eval_features and feature.HasField(stats) and eval_features[name].HasField(stats)
    }


def anomalies(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    return [judged("anomalies", FAMILY, check, inputs.anomalies, "<=")]


def _drift_result(check_id: str, check: ThresholdCheck, inputs: AuditInputs, kind: str, measure: str
                  ) -> list[CheckResult]:
    distances = drift(inputs.train_statistics, inputs.eval_statistics, kind)
    if not distances:
        return [not_applicable(check_id, FAMILY, check, f"no {kind} feature in both splits' statistics")]
    worst = max(distances, key=lambda name: np.nan_to_num(distances[name], nan=np.inf))  # undefined is worst
    details = {"measure": measure, "worst_feature": worst, "distances": distances}
    return [judged(check_id, FAMILY, check, distances[worst], "<=", details=details)]


def categorical_drift(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The largest L-infinity distance between the splits' category frequencies over categorical features."""
    return _drift_result("categorical_drift", check, inputs, "categorical", "L-infinity distance")


def numeric_drift(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The largest Jensen-Shannon divergence between the splits' histograms over numeric features."""
    return _drift_result("numeric_drift", check, inputs, "numeric", "Jensen-Shannon divergence")


CHECKS = {"anomalies": anomalies, "categorical_drift": categorical_drift, "numeric_drift": numeric_drift}
