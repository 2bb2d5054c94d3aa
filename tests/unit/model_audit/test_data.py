"""Drift distances on hand-built TFDV statistics protos, and the data checks around them."""

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from tensorflow_metadata.proto.v0.statistics_pb2 import DatasetFeatureStatisticsList

from components.model_audit.checks import data
from tests.unit.model_audit.builders import audit_inputs, categorical_feature, numeric_feature, statistics

HOUSING = {"own": 500, "rent": 130, "free": 70}
DURATION = [(4, 12, 200), (12, 24, 300), (24, 72, 200)]


def run(check_id, policy, **overrides):
    check = getattr(policy.checks, check_id)
    return data.CHECKS[check_id](check, policy, audit_inputs(**overrides))[0]


def test_identical_statistics_do_not_drift():
    feature = categorical_feature("housing", HOUSING)
    assert data.l_infinity_distance(feature, feature) == 0.0
    numeric = numeric_feature("duration", DURATION)
    assert data.jensen_shannon_divergence(numeric, numeric) == pytest.approx(0.0, abs=1e-12)


def test_l_infinity_is_the_largest_frequency_difference():
    train = categorical_feature("housing", HOUSING)
    evaluation = categorical_feature("housing", {"own": 100, "rent": 60, "free": 20, "shared": 20})
    assert data.l_infinity_distance(train, evaluation) == pytest.approx(max(
        abs(500 / 700 - 100 / 200), abs(130 / 700 - 60 / 200), abs(70 / 700 - 20 / 200), 20 / 200))


def test_disjoint_categories_are_at_distance_one():
    train = categorical_feature("purpose", {"car": 10, "radio/TV": 5})
    assert data.l_infinity_distance(train, categorical_feature("purpose", {"business": 7})) == 1.0


def test_frequencies_use_the_total_when_the_rank_histogram_is_cut_short():
    feature = categorical_feature("notes", {"a": 10, "b": 10})
    feature.string_stats.common_stats.tot_num_values = 100
    assert data.category_frequencies(feature) == {"a": 0.1, "b": 0.1}


def test_js_matches_scipy_on_shared_buckets():
    train = numeric_feature("age", [(18, 30, 40), (30, 50, 40), (50, 80, 20)])
    evaluation = numeric_feature("age", [(18, 30, 20), (30, 50, 50), (50, 80, 30)])
    expected = jensenshannon([0.4, 0.4, 0.2], [0.2, 0.5, 0.3], base=2) ** 2
    assert data.jensen_shannon_divergence(train, evaluation) == pytest.approx(expected)


def test_js_spreads_buckets_uniformly_over_the_union_of_edges():
    train = numeric_feature("duration", [(0, 10, 100)])
    evaluation = numeric_feature("duration", [(0, 5, 30), (5, 10, 70)])
    expected = jensenshannon([0.5, 0.5], [0.3, 0.7], base=2) ** 2
    assert data.jensen_shannon_divergence(train, evaluation) == pytest.approx(expected)


def test_disjoint_numeric_ranges_point_masses_and_nans_diverge_fully():
    low, high = numeric_feature("x", [(0, 1, 10)]), numeric_feature("x", [(2, 3, 10)])
    assert data.jensen_shannon_divergence(low, high) == pytest.approx(1.0)
    constant, other_constant = numeric_feature("x", [(4, 4, 10)]), numeric_feature("x", [(5, 5, 10)])
    assert data.jensen_shannon_divergence(constant, constant) == pytest.approx(0.0)
    assert data.jensen_shannon_divergence(constant, other_constant) == pytest.approx(1.0)
    missing = numeric_feature("x", [], num_nan=10)
    assert data.jensen_shannon_divergence(low, missing) == pytest.approx(1.0)
    assert np.isnan(data.jensen_shannon_divergence(low, numeric_feature("x", [])))


def test_drift_compares_features_present_in_both_splits_by_kind():
    train = statistics(categorical_feature("housing", HOUSING), numeric_feature("duration", DURATION),
                       categorical_feature("only_train", {"a": 1}))
    evaluation = statistics(categorical_feature("housing", HOUSING), numeric_feature("duration", DURATION))
    assert data.drift(train, evaluation, "categorical") == {"housing": 0.0}
    assert list(data.drift(train, evaluation, "numeric")) == ["duration"]
    assert data.drift(DatasetFeatureStatisticsList(), evaluation, "numeric") == {}


def test_drift_checks_report_the_worst_feature(policy):
    train = statistics(categorical_feature("housing", HOUSING), categorical_feature("sex", {"f": 1, "m": 2}))
    evaluation = statistics(categorical_feature("housing", {"own": 1}), categorical_feature("sex", {"f": 1, "m": 2}))
    result = run("categorical_drift", policy, train_statistics=train, eval_statistics=evaluation)
    assert result.status == "fail" and result.details["worst_feature"] == "housing"
    assert result.measured == pytest.approx(1 - 500 / 700)
    assert set(result.details["distances"]) == {"housing", "sex"}
    assert run("numeric_drift", policy, train_statistics=train, eval_statistics=evaluation).status == "not_applicable"


def test_default_inputs_pass_and_anomalies_block(policy):
    assert run("categorical_drift", policy).status == "pass"
    assert run("numeric_drift", policy).status == "pass"
    assert run("anomalies", policy).status == "pass"
    failed = run("anomalies", policy, anomalies=2)
    assert failed.status == "fail" and failed.severity == "block" and failed.measured == 2
