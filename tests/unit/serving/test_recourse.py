"""The recourse search on a small logistic SavedModel with the explanation contract, whose flips can be worked out by
hand: options, minimality, ranking, frozen features, and the end-to-end check of every suggestion."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.model import FEATURE_MAP_ASSET, ExplainedModel
from components.privacy.examples import row_to_example
from pipeline.serving.recourse import SINGLE_CHANGE_POINTS, RecourseSearch

PURPOSES = ["car", "home", "boat"]
# dense: amount z-score | purpose one-hot (car, home, boat, <OOV>) | duration z-score
FEATURE_MAP = {"label": "good", "dense_width": 6, "features": [
    {"feature": "amount", "kind": "numeric", "columns": [0, 1]},
    {"feature": "purpose", "kind": "categorical", "columns": [1, 5], "vocabulary": PURPOSES + ["<OOV>"]},
    {"feature": "duration", "kind": "numeric", "columns": [5, 6]},
]}
# The score falls with the amount and the duration; a car raises it, a boat lowers it.
WEIGHTS = np.array([-1.0, 1.0, 0.0, -1.0, 0.0, -2.0], dtype=np.float32)
THRESHOLD = 0.5


class _Logistic(tf.Module):
    _SPEC = {"amount": tf.io.FixedLenFeature([], tf.float32), "purpose": tf.io.FixedLenFeature([], tf.string),
             "duration": tf.io.FixedLenFeature([], tf.int64)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def transform_features(self, examples):
        parsed = tf.io.parse_example(examples, self._SPEC)
        known = tf.cast(tf.equal(parsed["purpose"][:, None], tf.constant(PURPOSES)), tf.float32)
        return {"dense": tf.concat([(parsed["amount"][:, None] - 3000.0) / 1000.0, known,
                                    1.0 - tf.reduce_sum(known, 1, keepdims=True),
                                    (tf.cast(parsed["duration"], tf.float32)[:, None] - 24.0) / 12.0], axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([None, 6], tf.float32)])
    def predict_from_features(self, dense):
        return {"probability": tf.sigmoid(tf.linalg.matvec(dense, tf.constant(WEIGHTS)))[:, None]}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def binary_label(self, examples):
        return {"good": tf.zeros_like(examples, dtype=tf.float32)}


def _row(amount: float, purpose: str, duration: int) -> dict:
    return {"amount": float(amount), "purpose": purpose, "duration": int(duration)}


def _encode(rows):
    return [row_to_example(dict(row)) for row in rows]


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("recourse") / "model")
    module = _Logistic()
    tf.saved_model.save(module, model_dir, signatures={
        name: getattr(module, name).get_concrete_function()
        for name in ("transform_features", "predict_from_features", "binary_label")})
    with open(os.path.join(model_dir, "assets", FEATURE_MAP_ASSET), "w") as f:
        json.dump(FEATURE_MAP, f)
    return ExplainedModel(model_dir)


@pytest.fixture(scope="module")
def background():
    rng = np.random.default_rng(0)
    return _encode(_row(rng.integers(1000, 5000), PURPOSES[i % 3], rng.integers(6, 48)) for i in range(40))


def _search(model, background, mutable, max_suggestions=3, categories=None):
    return RecourseSearch.from_background(model, background, mutable, categories or {"purpose": PURPOSES},
                                          grid_points=5, threshold=THRESHOLD, max_suggestions=max_suggestions)


def _score(model, rows):
    return model.predict(model.dense(_encode(rows)))


def test_options_cover_the_background_and_leave_frozen_features_out(model, background):
    search = _search(model, background, ["purpose", "duration"])
    assert search.mutable == ["duration", "purpose"]
    durations = [o.value for o in search.options if o.feature == "duration"]
    assert all(isinstance(v, int) for v in durations) and len(durations) <= SINGLE_CHANGE_POINTS + 5
    observed = [tf.train.Example.FromString(r).features.feature["duration"].int64_list.value[0] for r in background]
    assert min(durations) == min(observed) and max(durations) == max(observed)
    assert sorted(o.value for o in search.options if o.feature == "purpose") == sorted(PURPOSES)
    # Only the quantile grid goes into pairs; every single value is tried alone.
    assert {o.value for o in search.options if o.feature == "duration" and o.paired} < set(durations)
    assert all(len({search.options[k].feature for k in combo}) == len(combo) for combo in search.combos)


def test_the_smallest_single_change_comes_first_and_every_suggestion_flips(model, background):
    search = _search(model, background, ["purpose", "duration"])
    row = _row(3000, "home", 48)  # logit -2 * 2 = -4: declined
    assert _score(model, [row])[0] < THRESHOLD
    [suggestions] = search.search([row], model.dense(_encode([row])), _encode)
    assert suggestions and len(suggestions) <= 3
    first = suggestions[0]
    assert list(first.changes) == ["duration"] and first.changes["duration"][0] == 48
    # The flip needs a duration of at most 24 (logit 0, score 0.5); the smallest change is the largest such option.
    options = sorted(o.value for o in search.options if o.feature == "duration")
    assert first.changes["duration"][1] == max(v for v in options if v <= 24)
    assert first.cost == pytest.approx((48 - first.changes["duration"][1]) / 12.0, abs=1e-5)
    for suggestion in suggestions:
        changed = {**row, **{name: after for name, (_, after) in suggestion.changes.items()}}
        assert suggestion.score == pytest.approx(_score(model, [changed])[0], abs=1e-6)
        assert suggestion.score >= THRESHOLD
    ranks = [(len(s.changes), s.cost) for s in suggestions]
    assert ranks == sorted(ranks)
    assert len({tuple(s.changes) for s in suggestions}) == len(suggestions)  # one route per set of features


def test_pairs_are_minimal_and_frozen_features_never_change(model, background):
    search = _search(model, background, ["purpose", "duration"], max_suggestions=10)
    row = _row(3000, "boat", 40)  # logit -1 - 2 * 4/3: neither a car nor a short loan alone is always enough
    [suggestions] = search.search([row], model.dense(_encode([row])), _encode)
    assert any(len(s.changes) == 2 for s in suggestions)
    for suggestion in suggestions:
        assert set(suggestion.changes) <= {"purpose", "duration"}  # amount is frozen
        if len(suggestion.changes) == 2:
            for name, (_, after) in suggestion.changes.items():  # neither change flips the decision alone
                alone = {**row, name: after}
                assert _score(model, [alone])[0] < THRESHOLD, (suggestion, name)


def test_approved_rows_and_no_mutable_features_give_nothing(model, background):
    frozen = _search(model, background, [])
    row = _row(3000, "home", 48)
    assert frozen.options == [] and frozen.search([row], model.dense(_encode([row])), _encode) == [[]]
    search = _search(model, background, ["purpose", "duration"])
    assert search.search([], np.zeros((0, 6), dtype=np.float32), _encode) == []
