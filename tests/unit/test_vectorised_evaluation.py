"""The Evaluator's vectorised pass (components/evaluator/evaluation.py) against TFMA's own combiners: for the eval
config the pipeline writes, every metric and plot computed from whole arrays equals what TFMA's combiners give when
fed one example at a time (their `add_input`, as TFMA's Beam pipeline feeds them), edge scores included; and each part
of an eval config the pass does not compute is named, so that the executor hands it to TFMA's pipeline."""

from __future__ import annotations

import numpy as np
import pytest
from google.protobuf import json_format
from tensorflow_model_analysis import constants
from tensorflow_model_analysis.metrics import metric_specs, metric_types
from tensorflow_model_analysis.proto import config_pb2
from tensorflow_model_analysis.slicer import slicer_lib
from tensorflow_model_analysis.utils import config_util
from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as tfma_writer

from components.evaluator import evaluation
from pipeline.config import load_config
from pipeline.pipeline import eval_config
from tests.helpers import assert_close

# Scores on the fairness threshold and on bucket boundaries of TFMA's 10,000-bucket histogram, 0, 1, and scores
# outside [0, 1] (TFMA's first and last buckets).
EDGE_SCORES = [0.0, 1.0, 0.5, 0.1, 0.2999, 0.3, 1e-4, 0.9999, -0.25, 1.5]


def _eval_config(has_baseline: bool) -> config_pb2.EvalConfig:
    return config_util.update_eval_config_with_defaults(eval_config(load_config()), has_baseline=has_baseline,
                                                        rubber_stamp=True)


def _scores(seed: int, count: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count).astype(np.float64)
    scores = rng.random(count).astype(np.float32)  # a model's float32 scores, as the serving signature gives them
    scores[:len(EDGE_SCORES)] = EDGE_SCORES
    return labels, scores.astype(np.float64)


def _tfma(config, labels, scores_by_model: dict) -> dict:
    """TFMA's combiners fed one example at a time, then TFMA's derived metrics, private ones removed."""
    combined, derived = evaluation.separate(metric_specs.to_computations(config.metrics_specs, eval_config=config))
    metrics = {}
    for computation in combined:
        combiner = computation.combiner
        accumulator = combiner.create_accumulator()
        for i, label in enumerate(labels):
            predictions = {name: np.array([scores[i]]) for name, scores in scores_by_model.items()}
            accumulator = combiner.add_input(accumulator, metric_types.StandardMetricInputs({
                constants.LABELS_KEY: np.array([label]),
                constants.PREDICTIONS_KEY: predictions[""] if "" in predictions else predictions,
                constants.EXAMPLE_WEIGHTS_KEY: None}))
        metrics.update(combiner.extract_output(accumulator))
    for computation in derived:
        metrics.update(computation.result(metrics))
    return {key: value for key, value in metrics.items() if not key.name.startswith("_")}


def _vectorised(config, labels, scores_by_model: dict) -> dict:
    combined, derived = evaluation.separate(metric_specs.to_computations(config.metrics_specs, eval_config=config))
    scored = {name: evaluation.Scored(labels, scores, {}) for name, scores in scores_by_model.items()}
    return evaluation.slice_metrics(np.ones(labels.size, dtype=bool), scored, combined, derived,
                                    baseline_name="baseline" if "baseline" in scores_by_model else None)


def _as_dicts(metrics: dict) -> tuple:
    """The metrics and the plots as TFMA writes them (their protos), as plain dicts."""
    plain = [(key, value) for key, value in metrics.items() if not isinstance(key, metric_types.PlotKey)]
    plots = [(key, value) for key, value in metrics.items() if isinstance(key, metric_types.PlotKey)]
    return (json_format.MessageToDict(tfma_writer.convert_slice_metrics_to_proto(((), dict(plain)), [])),
            json_format.MessageToDict(tfma_writer.convert_slice_plots_to_proto(((), dict(plots)), [])))


@pytest.mark.parametrize("seed,count", [(0, 400), (1, 37), (2, len(EDGE_SCORES))])
def test_every_metric_and_plot_equals_tfmas_combiners_fed_one_example_at_a_time(seed, count):
    config = _eval_config(has_baseline=False)
    labels, scores = _scores(seed, count)
    theirs, ours = _tfma(config, labels, {"": scores}), _vectorised(config, labels, {"": scores})
    assert {key.name for key in ours} >= {"example_count", "auc", "binary_accuracy", "calibration",
                                          "calibration_plot", "fpr", "false_omission_rate"}
    assert_close(_as_dicts(ours), _as_dicts(theirs), rel=1e-12)  # sums added in another order


