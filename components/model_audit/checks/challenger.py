"""Challenger: the opaque network must earn its opacity by beating the best interpretable model by a margin."""

from __future__ import annotations

from dataclasses import replace

from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, ChallengerCheck

FAMILY = "challenger"


def challenger_margin(check: ChallengerCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """The network's AUC gain over the best challenger (with its CI); short of the margin, the audit recommends
    the challenger."""
    comparison = inputs.challengers
    result = judged("challenger_margin", FAMILY, check, comparison.gain, ">=", comparison.gain_ci,
                    comparison.details())
    if result.status == "fail":
        recommendation = (f"recommended: ship the {comparison.best.replace('_', ' ')} (AUC "
                          f"{comparison.challenger_aucs[comparison.best]:.3f}) instead of the network (AUC "
                          f"{comparison.network_auc:.3f}); the network does not beat it by {check.threshold:g}")
        result = replace(result, reason=recommendation, details={**result.details, "recommendation": recommendation})
    return [result]


CHECKS = {"challenger_margin": challenger_margin}
