"""Evaluator: TFX's spec, parameters and outputs, with Glassbox's code digest and its executor."""

from __future__ import annotations

from tensorflow_model_analysis.proto import config_pb2
from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.utils import json_utils

from components.code import code_parameter
from components.evaluator import executor


class EvaluatorSpec(standard_component_specs.EvaluatorSpec):
    PARAMETERS = {**standard_component_specs.EvaluatorSpec.PARAMETERS, **code_parameter()}


class Evaluator(base_beam_component.BaseBeamComponent):
    """TFX's Evaluator with an eval config (the parameters Glassbox uses): evaluates `model` on the eval split of
    `examples` against `baseline_model`, writes `evaluation` and `blessing` as TFX's does."""

    SPEC_CLASS = EvaluatorSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, model: types.BaseChannel,
                 baseline_model: types.BaseChannel | None, eval_config: config_pb2.EvalConfig):
        super().__init__(spec=EvaluatorSpec(
            examples=examples, model=model, baseline_model=baseline_model, eval_config=eval_config,
            # TFX's own component's values for the parameters it is not given.
            fairness_indicator_thresholds=json_utils.dumps(None), example_splits=json_utils.dumps(None),
            evaluation=types.Channel(type=standard_artifacts.ModelEvaluation),
            blessing=types.Channel(type=standard_artifacts.ModelBlessing)))
