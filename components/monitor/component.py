"""Monitor: a new span of data against the model that serves and what it was trained on."""

from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.artifacts import Explanations, MonitorReport
from components.code import code_parameter
from components.model_audit.policy import load_policy, policy_json
from components.monitor import executor
from components.monitor.policy import load_monitor_policy, monitor_policy_json


class MonitorSpec(types.ComponentSpec):
    PARAMETERS = {
        # The validated policies as canonical JSON, not their paths: TFX's cache key hashes execution parameters, so
        # editing either file in place reruns the Monitor, and unchanged files still hit the cache.
        "policy": ExecutionParameter(type=str),
        # The audit policy whose performance and fairness thresholds apply to a labelled span ('' for none).
        "audit_policy": ExecutionParameter(type=str),
        # The files they were read from, as monitor.json names them ('' for no audit policy).
        "policy_source": ExecutionParameter(type=str),
        "audit_policy_source": ExecutionParameter(type=str),
        "decision_threshold": ExecutionParameter(type=float),
        **code_parameter(),
    }
    INPUTS = {
        # The watched model and its training-time evidence (the training split's statistics, the explanations).
        "model": ChannelParameter(type=standard_artifacts.Model),
        "baseline_statistics": ChannelParameter(type=standard_artifacts.ExampleStatistics),
        "baseline_explanations": ChannelParameter(type=Explanations),
        # The span: its examples, their anomalies against the training schema, the model's scores, explanations.
        "examples": ChannelParameter(type=standard_artifacts.Examples),
        "anomalies": ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        "inference_result": ChannelParameter(type=standard_artifacts.InferenceResult),
        "explanations": ChannelParameter(type=Explanations),
    }
    OUTPUTS = {"monitor_report": ChannelParameter(type=MonitorReport)}


class Monitor(base_component.BaseComponent):
    """Checks a span against `policy_file` (components/monitor/policy.py): data drift per feature, prediction drift,
    attribution drift and, on labelled data, the performance and fairness checks of `audit_policy_file`. Both are
    read and validated here, when the pipeline is built.

    The `monitor_report` artifact holds monitor.json and report.html, with `alerts`, `block_alerts`,
    `drifted_features` and the headline drift figures as MLMD properties.
    """

    SPEC_CLASS = MonitorSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, *, model: types.BaseChannel, baseline_statistics: types.BaseChannel,
                 baseline_explanations: types.BaseChannel, examples: types.BaseChannel,
                 anomalies: types.BaseChannel, inference_result: types.BaseChannel, explanations: types.BaseChannel,
                 policy_file: str, audit_policy_file: str | None = None, decision_threshold: float = 0.5):
        # Bad policies fail when the pipeline is built, not after the span has been processed.
        policy = load_monitor_policy(policy_file)
        audit_policy = load_policy(audit_policy_file) if audit_policy_file else None
        super().__init__(spec=MonitorSpec(
            model=model, baseline_statistics=baseline_statistics, baseline_explanations=baseline_explanations,
            examples=examples, anomalies=anomalies, inference_result=inference_result, explanations=explanations,
            policy=monitor_policy_json(policy), policy_source=str(policy_file),
            audit_policy=policy_json(audit_policy) if audit_policy else "",
            audit_policy_source=audit_policy.source if audit_policy else "",
            decision_threshold=decision_threshold, monitor_report=types.Channel(type=MonitorReport)))
