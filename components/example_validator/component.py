"""ExampleValidator with a schema environment: TFX's component and executor, plus the `environment` that TFDV's
`validate_statistics` takes and TFX 1.16's executor never passes on, so the features a schema keeps out of an
environment (the label, `not_in_environment: "SERVING"`) are not reported missing from data of that environment."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts, standard_component_specs
from tfx.types.component_spec import ExecutionParameter

from components.code import code_parameter
from components.example_validator import executor


class ExampleValidatorSpec(standard_component_specs.ExampleValidatorSpec):
    PARAMETERS = {
        **standard_component_specs.ExampleValidatorSpec.PARAMETERS,
        # The schema environment a split is validated in when it fits it (executor.validation_environment).
        "environment": ExecutionParameter(type=str),
        **code_parameter(),
    }


class ExampleValidator(base_component.BaseComponent):
    """Validates each split of `statistics` against `schema` as TFX's ExampleValidator does, in `environment` when the
    split has none of the features the schema keeps out of it (a span without labels, in SERVING), else in every
    feature (a labelled span, whose labels are then checked too). Outputs `anomalies`, as TFX's."""

    SPEC_CLASS = ExampleValidatorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, statistics: types.BaseChannel, schema: types.BaseChannel, environment: str):
        super().__init__(spec=ExampleValidatorSpec(
            statistics=statistics, schema=schema, environment=environment,
            anomalies=types.Channel(type=standard_artifacts.ExampleAnomalies)))
