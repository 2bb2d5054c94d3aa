"""The Explainer inside the real pipeline, on the trained default model."""

import glob
import json
import os

import apache_beam as beam
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from components.explainer.beam_pipeline import build_explain_pipeline
from components.explainer.config import ExplainerConfig
from components.explainer.explain import PREDICTIONS_DIR, Background, example_digest
from components.explainer.methods import exact_shapley, sampled_shapley
from components.explainer.model import ExplainedModel
from components.files import split_records
from pipeline import metadata
from pipeline.records import mlmd
from tests.helpers import assert_histograms

pytestmark = pytest.mark.e2e

RAW_FEATURES = {"sex", "job", "housing", "saving_accounts", "checking_account", "credit_amount", "duration",
                "purpose", "age"}


def _first_run_outputs(config):
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[0]
    outputs = {}
    for node in mlmd.run_executions(store, config.pipeline_name, run_id):
        for key, artifacts in mlmd.output_artifacts(store, node.execution.id).items():
            outputs[(node.node_id, key)] = artifacts[0]
    return outputs


@pytest.fixture(scope="module")
def explained(pipeline_run):
    config, _ = pipeline_run
    outputs = _first_run_outputs(config)
    explanations = outputs[("Explainer", "explanations")]
    model_dir = os.path.join(outputs[("Trainer", "model")].uri, "Format-Serving")
    examples_uri = outputs[("Privacy", "deidentified_examples")].uri
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    return config, explanations, model_dir, examples_uri, table


def _records(examples_uri, split):
    return split_records(os.path.join(examples_uri, f"Split-{split}"))


def test_every_eval_example_is_explained_by_each_method(explained):
    config, explanations, _, examples_uri, table = explained
    eval_count = len(_records(examples_uri, "eval"))
    assert set(table["method"]) == {"integrated_gradients", "shapley", "lime"}
    assert (table.groupby("method").size() == eval_count).all()
    assert RAW_FEATURES <= set(table.columns)
    assert {"key", "example_id", "split", "prediction", "baseline_prediction", "completeness_error", "standard_error",
            "slice.sex", "slice.age_band"} <= set(table.columns)
    properties = explanations.custom_properties
    assert properties["examples"].int_value == eval_count
    assert properties["primary_method"].string_value == "shapley"
    assert len(properties["top_features"].string_value.split(",")) == 5
    assert len(properties["sha256"].string_value) == 64


def test_completeness_and_efficiency(explained):
    config, _, _, _, table = explained
    features = sorted(RAW_FEATURES)
    shapley = table[table.method == "shapley"]
    efficiency = shapley["baseline_prediction"] + shapley[features].sum(axis=1) - shapley["prediction"]
    assert efficiency.abs().max() <= 1e-5
    ig = table[table.method == "integrated_gradients"]
    completeness = ig["baseline_prediction"] + ig[features].sum(axis=1) - ig["prediction"]
    np.testing.assert_allclose(completeness.abs(), ig["completeness_error"], atol=1e-9)
    assert ig["completeness_error"].median() <= config.explainer.ig_tolerance


def test_predictions_match_the_serving_signature(explained):
    _, explanations, model_dir, examples_uri, table = explained
    records = _records(examples_uri, "eval")
    served = tf.saved_model.load(model_dir).signatures["serving_default"](examples=tf.constant(records))
    by_key = dict(zip([example_digest(r)[:16] for r in records], served["probability"].numpy()[:, 0]))
    shapley = table[table.method == "shapley"]
    np.testing.assert_allclose(shapley["prediction"], shapley["key"].map(by_key), atol=1e-5)
    # The scores the audit judges: one row per eval example, the same as the explained rows'.
    scored = pd.read_parquet(os.path.join(explanations.uri, PREDICTIONS_DIR)).set_index("key")
    assert len(scored) == len(records) and set(scored.index) == set(by_key)
    np.testing.assert_allclose(scored["prediction"], scored.index.map(by_key), atol=1e-5)
    pd.testing.assert_frame_equal(scored.loc[shapley["key"], ["label", "slice.sex", "slice.age_band"]],
                                  shapley.set_index("key")[["label", "slice.sex", "slice.age_band"]])


