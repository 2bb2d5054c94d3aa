"""ModelAudit: checks a trained model against a written policy and records the verdict."""


from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import AuditReport, Explanations, PrivacyReport
from components.code import code_parameter
from components.model_audit import executor
from components.model_audit.inputs import read_model_card
from components.model_audit.policy import load_policy, policy_json
from components.validation import canonical_json


class ModelAuditSpec(types.ComponentSpec):
    PARAMETERS = {
        # The validated policy and model card as canonical JSON, not their paths: TFX's cache key hashes execution
        # parameters, so editing either file in place reruns the audit, and unchanged files still hit the cache.
        "policy": ExecutionParameter(type=str),
        "model_card": ExecutionParameter(type=str),
        # The files they were read from, as audit.json names them (the policy's source, the card's evidence).
        "policy_source": ExecutionParameter(type=str),
        "model_card_source": ExecutionParameter(type=str),
        "decision_threshold": ExecutionParameter(type=float),
        **code_parameter(),
    }
    INPUTS = {
        "model": ChannelParameter(type=standard_artifacts.Model),
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "evaluation": ChannelParameter(type=standard_artifacts.ModelEvaluation),
        "blessing": ChannelParameter(type=standard_artifacts.ModelBlessing),
        "explanations": ChannelParameter(type=Explanations),
        "statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        "schema": ChannelParameter(type=standard_artifacts.Schema),
        "privacy_report": ChannelParameter(type=PrivacyReport, optional=True),
        "baseline_audit": ChannelParameter(type=AuditReport, optional=True),
        # The Transform output the Trainer read: the interpretable challengers train and score on it.
        "transformed_examples": ChannelParameter(type=standard_artifacts.Examples, optional=True),
        "transform_graph": ChannelParameter(type=standard_artifacts.TransformGraph, optional=True),
        # An interpretable model trained beside this one, with its blessing and own audit: under the policy's
        # prefer_interpretable, the audit decides which of the two ships (the `ships` property).
        "interpretable_model": ChannelParameter(type=standard_artifacts.Model, optional=True),
        "interpretable_blessing": ChannelParameter(type=standard_artifacts.ModelBlessing, optional=True),
        "interpretable_audit": ChannelParameter(type=AuditReport, optional=True),
    }
    OUTPUTS = {"audit_report": ChannelParameter(type=AuditReport)}


class ModelAudit(base_component.BaseComponent):
    """Runs the checks of `policy_file` (see components/model_audit/policy.py) on the evidence, and documents the
    model with `model_card_file`. Both are read and validated here, when the pipeline is built.

    The `audit_report` artifact carries `verdict` ('pass'/'fail'), `blocking_failures`, the policy digest and
    `ships` ('candidate', 'interpretable' or 'none': components/model_audit/preference.py) as MLMD properties; the
    Pusher of the model it names runs.
    """

    SPEC_CLASS = ModelAuditSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        *,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        evaluation: types.BaseChannel,
        blessing: types.BaseChannel,
        explanations: types.BaseChannel,
        statistics: types.BaseChannel,
        anomalies: types.BaseChannel,
        schema: types.BaseChannel,
        policy_file: str,
        model_card_file: str,
        decision_threshold: float = 0.5,
        privacy_report: types.BaseChannel | None = None,
        baseline_audit: types.BaseChannel | None = None,
        transformed_examples: types.BaseChannel | None = None,
        transform_graph: types.BaseChannel | None = None,
        interpretable_model: types.BaseChannel | None = None,
        interpretable_blessing: types.BaseChannel | None = None,
        interpretable_audit: types.BaseChannel | None = None,
    ):
        policy = load_policy(policy_file)  # a bad policy fails when the pipeline is built, not hours later
        spec = ModelAuditSpec(
            model=model, examples=examples, evaluation=evaluation, blessing=blessing, explanations=explanations,
            statistics=statistics, anomalies=anomalies, schema=schema, privacy_report=privacy_report,
            baseline_audit=baseline_audit, transformed_examples=transformed_examples,
            transform_graph=transform_graph, interpretable_model=interpretable_model,
            interpretable_blessing=interpretable_blessing, interpretable_audit=interpretable_audit,
            policy=policy_json(policy), policy_source=policy.source,
            model_card=canonical_json(read_model_card(model_card_file)), model_card_source=str(model_card_file),
            decision_threshold=decision_threshold, audit_report=types.Channel(type=AuditReport),
        )
        super().__init__(spec=spec)