def test_a_candidate_and_its_baseline_each_get_their_own_scores_and_the_diffs_are_candidate_minus_baseline():
    config = _eval_config(has_baseline=True)
    labels, candidate = _scores(3, 300)
    _, baseline = _scores(4, 300)
    scores = {"candidate": candidate, "baseline": baseline}
    theirs, ours = _tfma(config, labels, scores), _vectorised(config, labels, scores)
    diffs = {key: value for key, value in ours.items() if key.is_diff}
    assert_close(_as_dicts({k: v for k, v in ours.items() if not k.is_diff}), _as_dicts(theirs), rel=1e-12)
    auc = next(key for key in ours if key.name == "auc" and key.model_name == "candidate" and not key.is_diff)
    assert diffs[auc.make_diff_key()] == ours[auc] - ours[auc.make_baseline_key("baseline")] != 0
    assert not any(key.model_name == "baseline" for key in diffs)


def test_slices_group_examples_by_value_and_an_example_without_the_feature_is_in_none():
    config = _eval_config(has_baseline=False)
    scored = evaluation.Scored(np.array([1.0, 0.0, 1.0, 0.0]), np.array([0.9, 0.2, 0.4, 0.6]),
                               {"sex": ["female", "male", None, "female"], "age_band": ["<25"] * 4})
    slices = {key: mask.tolist() for key, mask in evaluation.slice_masks(config, scored)}
    assert slices == {(): [True] * 4, (("sex", "female"),): [True, False, False, True],
                      (("sex", "male"),): [False, True, False, False], (("age_band", "<25"),): [True] * 4}


def test_slice_values_are_keyed_as_tfmas_slicer_keys_them():
    """Text decoded, numbers as Python numbers: the keys TFMA's SingleSliceSpec generates from the same arrays, so that
    a threshold's slice spec (`feature_values`) applies to them as it does in TFMA's pipeline."""
    arrays = {"sex": np.array([b"female", b"male", "Gr\u00fcn".encode()], dtype=object),
              "job": np.array([2, 0, 3], dtype=np.int64), "rate": np.array([0.1, 2.5, 0.1], dtype=np.float32)}
    for name, values in arrays.items():
        theirs = [key[0][1] for value in values for key in slicer_lib.get_slices_for_features_dicts(
            [], {name: np.array([value], dtype=values.dtype)}, [slicer_lib.SingleSliceSpec(columns=[name])])]
        ours = evaluation._slice_values(values, name)
        assert ours == theirs and [type(v) for v in ours] == [type(v) for v in theirs], name
    female = slicer_lib.SingleSliceSpec(spec=config_pb2.SlicingSpec(feature_values={"sex": "female"}))
    assert female.is_slice_applicable((("sex", evaluation._slice_values(arrays["sex"], "sex")[0]),))
    job = slicer_lib.SingleSliceSpec(spec=config_pb2.SlicingSpec(feature_values={"job": "2"}))
    assert job.is_slice_applicable((("job", evaluation._slice_values(arrays["job"], "job")[0]),))
    with pytest.raises(evaluation.UnsupportedError, match="sex, which has a value that is not UTF-8"):
        evaluation._slice_values(np.array([b"\xff"], dtype=object), "sex")


def _with(change) -> config_pb2.EvalConfig:
    config = _eval_config(has_baseline=False)
    change(config)
    return config


@pytest.mark.parametrize("change,named", [
    (lambda c: c.options.compute_confidence_intervals.SetInParent() or setattr(
        c.options.compute_confidence_intervals, "value", True), "confidence intervals"),
    (lambda c: setattr(c.options.min_slice_size, "value", 20), "minimum slice size"),
    (lambda c: c.cross_slicing_specs.add(), "cross slices"),
    (lambda c: setattr(c.metrics_specs[0], "query_key", "user"), "query key"),
    (lambda c: setattr(c.model_specs[0], "example_weight_key", "weight"), "example weights"),
    (lambda c: c.slicing_specs.add(feature_values={"sex": "female"}), "the slice"),
    (lambda c: c.slicing_specs.add(feature_keys=["sex", "age_band"]), "the slice"),
])
def test_a_config_the_pass_does_not_compute_is_named(change, named):
    with pytest.raises(evaluation.UnsupportedError, match=named):
        evaluation.check_config(_with(change))
    evaluation.check_config(_eval_config(has_baseline=True))  # the pipeline's own config, with or without a baseline


def test_a_metric_without_a_vectorised_accumulator_is_named():
    config = _with(lambda c: c.metrics_specs[0].metrics.add(class_name="MeanSquaredError"))
    with pytest.raises(evaluation.UnsupportedError, match="MeanSquaredError|mean_squared_error"):
        evaluation.separate(metric_specs.to_computations(config.metrics_specs, eval_config=config))
