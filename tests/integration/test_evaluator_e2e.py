"""The Evaluator's vectorised pass (components/evaluator/) on the session run's model, against TFMA's own pipeline
(TFX's Evaluator executor, Beam) on the same inputs: the same slices, metrics, plots, validation result and blessing.
The same with a baseline model is in test_interpretable_e2e.py, where a run has two models."""

import json
from pathlib import Path

import pytest

from components.evaluator.executor import EVALUATED_BY, VECTORISED
from pipeline.records import mlmd
from tests.helpers import assert_same_evaluation, evaluate_with_tfma, evaluation_records, first_run_executions

pytestmark = pytest.mark.e2e


def test_the_session_runs_evaluation_came_from_the_vectorised_pass_and_is_tfmas(pipeline_run, tmp_path):
    config, _ = pipeline_run
    store, executions = first_run_executions(config)
    recorded = mlmd.output_artifacts(store, executions["Evaluator"].id)
    assert recorded["evaluation"][0].custom_properties[EVALUATED_BY].string_value == VECTORISED
    tfma = evaluate_with_tfma(config, "Evaluator", tmp_path)["tfma"]
    assert_same_evaluation(recorded["evaluation"][0].uri, tfma["evaluation"][0].uri)
    ours, theirs = recorded["blessing"][0], tfma["blessing"][0].mlmd_artifact
    for name in ("blessed", "current_model", "current_model_id"):
        assert ours.custom_properties[name] == theirs.custom_properties[name], name
    assert ours.custom_properties["blessed"].int_value == 1
    assert all(Path(blessing.uri, "BLESSED").exists() for blessing in (ours, theirs))


def _beyond_the_pipelines_config(eval_config):
    """Slices on raw integer features that no signature returns (job: 4 values; duration: about 30), confusion-matrix
    metrics at other thresholds than the pipeline's 0.5 (one of them in no bucket's boundary), a finer calibration plot
    and a two-sided AUC threshold on a slice."""
    eval_config.slicing_specs.add(feature_keys=["job"])
    eval_config.slicing_specs.add(feature_keys=["duration"])
    for metric in eval_config.metrics_specs[0].metrics:
        if metric.config == json.dumps({"thresholds": [0.5]}):
            metric.config = json.dumps({"thresholds": [0.25, 0.5, 0.7231]})
        elif metric.class_name == "CalibrationPlot":
            metric.config = json.dumps({"num_buckets": 25})
        elif metric.class_name == "AUC":
            bound = metric.per_slice_thresholds.add(threshold={"value_threshold": {"lower_bound": {"value": 0.6},
                                                                                   "upper_bound": {"value": 0.99}}})
            bound.slicing_specs.add(feature_values={"sex": "female"})


def test_a_config_beyond_the_pipelines_is_vectorised_and_is_tfmas(pipeline_run, tmp_path):
    """What the pipeline's config does not exercise and the vectorised pass claims to compute: raw integer slices,
    several thresholds, another bucket count, thresholds on a feature slice. Each output equals TFMA's."""
    config, _ = pipeline_run
    outputs = evaluate_with_tfma(config, "Evaluator", tmp_path, edit_eval_config=_beyond_the_pipelines_config)
    ours, theirs = outputs["glassbox"]["evaluation"][0], outputs["tfma"]["evaluation"][0]
    assert ours.mlmd_artifact.custom_properties[EVALUATED_BY].string_value == VECTORISED
    keys = [json.loads(key) for kind, key in evaluation_records(ours.uri) if kind == "metrics"]
    columns = [key["singleSliceKeys"][0]["column"] for key in keys if key]
    assert columns.count("job") == 4 and columns.count("duration") > 10, columns
    assert_same_evaluation(ours.uri, theirs.uri)
