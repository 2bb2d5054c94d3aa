"""Live windows: the batch Monitor's figures from running counts, on the real TFDV statistics of the same rows."""

import numpy as np
import pandas as pd
import pytest
import tensorflow_data_validation as tfdv

from components.model_audit.checks.data import divergence, feature_statistics
from components.monitor import checks
from components.monitor.live import Baseline, Crossings, Window, span_statistics
from components.monitor.policy import load_monitor_policy
from pipeline.config import REPO_ROOT

POLICY = load_monitor_policy(REPO_ROOT / "schemas" / "german_credit" / "monitor_policy.yaml")
FEATURES = ["age", "checking_account", "credit_amount", "duration", "housing", "job", "purpose", "saving_accounts",
            "sex"]
NUMERIC = ["age", "credit_amount", "duration", "job"]
ROWS = pd.read_csv(REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv")[FEATURES]
RNG = np.random.default_rng(7)
SCORES = RNG.beta(5, 2, len(ROWS))
ATTRIBUTIONS = pd.DataFrame(RNG.normal(0, 1, (len(ROWS), len(FEATURES))) * np.linspace(0.3, 0.02, len(FEATURES)),
                            columns=FEATURES)
TRAIN = slice(0, 700)


def statistics_of(rows: pd.DataFrame):
    return tfdv.generate_statistics_from_dataframe(rows.reset_index(drop=True))


@pytest.fixture(scope="module")
def baseline():
    importance = ATTRIBUTIONS[TRAIN].abs().mean().to_dict()
    return Baseline.from_scores(statistics_of(ROWS[TRAIN]), importance, SCORES[TRAIN], POLICY)


def fed(baseline, rows, size, scores=None, attributions=None, max_age_s=None, times=None):
    window = Window(baseline, size, max_age_s=max_age_s)
    scores = SCORES[rows.index] if scores is None else scores
    attributions = ATTRIBUTIONS.loc[rows.index] if attributions is None else attributions
    for i, (record, score, attribution) in enumerate(zip(rows.to_dict("records"), scores,
                                                         attributions.to_dict("records"))):
        window.add(record, score, attribution, at=None if times is None else times[i])
    return window


def test_the_live_figures_are_the_batch_functions_figures_on_the_same_rows(baseline):
    window = fed(baseline, ROWS[400:1000], 300)  # the ring wrapped: 300 decisions added, then subtracted
    rows = ROWS[700:1000]
    assert window.count == 300 and window.observed == 600
    live = {r.id: r for r in window.results()}
    span_statistics = statistics_of(rows)
    batch = {r.id: r for r in checks.data_drift(baseline.statistics, span_statistics, FEATURES, POLICY.data_drift)}
    training = feature_statistics(baseline.statistics)
    gaps = {}
    for name in FEATURES:
        result = live[f"data_drift.{name}"]
        assert result.details == batch[f"data_drift.{name}"].details and result.threshold == batch[
            f"data_drift.{name}"].threshold
        if name in NUMERIC:
            # exact: the window's values counted on the training histogram's buckets
            edges = baseline.numeric[name]
            histogram = next(h for h in training[name].num_stats.histograms if h.type == h.STANDARD)
            train_counts = [b.sample_count for b in histogram.buckets]
            values = rows[name].to_numpy()
            span_counts = np.r_[(values < edges[0]).sum(), np.histogram(values, bins=edges)[0],
                                (values > edges[-1]).sum()]
            expected = divergence(np.r_[0, train_counts, 0], span_counts)
            assert result.measured == pytest.approx(expected, abs=1e-6)
            # the batch Monitor reads the span's own TFDV histogram (interpolated from a quantile sketch)
            gaps[name] = abs(result.measured - batch[f"data_drift.{name}"].measured)
        else:
            assert result.measured == pytest.approx(batch[f"data_drift.{name}"].measured, abs=1e-6)
            assert result.status == batch[f"data_drift.{name}"].status
    print("live vs TFDV-histogram JS gap per numeric feature:", {k: round(v, 4) for k, v in gaps.items()})
    # measured: age 0.024, credit_amount 0.015, duration 0.057 (few distinct values), job 0.001
    assert max(gaps.values()) < 0.1

    prediction = checks.prediction_drift(POLICY.prediction_drift, SCORES[TRAIN], SCORES[700:1000], POLICY.score_bins)
    assert live["prediction_drift"].measured == pytest.approx(prediction.measured, abs=1e-6)
    assert live["prediction_drift"].details["span_histogram"] == prediction.details["span_histogram"]
    assert live["prediction_drift"].details["span_mean_score"] == pytest.approx(prediction.details["span_mean_score"])

    attribution = checks.attribution_drift(baseline.training_importance,
                                           ATTRIBUTIONS[700:1000].abs().mean().to_dict(), POLICY.attribution_drift)
    for result in attribution:
        assert live[result.id].measured == pytest.approx(result.measured, abs=1e-6)
        assert live[result.id].status == result.status


def test_an_undrifted_window_passes_and_a_drifted_one_fails_on_exactly_the_drifted_features(baseline):
    undrifted = fed(baseline, ROWS[700:1000], 300)
    assert [r.id for r in undrifted.results() if r.status == "fail"] == []
    drifted_rows = ROWS[700:1000].assign(credit_amount=ROWS.credit_amount[700:1000] * 2,
                                         age=ROWS.age[700:1000] + 15)
    drifted = fed(baseline, drifted_rows, 300)
    assert sorted(r.id for r in drifted.results() if r.status == "fail") == ["data_drift.age",
                                                                            "data_drift.credit_amount"]


def test_alerts_are_edge_triggered_and_wait_for_a_full_window(baseline):
    window, crossings = Window(baseline, 300), Crossings(min_decisions=300)
    normal = ROWS[700:1000]
    aged = normal.assign(age=normal.age + 20)
    events = []

    def feed(rows):
        for i, record in zip(rows.index, rows.to_dict("records")):
            window.add(record, SCORES[i], ATTRIBUTIONS.loc[i].to_dict())
            events.extend(crossings.update(window, window.results()))

    feed(normal)  # the window fills with undrifted decisions: judged from the 300th on, no alert
    assert events == []
    feed(aged)  # drifting: one alert, on age only, once, not once per decision
    assert [(a.check, a.status) for a in events] == [("data_drift.age", "fail")]
    assert events[0].window["count"] == 300 and events[0].severity == "warn"
    assert 300 < events[0].window["observed"] <= 600  # within one window of the change point
    feed(normal)  # back to normal: the check passes again (reported once) and re-arms
    assert [(a.check, a.status) for a in events[1:]] == [("data_drift.age", "pass")]
    assert crossings.failing == set()
    feed(aged)
    assert [(a.check, a.status) for a in events] == [("data_drift.age", "fail"), ("data_drift.age", "pass"),
                                                     ("data_drift.age", "fail")]


def test_a_time_window_drops_old_decisions_and_memory_stays_fixed(baseline):
    rows = ROWS[700:1000]
    window = fed(baseline, rows, 300, max_age_s=10.0, times=np.arange(300, dtype=float))
    assert window.count == 11  # t = 289..299
    window.expire(now=1000.0)
    assert window.count == 0 and window.results()[0].status == "not_applicable"
    small, large = fed(baseline, rows, 300), fed(baseline, pd.concat([rows] * 10), 300)
    assert small.memory_bytes() == large.memory_bytes()
    # the running sums equal the window's, after thousands of subtractions
    assert large.mean_abs_attributions() == pytest.approx(ATTRIBUTIONS.loc[rows.index].abs().mean().to_dict(),
                                                          abs=1e-12)


def test_values_beyond_the_training_range_count_in_outer_buckets(baseline):
    rows = ROWS[700:1000].assign(credit_amount=ROWS.credit_amount[700:1000] * 10)
    window = fed(baseline, rows, 300)
    counts = window.numeric_counts[list(baseline.numeric).index("credit_amount")]
    edges = baseline.numeric["credit_amount"]
    assert counts[0] == 0 and counts[-1] == (rows.credit_amount > edges[-1]).sum() > 0
    result = next(r for r in window.results() if r.id == "data_drift.credit_amount")
    inside = np.histogram(rows.credit_amount, bins=edges)[0]
    histogram = next(h for h in feature_statistics(baseline.statistics)["credit_amount"].num_stats.histograms
                     if h.type == h.STANDARD)
    expected = divergence(np.r_[0, [b.sample_count for b in histogram.buckets], 0], np.r_[0, inside, counts[-1]])
    assert result.measured == pytest.approx(expected, abs=1e-9)


def test_a_span_counted_in_batches_has_the_figures_of_a_window_of_the_same_rows(baseline):
    """What the batch Monitor counts (`span_statistics`, a batch of examples at a time, missing values left out) is
    what a live window of the same decisions counts: the same data drift, exactly."""
    window = fed(baseline, ROWS[400:1000], 300)
    rows = ROWS[700:1000]
    batches = [rows[:120].to_dict("list"), rows[120:].to_dict("list"), {"age": [], "sex": []}]
    span = {r.id: r.measured for r in checks.data_drift(baseline.statistics, span_statistics(baseline, batches),
                                                        FEATURES, POLICY.data_drift)}
    live = {r.id: r.measured for r in window.results() if r.id.startswith("data_drift.")}
    assert span == live and len(span) == len(FEATURES)
    # a value missing from some examples counts in no bucket, as TFDV leaves it out of its histograms
    gaps = [{**batches[0], "duration": batches[0]["duration"][:100]}, batches[1]]
    counted = span_statistics(baseline, gaps).datasets[0]
    duration = next(f for f in counted.features if f.path.step == ["duration"])
    assert duration.num_stats.common_stats.num_non_missing == 280 and counted.num_examples == 300
