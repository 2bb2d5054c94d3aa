"""The monitoring policy: drift thresholds and the audit checks re-run on a labelled span, validated up front.

The validated content travels into the Monitor as canonical JSON (`monitor_policy_json`); `monitor_policy_from_json`
reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.model_audit.policy import ThresholdCheck
from components.validation import PolicyError, canonical_json, describe_validation_error, read_text, yaml_mapping

# The audit checks that read nothing but a binary model's labelled scores and groups: they apply to a new span.
SPAN_CHECKS = ("overall_auc", "worst_slice_auc", "calibration_ece", "disparate_impact_ratio",
               "equal_opportunity_difference", "equalized_odds_difference")


class MonitorPolicyError(PolicyError):
    """A monitoring policy that cannot be applied; the message names the policy file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class DataDrift(_Strict):
    """Per model feature: Jensen-Shannon divergence of a numeric one, L-infinity distance of a categorical one,
    against the training split's statistics; `features` overrides the threshold of single features."""

    numeric: ThresholdCheck
    categorical: ThresholdCheck
    features: dict[str, float] = Field(default_factory=dict)


class AttributionDrift(_Strict):
    # Spearman correlation of the features' mean |attribution| between training and the span: at least this.
    rank: ThresholdCheck
    # The largest change of any feature's share of the total mean |attribution|: at most this.
    share: ThresholdCheck


class MonitorPolicy(_Strict):
    version: Literal[1]
    schema_anomalies: ThresholdCheck
    data_drift: DataDrift
    # Jensen-Shannon divergence between the score histograms (`score_bins` equal bins on [0, 1]).
    prediction_drift: ThresholdCheck
    score_bins: int = Field(10, ge=2)
    attribution_drift: AttributionDrift
    # Checks of the audit policy re-run when the span has labels, with the audit's thresholds.
    audit_checks: list[str] = Field(default_factory=list)


def load_monitor_policy(path: Path | str) -> MonitorPolicy:
    """The policy at `path`; a MonitorPolicyError names the file and the field when it cannot be applied."""
    path = Path(path)
    text = read_text(path, "monitoring policy", MonitorPolicyError)
    return _validated(yaml_mapping(text, str(path), MonitorPolicyError), str(path))


def monitor_policy_json(policy: MonitorPolicy) -> str:
    """The policy's content as canonical JSON: how it travels into the Monitor (and into its cache key)."""
    return canonical_json(policy.model_dump(mode="json"))


def monitor_policy_from_json(content: str, source: str) -> MonitorPolicy:
    """The policy as the Monitor carries it (`monitor_policy_json`), validated again; errors name `source`, the file
    it was read from."""
    return _validated(json.loads(content), source)


def _validated(data: dict, source: str) -> MonitorPolicy:
    try:
        policy = MonitorPolicy.model_validate(data)
    except ValidationError as error:
        raise MonitorPolicyError(describe_validation_error(error, source)) from None
    unknown = sorted(set(policy.audit_checks) - set(SPAN_CHECKS))
    if unknown:
        raise MonitorPolicyError(f"{source}: field 'audit_checks': unknown check '{unknown[0]}'; expected one of "
                          f"{', '.join(SPAN_CHECKS)}")
    return policy
