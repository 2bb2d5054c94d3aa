"""The Evaluator's vectorised pass (components/evaluator/) on the session run's model, against TFMA's own pipeline
(TFX's Evaluator executor, Beam) on the same inputs: the same slices, metrics, plots, validation result and blessing.
The same with a baseline model is in test_interpretable_e2e.py, where a run has two models."""

from pathlib import Path

import pytest

from components.evaluator.executor import EVALUATED_BY, VECTORISED
from pipeline.records import mlmd
from tests.helpers import assert_same_evaluation, evaluate_with_tfma, first_run_executions

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
