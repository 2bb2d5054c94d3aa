"""Privacy: policy-driven de-identification of Examples on Beam, with a PrivacyReport."""

from tfx import types
from tfx.dsl.components.base import base_beam_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import PrivacyReport
from components.code import code_parameter
from components.privacy import executor
from components.privacy.policy import check_environment, key_id_if_available, policy_json, read_policy


class PrivacySpec(types.ComponentSpec):
    PARAMETERS = {
        # The validated policy as canonical JSON, not its path: TFX's cache key hashes execution parameters, so
        # editing the file in place reruns the step, and an unchanged file is still served from the cache.
        "policy": ExecutionParameter(type=str),
        # The file it was read from: named in errors and in the report, and the base of a relative key_file.
        "policy_source": ExecutionParameter(type=str),
        # Which pseudonymization key the step will use (its id, never the key): a rotated key reruns the step.
        # Empty when the policy pseudonymizes nothing, or when the key is not readable where the pipeline is built.
        "key_id": ExecutionParameter(type=str),
        # Where the data comes from (policy.ENVIRONMENTS): SERVING data, a monitored span, may lack the sensitive
        # label; l-diversity is then skipped with the reason in the report. TRAINING data without it fails closed.
        "environment": ExecutionParameter(type=str),
        **code_parameter(),
    }
    INPUTS = {"examples": ChannelParameter(type=standard_artifacts.Examples)}
    OUTPUTS = {
        "deidentified_examples": ChannelParameter(type=standard_artifacts.Examples),
        "privacy_report": ChannelParameter(type=PrivacyReport),
    }


class Privacy(base_beam_component.BaseBeamComponent):
    """De-identifies every split of `examples` as the policy file says (see components/privacy/policy.py).

    The policy's structure is validated here, when the pipeline is built; its fit to the data's columns when
    the step runs, before any example is processed. `environment` says where the data comes from: TRAINING (every
    column the policy declares must be there) or SERVING (a monitored span, which may lack the sensitive label).

    The pseudonymization key is read at run time from the environment variable or secret file the
    policy names, never from the policy or the pipeline definition. Outputs `deidentified_examples`
    (same splits) and a `privacy_report` (privacy_report.json; headline figures in MLMD).
    """

    SPEC_CLASS = PrivacySpec
    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(executor.Executor)

    def __init__(self, examples: types.BaseChannel, policy_file: str, environment: str = "TRAINING"):
        policy = read_policy(policy_file)  # a malformed policy fails when the pipeline is built
        check_environment(environment)
        spec = PrivacySpec(
            examples=examples,
            policy=policy_json(policy),
            policy_source=policy.source,
            key_id=key_id_if_available(policy),
            environment=environment,
            deidentified_examples=types.Channel(type=standard_artifacts.Examples),
            privacy_report=types.Channel(type=PrivacyReport),
        )
        super().__init__(spec=spec)
