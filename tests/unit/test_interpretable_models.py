"""The interpretable models: the points scorecard (pipeline/modules/scorecard.py), its bins, its table as a TensorFlow
model and its reason codes against exact Shapley values through the explanation contract the Explainer reads; and the
rule list (pipeline/modules/rules.py) against the scikit-learn tree it reads."""

import json
import math

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.config import ExplainerConfig
from components.explainer.executor import applicable_methods
from components.explainer.explain import checks_scorecard_reasons, decline_reasons, reasons_agree_with_shapley
from components.explainer.methods import exact_shapley
from components.explainer.model import FEATURE_MAP_ASSET, SCORECARD_ASSET, ExplainedModel
from components.metrics import roc_auc
from pipeline.modules import dense_features, rules, scorecard
from tests.unit.explainer.tabular import BLOCKS, WIDTH, dense_rows

SETTINGS = {"min_bin_share": 0.05, "max_prebins": 20, "regularization": 1.0, "base_score": 600, "base_odds": 50,
            "points_to_double_odds": 20}
LAYOUT = [{"feature": name, "kind": kind, "columns": list(block), **extra}
          for name, kind, block, extra in [
              ("amount", "numeric", BLOCKS[0], {}),
              ("purpose", "categorical", BLOCKS[1], {"vocabulary": ["car", "tv", "<OOV>"]}),
              ("age", "numeric", BLOCKS[2], {}),
              ("duration", "numeric", BLOCKS[3], {})]]