def test_global_quality_reasons_and_plots(explained):
    _, explanations, _, _, table = explained
    uri = explanations.uri
    with open(os.path.join(uri, "global.json")) as f:
        importances = json.load(f)
    overall = importances["shapley"]["overall"]
    assert set(overall["mean_abs"]) == RAW_FEATURES and overall["examples"] == len(table) // 3
    assert set(importances["shapley"]["slices"]["sex"]) == {"female", "male"}
    assert sum(v["examples"] for v in importances["shapley"]["slices"]["age_band"].values()) == overall["examples"]

    with open(os.path.join(uri, "quality.json")) as f:
        quality = json.load(f)
    assert quality["methods"]["shapley"]["completeness"]["median"] <= 1e-5
    assert quality["methods"]["shapley"]["faithfulness"]["better_than_random"]
    agreement = {tuple(p["methods"]): p["spearman"] for p in quality["agreement"]}
    assert set(agreement) == {("integrated_gradients", "lime"), ("integrated_gradients", "permutation_importance"),
                              ("integrated_gradients", "shapley"), ("lime", "permutation_importance"),
                              ("lime", "shapley"), ("permutation_importance", "shapley")}
    assert agreement[("integrated_gradients", "shapley")] > 0.8, agreement
    assert agreement[("lime", "shapley")] > 0.8, agreement
    lime = quality["methods"]["lime"]
    print("lime:", json.dumps({k: lime[k] for k in ("fidelity", "stability", "agreement_with_exact_shapley")}))
    assert lime["agreement_with_exact_shapley"]["correlation"] > 0.9, lime["agreement_with_exact_shapley"]
    assert lime["fidelity"]["median"] > 0.8, lime["fidelity"]
    assert lime["stability"]["repeated_seeds"]["vsi"] > 80, lime["stability"]["repeated_seeds"]
    truth = quality["ground_truth"]
    print("ground truth:", json.dumps(truth, indent=1))  # the README quotes these figures
    for method in ("integrated_gradients", "shapley", "lime"):
        assert truth["logistic_regression"]["methods"][method]["correlation"] > 0.99, truth["logistic_regression"]
        assert truth["planted_signal"]["methods"][method]["correlation"] > 0.8, truth["planted_signal"]

    reasons = [json.loads(line) for path in glob.glob(os.path.join(uri, "reason_codes", "*.jsonl"))
               for line in open(path)]
    low = table[(table.method == "shapley") & (table.prediction < 0.5)]
    assert len(reasons) == sum(bool(len(r)) for r in low["reasons"]) > 0
    assert all(r["prediction"] < 0.5 for r in reasons)
    assert all(" lowered the score by " in text for r in reasons for text in r["reasons"])

    for name in ("global_importance.png", "beeswarm.png", "waterfall_0.png", "deletion_insertion.png"):
        with open(os.path.join(uri, "plots", name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
    assert not os.path.exists(os.path.join(uri, "_work"))


def test_hidden_layer_outputs_and_tensorboard_histograms_and_images(pipeline_run, explained):
    config, explanations, model_dir, examples_uri, _ = explained
    model = ExplainedModel(model_dir)
    records = _records(examples_uri, "eval")[:20]
    outputs = model.layer_outputs(model.dense(records))
    units = config.training.hidden_units
    assert list(outputs) == [f"hidden_{i + 1}" for i in range(len(units))]
    assert [v.shape for v in outputs.values()] == [(20, u) for u in units]
    assert all((v >= 0).all() for v in outputs.values())  # ReLU
    with open(os.path.join(explanations.uri, "activations.json")) as f:
        activations = json.load(f)
    assert set(activations["hidden_1"]["per_class_channel_mean"]) == {"0", "1"}
    assert os.path.isfile(os.path.join(explanations.uri, "plots", "activations_hidden_1.png"))
    events = EventAccumulator(explanations.custom_properties["tensorboard_logdir"].string_value,
                              size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["images"])
    assert {"explanations/global_importance", "explanations/beeswarm", "explanations/waterfall_0"} <= tags
    assert_histograms(_first_run_outputs(config)[("Trainer", "model_run")].uri, set(outputs))


def test_sampled_shapley_converges_to_exact_with_honest_errors(explained):
    config, _, model_dir, examples_uri, _ = explained
    model = ExplainedModel(model_dir)
    background = Background.from_examples(model, _records(examples_uri, "train")[:50], config.explainer)
    dense = model.dense(_records(examples_uri, "eval")[:60])
    exact = exact_shapley(model.predict_fn, dense, background.dense, model.blocks).attributions
    errors, covered = [], []
    for permutations in (16, 64, 256):
        sampled = sampled_shapley(model.predict_fn, dense, background.dense, model.blocks,
                                  max_permutations=permutations, target_standard_error=1e-9, seed=7)
        error = np.abs(sampled.attributions - exact)
        errors.append(error.mean())
        covered.append(np.mean(error <= 1.96 * sampled.standard_errors))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[0] / errors[2] > 2.5, errors
    # A 95% interval should hold the exact value about 95% of the time.
    assert min(covered) >= 0.85, covered


def _explain_with_workers(workers, model_dir, examples_uri, config, out):
    model = ExplainedModel(model_dir)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                               f"--direct_num_workers={workers}"])
    with beam.Pipeline(options=options) as pipeline:
        build_explain_pipeline(
            pipeline, examples_pattern=os.path.join(examples_uri, "Split-eval", "*"),
            background_pattern=os.path.join(examples_uri, "Split-train", "*"), model_dir=model_dir, config=config,
            feature_names=model.feature_names, slice_names=["sex", "age_band"], output_dir=str(out),
            work_dir=str(out / "_work"),
        )
    return _sorted(pd.read_parquet(out / "attributions"))


