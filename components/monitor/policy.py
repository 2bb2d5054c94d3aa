"""The monitoring policy: drift thresholds and the audit checks re-run on a labelled span, validated up front."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.model_audit.policy import PolicyError, ThresholdCheck
from components.validation import describe_validation_error, yaml_mapping

# The audit checks that read nothing but a binary model's labelled scores and groups: they apply to a new span.
SPAN_CHECKS = ("overall_auc", "worst_slice_auc", "calibration_ece", "disparate_impact_ratio",
               "equal_opportunity_difference", "equalized_odds_difference")


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
    """The policy at `path`; a PolicyError names the file and the field when it cannot be applied."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"{path}: cannot read the monitoring policy ({error.strerror})") from None
    try:
        policy = MonitorPolicy.model_validate(yaml_mapping(text, str(path), PolicyError))
    except ValidationError as error:
        raise PolicyError(describe_validation_error(error, str(path))) from None
    unknown = sorted(set(policy.audit_checks) - set(SPAN_CHECKS))
    if unknown:
        raise PolicyError(f"{path}: field 'audit_checks': unknown check '{unknown[0]}'; expected one of "
                          f"{', '.join(SPAN_CHECKS)}")
    return policy