def _data(n, seed):
    """Rows of the tabular layout whose label depends on amount (falling), age (a U shape the bins must flatten to
    monotone) and the category; the OOV column never occurs."""
    dense = dense_rows(n, seed)
    dense[:, 3] = 0.0
    dense[dense[:, 1:4].sum(axis=1) == 0, 1] = 1.0
    logit = -1.2 * dense[:, 0] + 0.6 * dense[:, 4] ** 2 - 0.4 + 0.9 * dense[:, 2]
    labels = (np.random.default_rng(seed + 1).random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return dense, labels


@pytest.fixture(scope="module")
def fitted():
    dense, labels = _data(3000, 0)
    return scorecard.fit_scorecard(dense, labels, LAYOUT, SETTINGS)


def test_numeric_bins_are_monotone_and_hold_the_minimum_share(fitted):
    dense, labels = _data(3000, 0)
    for binned in fitted.binning:
        shares = (binned.goods + binned.bads) / len(labels)
        assert shares.min() >= SETTINGS["min_bin_share"], binned.feature
        if binned.kind == "numeric":
            rates = binned.goods / (binned.goods + binned.bads)
            steps = np.diff(rates)
            assert np.all(steps >= 0) or np.all(steps <= 0), (binned.feature, rates)
    amount = fitted.binning[0]
    assert amount.bins >= 3 and np.all(np.diff(amount.woe) < 0)  # the good rate falls with the amount
    purpose = fitted.binning[1]
    assert purpose.groups.tolist()[2] == -1  # the unseen OOV column: weight of evidence 0


def test_the_tensorflow_table_scores_as_the_points_say(fitted):
    dense, _ = _data(500, 7)
    model = scorecard.Scorecard(fitted)
    points = model.feature_points(tf.constant(dense)).numpy()
    np.testing.assert_array_equal(points, fitted.feature_points(dense))
    assert np.all(points == np.round(points))  # whole points: the table is the model
    np.testing.assert_allclose(model(tf.constant(dense)).numpy()[:, 0], fitted.probability(dense), atol=1e-6)
    # base_score points are odds of base_odds; points_to_double_odds more double them
    at = lambda total: 1 / (1 + math.exp(-(total - fitted.offset) / fitted.factor))  # noqa: E731
    assert at(600) / (1 - at(600)) == pytest.approx(50)
    assert at(620) / (1 - at(620)) == pytest.approx(100)
    held_out, labels = _data(2000, 11)
    assert roc_auc(labels, fitted.probability(held_out)) > 0.7


class _Contract(tf.Module):
    """The explanation contract around a scorecard, with examples that carry the dense row itself."""

    def __init__(self, fitted, directory):
        super().__init__()
        self.model = scorecard.Scorecard(fitted)
        feature_map, table = directory / FEATURE_MAP_ASSET, directory / SCORECARD_ASSET
        dense_features.write_feature_map(str(feature_map), LAYOUT, "y", model="scorecard", differentiable=False)
        table.write_text(json.dumps(scorecard.table(fitted, {}, WIDTH)))
        self.feature_map, self.table = tf.saved_model.Asset(str(feature_map)), tf.saved_model.Asset(str(table))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def transform_features(self, examples):
        return {"dense": tf.io.parse_example(examples, {"dense": tf.io.FixedLenFeature([WIDTH], tf.float32)})["dense"]}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def predict_from_features(self, dense):
        return {"probability": self.model(dense)}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)])
    def feature_points(self, dense):
        return {"points": self.model.feature_points(dense)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def binary_label(self, examples):
        return {"y": tf.io.parse_example(examples, {"y": tf.io.FixedLenFeature([], tf.float32)})["y"]}


@pytest.fixture(scope="module")
def explained(fitted, tmp_path_factory):
    directory = tmp_path_factory.mktemp("scorecard")
    contract = _Contract(fitted, directory)
    tf.saved_model.save(contract, str(directory / "model"), signatures={
        name: getattr(contract, name)
        for name in ("transform_features", "predict_from_features", "feature_points", "binary_label")})
    return ExplainedModel(str(directory / "model"))


def test_reasons_agree_with_exact_shapley_on_every_decline(explained):
    dense, _ = _data(400, 3)
    declined = np.flatnonzero(explained.predict(dense) < 0.5)
    assert len(declined) > 20
    assert reasons_agree_with_shapley(explained, dense[declined]).all()

    # the top reason is the feature with the most negative Shapley value against the best-bin applicant
    reference = np.asarray(explained.scorecard["reference_dense"], dtype=np.float32)[np.newaxis]
    shapley = exact_shapley(explained.predict_fn, dense[declined], reference, explained.blocks).attributions
    lost = explained.points_lost(dense[declined])
    values = {name: [""] * len(dense) for name in explained.feature_names}
    reasons = decline_reasons(explained, dense, values, np.zeros((len(dense), 4)), declined, top_k=4)
    for row, i in enumerate(declined):
        top = explained.feature_names[int(np.argmin(shapley[row]))]
        most_lost = [explained.feature_names[j] for j in np.flatnonzero(lost[row] == lost[row].max())]
        assert top in most_lost
        assert reasons[int(i)][0].startswith(f"{most_lost[0]} = ")
        # a feature in its best bin is no reason, and has no Shapley value
        assert len(reasons[int(i)]) == int(np.sum(lost[row] > 0))
        assert np.all(np.abs(shapley[row][lost[row] == 0]) < 1e-6)


def test_in_logit_space_shapley_values_are_exactly_the_points(explained, fitted):
    """For an additive model in logit space the interventional Shapley value of feature i is
    (points_i(x) - mean over the background of points_i) / factor: exact, whatever the background."""
    dense, _ = _data(30, 5)
    background, _ = _data(40, 6)

    def logit(rows):
        p = tf.cast(explained.predict_fn(rows), tf.float64)
        return tf.math.log(p) - tf.math.log1p(-p)

    shapley = exact_shapley(logit, dense, background, explained.blocks).attributions
    points, background_points = fitted.feature_points(dense), fitted.feature_points(background)
    np.testing.assert_allclose(shapley, (points - background_points.mean(axis=0)) / fitted.factor, atol=2e-4)
    reference = np.asarray(explained.scorecard["reference_dense"], dtype=np.float32)[np.newaxis]
    against_best = exact_shapley(logit, dense, reference, explained.blocks).attributions
    np.testing.assert_allclose(against_best, -explained.points_lost(dense) / fitted.factor, atol=2e-4)


def test_integrated_gradients_are_skipped_for_a_model_without_gradients(explained):
    config, skipped = applicable_methods(ExplainerConfig(), explained)
    assert config.methods == ["shapley", "lime", "permutation_importance"]
    assert "integrated_gradients" in skipped["skipped_methods"]
    # the reasons are checked against exact Shapley values only where the features are few enough to enumerate
    assert checks_scorecard_reasons(explained, config)
    assert not checks_scorecard_reasons(explained, ExplainerConfig(max_exact_features=3))


def test_the_table_names_every_bin_with_its_points(fitted):
    card = scorecard.table(fitted, {"amount": (0.001, -2.0)}, WIDTH)
    amount = [row for row in card["rows"] if row["feature"] == "amount"]
    assert amount[0]["bin"].startswith("< ") and amount[-1]["bin"].startswith(">= ")
    # edges in raw units: dense = 0.001 * raw - 2
    raw_edges = (fitted.binning[0].edges + 2.0) / 0.001
    assert float(amount[0]["bin"][2:]) == pytest.approx(raw_edges[0], rel=1e-5)
    assert float(amount[-1]["bin"][3:]) == pytest.approx(raw_edges[-1], rel=1e-5)
    assert card["best_points"]["amount"] == max(row["points"] for row in amount)
    assert any(row["bin"].startswith("unseen in training (<OOV>)") for row in card["rows"])


def test_an_unscored_feature_gets_the_same_points_in_every_bin():
    dense, labels = _data(3000, 0)
    fitted = scorecard.fit_scorecard(dense, labels, LAYOUT, {**SETTINGS, "unscored": ["age"]})
    age = fitted.points[2]
    assert fitted.binning[2].bins > 1 and len(set(age.tolist())) == 1 and fitted.coefficients[2] == 0
    assert np.all(fitted.feature_points(dense)[:, 2] == age[0])  # never a reason, no Shapley value


def test_the_rule_list_scores_as_the_tree_and_reads_in_raw_units():
    from sklearn.tree import DecisionTreeClassifier

    dense, labels = _data(2000, 0)
    settings = {"depth": 3, "min_leaf_share": 0.02}
    fitted = rules.fit_rules(dense, labels, settings, seed=0)
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=40, random_state=0).fit(dense, labels)
    held_out, _ = _data(500, 9)
    np.testing.assert_allclose(rules.RuleList(fitted)(tf.constant(held_out)).numpy()[:, 0],
                               tree.predict_proba(held_out)[:, 1], atol=1e-6)
    assert [r.probability for r in fitted] == sorted(r.probability for r in fitted)  # lowest score first
    assert sum(r.goods + r.bads for r in fitted) == len(labels)
    words = rules.table(fitted, LAYOUT, {"amount": (0.001, -2.0)}, settings)["rules"]
    assert len(words) == len(fitted) and all(w["rule"].count(" and ") <= 2 for w in words)
    amount = [c for rule in fitted for c in rule.conditions if c.column == 0][0]
    text = rules.condition_text(amount, LAYOUT, {"amount": (0.001, -2.0)})
    assert float(text.split()[-1]) == pytest.approx((amount.threshold + 2.0) / 0.001, rel=1e-4)
    purpose = rules.condition_text(rules.Condition(1, 0.5, True), LAYOUT, {})
    assert purpose == "purpose is car"