def _sorted(table):
    return table.sort_values(["method", "key", "prediction"] if "method" in table else ["key"]).reset_index(drop=True)


def test_one_and_two_beam_workers_agree(explained, tmp_path):
    _, _, model_dir, examples_uri, _ = explained
    config = ExplainerConfig(methods=["integrated_gradients", "shapley", "lime"], batch_size=32)
    one = _explain_with_workers(1, model_dir, examples_uri, config, tmp_path / "one")
    two = _explain_with_workers(2, model_dir, examples_uri, config, tmp_path / "two")
    assert len(one) == len(two) > 0
    assert (one["key"] == two["key"]).all()
    numeric = one.select_dtypes("number").columns
    np.testing.assert_allclose(one[numeric].to_numpy(), two[numeric].to_numpy(), atol=1e-6)
    scored = [_sorted(pd.read_parquet(tmp_path / name / PREDICTIONS_DIR)) for name in ("one", "two")]
    pd.testing.assert_frame_equal(*scored)


def test_a_cap_on_explained_examples_leaves_every_example_scored(explained, tmp_path):
    _, _, model_dir, examples_uri, full = explained
    config = ExplainerConfig(methods=["shapley"], max_examples=10, quality_examples=10, ground_truth_examples=0)
    capped = _explain_with_workers(1, model_dir, examples_uri, config, tmp_path)
    scored = _sorted(pd.read_parquet(tmp_path / PREDICTIONS_DIR))
    assert len(capped) == 10 and len(scored) == len(_records(examples_uri, "eval")) > 10
    expected = _sorted(full[full.method == "shapley"])
    assert list(scored["key"]) == list(expected["key"])
    np.testing.assert_allclose(scored["prediction"], expected["prediction"], atol=1e-6)
