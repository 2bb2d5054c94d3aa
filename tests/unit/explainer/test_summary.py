"""The summary after the Beam pass, without TFX: a small SavedModel with the explanation contract, the Beam graph on
the DirectRunner, then `summarize` on what it left."""

import json
import os
from pathlib import Path

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from components.explainer.beam_pipeline import build_explain_pipeline
from components.explainer.config import ExplainerConfig
from components.explainer.explain import BACKGROUND_FILE, Attributions, example_digest, read_background_records
from components.explainer.model import FEATURE_MAP_ASSET, ExplainedModel
from components.explainer.summary import WATERFALLS, _waterfalls, summarize
from tests.unit.explainer.tabular import BLOCKS, WIDTH

VOCABULARY = ["car", "home", "<OOV>"]
WEIGHTS = np.array([1.2, 0.8, -0.6, 0.0, 0.0, -1.5], dtype=np.float32)  # dense columns in BLOCKS' layout: age 0
FEATURE_MAP = {
    "label": "good",
    "dense_width": WIDTH,
    "architecture": {"hidden_units": [8], "activation": "relu"},
    "features": [
        {"feature": "amount", "kind": "numeric", "columns": list(BLOCKS[0])},
        {"feature": "purpose", "kind": "categorical", "columns": list(BLOCKS[1]), "vocabulary": VOCABULARY},
        {"feature": "age", "kind": "numeric", "columns": list(BLOCKS[2])},
        {"feature": "duration", "kind": "numeric", "columns": list(BLOCKS[3])},
    ],
}
EXAMPLES = 60
CONFIG = ExplainerConfig(background_size=20, quality_examples=30, slice_features=["purpose"], batch_size=16,
                         sensitivity_features=2, sensitivity_grid_points=5)


