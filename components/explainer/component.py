"""Explainer: feature attributions of a trained model in raw-feature space, with their quality."""


from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import Explanations
from components.code import code_parameter
from components.explainer import executor
from components.explainer.config import ExplainerConfig
from components.explainer.image.config import ImageExplainerConfig


class ExplainerSpec(types.ComponentSpec):
    PARAMETERS = {"config": ExecutionParameter(type=str), **code_parameter()}
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "schema": ChannelParameter(type=standard_artifacts.Schema, optional=True),
        # Another Explainer run's output whose background rows (explain.BACKGROUND_FILE) replace `background_split`:
        # a monitored span is explained against the training's background, as the decision service explains.
        "background": ChannelParameter(type=Explanations, optional=True),
    }
    OUTPUTS = {"explanations": ChannelParameter(type=Explanations)}


class Explainer(base_beam_component.BaseBeamComponent):
    """Explains `model` on a split of `examples` (see ExplainerConfig for the parameters).

    Outputs an `Explanations` artifact: attributions/*.parquet, global.json, quality.json,
    reason_codes/*.jsonl and plots/*.png, with headline figures as MLMD custom properties.
    """

    SPEC_CLASS = ExplainerSpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(
        self,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        schema: types.BaseChannel | None = None,
        config: ExplainerConfig | ImageExplainerConfig | None = None,
        background: types.BaseChannel | None = None,
    ):
        spec = ExplainerSpec(
            model=model,
            examples=examples,
            schema=schema,
            background=background,
            config=(config or ExplainerConfig()).model_dump_json(),
            explanations=types.Channel(type=Explanations),
        )
        super().__init__(spec=spec)