class _ContractModel(tf.Module):
    """A logistic model on the dense encoding, exported with the signatures the Explainer reads."""

    _SPEC = {"amount": tf.io.FixedLenFeature([], tf.float32), "purpose": tf.io.FixedLenFeature([], tf.string),
             "age": tf.io.FixedLenFeature([], tf.int64), "duration": tf.io.FixedLenFeature([], tf.int64),
             "good": tf.io.FixedLenFeature([], tf.int64)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def transform_features(self, examples):
        parsed = tf.io.parse_example(examples, self._SPEC)
        known = tf.cast(tf.equal(parsed["purpose"][:, None], tf.constant(VOCABULARY[:-1])), tf.float32)
        columns = [(parsed["amount"][:, None] - 2500.0) / 1500.0, known, 1.0 - tf.reduce_sum(known, 1, keepdims=True),
                   (tf.cast(parsed["age"], tf.float32)[:, None] - 40.0) / 12.0,
                   (tf.cast(parsed["duration"], tf.float32)[:, None] - 24.0) / 12.0]
        return {"dense": tf.concat(columns, axis=1)}

    @tf.function(input_signature=[tf.TensorSpec([None, WIDTH], tf.float32)])
    def predict_from_features(self, dense):
        return {"probability": tf.sigmoid(tf.linalg.matvec(dense, tf.constant(WEIGHTS)) + 0.3)[:, None]}

    @tf.function(input_signature=[tf.TensorSpec([None, WIDTH], tf.float32)])
    def layer_outputs(self, dense):
        # A stand-in hidden layer: the logistic model has none, and the Explainer only reads the signature.
        return {"hidden_1": tf.nn.relu(dense[:, :3])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def binary_label(self, examples):
        return {"good": tf.io.parse_example(examples, self._SPEC)["good"]}


def _examples(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        example = tf.train.Example()
        features = example.features.feature
        features["amount"].float_list.value.append(float(rng.uniform(500, 5000)))
        features["purpose"].bytes_list.value.append(["car", "home", "boat"][i % 3].encode())
        duration = int(rng.integers(6, 60))
        features["age"].int64_list.value.append(int(rng.integers(20, 70)))
        features["duration"].int64_list.value.append(duration)
        # Long loans go bad, as the model says: permutation importance has a feature to find.
        features["good"].int64_list.value.append(int(duration < 36))
        records.append(example.SerializeToString(deterministic=True))  # the same digests in every process
    return records


@pytest.fixture(scope="module")
def summarized(tmp_path_factory):
    root = tmp_path_factory.mktemp("summary")
    model_dir, out = str(root / "model"), str(root / "explanations")
    module = _ContractModel()
    tf.saved_model.save(module, model_dir, signatures={
        name: getattr(module, name).get_concrete_function()
        for name in ("transform_features", "predict_from_features", "binary_label", "layer_outputs")})
    with open(os.path.join(model_dir, "assets", FEATURE_MAP_ASSET), "w") as f:
        json.dump(FEATURE_MAP, f)
    for split, seed in (("eval", 1), ("train", 2)):
        os.makedirs(root / split)
        with tf.io.TFRecordWriter(str(root / split / "data_tfrecord")) as writer:
            for record in _examples(EXAMPLES, seed):
                writer.write(record)

    model = ExplainedModel(model_dir)
    work = os.path.join(out, "_work")
    with beam.Pipeline() as pipeline:
        build_explain_pipeline(
            pipeline, examples_pattern=str(root / "eval" / "*"), background_pattern=str(root / "train" / "*"),
            model_dir=model_dir, config=CONFIG, feature_names=model.feature_names, slice_names=["purpose"],
            output_dir=out, work_dir=work)
    return model, out, summarize(model, CONFIG, out, work, os.path.join(out, "tensorboard"))


def test_the_summary_files_and_the_headline_figures_they_give(summarized):
    _, out, properties = summarized
    with open(os.path.join(out, "global.json")) as f:
        importances = json.load(f)
    with open(os.path.join(out, "quality.json")) as f:
        quality = json.load(f)
    with open(os.path.join(out, "sensitivity.json")) as f:
        sensitivity = json.load(f)
    mean_abs = importances["shapley"]["overall"]["mean_abs"]
    ranked = sorted(mean_abs, key=lambda name: -mean_abs[name])
    assert ranked[-1] == "age" and mean_abs["age"] < 1e-6, mean_abs  # the model ignores it
    assert set(importances["shapley"]["slices"]["purpose"]) == {"car", "home", "boat"}
    assert quality["examples"] == CONFIG.quality_examples
    assert set(sensitivity["features"]) == set(ranked[:2])  # written with sorted keys

    assert properties == {
        "methods": "integrated_gradients,shapley,lime,permutation_importance",
        "primary_method": "shapley",
        "examples": EXAMPLES,
        "median_completeness_error": quality["methods"]["shapley"]["completeness"]["median"],
        "share_completeness_above_0_05": 0.0,
        "top_features": ",".join(ranked),
        "sensitivity_features": ",".join(ranked[:2]),
        "sensitivity_seconds": sensitivity["seconds"],
        "background_examples": CONFIG.background_size,
        "tensorboard_logdir": os.path.join(out, "tensorboard"),
    }
    assert properties["median_completeness_error"] < 1e-5  # exact Shapley values add up to the prediction

    plots = sorted(os.listdir(os.path.join(out, "plots")))
    assert plots == sorted(["global_importance.png", "beeswarm.png", "deletion_insertion.png",
                            *(f"waterfall_{i}.png" for i in range(WATERFALLS)),
                            *(f"pdp_{name}.png" for name in ranked[:2]), "activations_hidden_1.png"])


def test_layer_activations_per_class_and_the_plots_as_tensorboard_images(summarized):
    model, out, _ = summarized
    with open(os.path.join(out, "activations.json")) as f:
        activations = json.load(f)
    per_class = activations["hidden_1"]["per_class_channel_mean"]
    assert set(per_class) == {"0", "1"} and activations["hidden_1"]["shape"] == [3]
    # Recomputed: the stand-in layer's mean output over the quality sample's good loans (the smallest digests).
    records = [r.numpy() for r in tf.data.TFRecordDataset(os.path.join(out, "..", "eval", "data_tfrecord"))]
    sample = sorted(records, key=example_digest)[:CONFIG.quality_examples]
    good = model.labels(sample) == 1
    np.testing.assert_allclose(per_class["1"], np.maximum(model.dense(sample)[good, :3], 0).mean(axis=0), rtol=1e-5)
    events = EventAccumulator(os.path.join(out, "tensorboard"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["images"])
    assert {"explanations/global_importance", "explanations/beeswarm", "explanations/waterfall_0",
            "explanations/activations_hidden_1"} <= tags
    # As TensorBoard's image plugin reads an image: width, height and the PNG, here the plot's file as it is.
    (event,) = events.Tensors("explanations/beeswarm")
    assert events.SummaryMetadata("explanations/beeswarm").plugin_data.plugin_name == "images"
    width, height, png = event.tensor_proto.string_val
    assert png == Path(out, "plots", "beeswarm.png").read_bytes()
    assert tf.image.decode_png(png).shape[:2] == (int(height), int(width))


def test_lime_runs_in_the_beam_pass_and_reports_fidelity_stability_and_agreement(summarized):
    _, out, _ = summarized
    table = pq.read_table(os.path.join(out, "attributions")).to_pandas()
    assert (table.groupby("method").size() == EXAMPLES).all() and "lime" in set(table["method"])
    with open(os.path.join(out, "quality.json")) as f:
        lime = json.load(f)["methods"]["lime"]
    # A logistic model: v(z) is a smooth function of the switches, which the surrogate fits closely.
    assert lime["fidelity"]["median"] > 0.95, lime["fidelity"]
    repeated = lime["stability"]["repeated_seeds"]
    assert repeated["runs"] == CONFIG.lime_stability_repeats and repeated["vsi"] > 80 and repeated["csi"] > 80
    assert lime["agreement_with_exact_shapley"]["correlation"] > 0.95, lime["agreement_with_exact_shapley"]


def test_every_method_recovers_the_logistic_challengers_exact_shapley_values(summarized):
    _, out, _ = summarized
    with open(os.path.join(out, "quality.json")) as f:
        truth = json.load(f)["ground_truth"]["logistic_regression"]
    assert truth["space"] == "logit" and truth["train_examples"] == EXAMPLES
    assert set(truth["methods"]) == set(CONFIG.per_example_methods)
    for method, found in truth["methods"].items():
        # Exact Shapley and integrated gradients from the mean are exact on a linear logit; LIME up to its ridge.
        assert found["correlation"] > (0.999 if method == "lime" else 1 - 1e-9), (method, found)
        # (the ridge's shrinkage can swap two features of nearly equal effect)
        assert found["precision_at_k"] >= (0.95 if method == "lime" else 1.0), (method, found)


def test_every_method_finds_the_planted_signal_learnt_by_a_network_of_the_models_architecture(summarized):
    _, out, _ = summarized
    with open(os.path.join(out, "quality.json")) as f:
        planted = json.load(f)["ground_truth"]["planted_signal"]
    assert planted["architecture"] == FEATURE_MAP["architecture"] and len(planted["planted"]) == 3
    for method, found in planted["methods"].items():
        assert found["correlation"] > 0.8 and found["precision_at_k"] > 0.8, (method, found)


def test_the_background_it_explained_against_is_kept_beside_the_attributions(summarized):
    _, out, _ = summarized
    assert os.path.isfile(os.path.join(out, BACKGROUND_FILE))
    # The background_size train examples with the smallest content digests: what Background.from_examples read.
    train = sorted(_examples(EXAMPLES, 2), key=example_digest)
    assert sorted(read_background_records(out), key=example_digest) == train[:CONFIG.background_size]


def test_the_waterfalls_are_the_lowest_scores_with_contributions_that_add_up(summarized):
    model, _, _ = summarized
    records = _examples(10, seed=3)
    prediction = np.linspace(0.9, 0.1, 10)
    attributions = Attributions("shapley", values=np.outer(prediction - 0.5, [0.25, 0.25, 0.25, 0.25]),
                                prediction=prediction, baseline_prediction=np.full(10, 0.5),
                                completeness_error=np.zeros(10), standard_error=np.zeros(10))

    waterfalls = _waterfalls(model, records, attributions, "shapley")

    assert [w["prediction"] for w in waterfalls] == pytest.approx([0.1, 0.1 + 0.8 / 9, 0.1 + 1.6 / 9])
    assert waterfalls[0]["title"] == "Why this score: lowest-scored example 1 (shapley)"
    example = tf.train.Example.FromString(records[9]).features.feature
    assert list(waterfalls[0]["contributions"])[1] == f"purpose = {example['purpose'].bytes_list.value[0].decode()}"
    for w in waterfalls:
        assert w["base"] + sum(w["contributions"].values()) == pytest.approx(w["prediction"])
