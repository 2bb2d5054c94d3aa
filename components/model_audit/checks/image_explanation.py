"""Explanations of an image model: do they depend on what the model learnt (model-parameter randomisation)?"""

from __future__ import annotations

from components.model_audit.checks.result import CheckResult, judged
from components.model_audit.inputs import AuditInputs
from components.model_audit.policy import AuditPolicy, ThresholdCheck

FAMILY = "explanation"


def randomization_sanity(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Per method: the mean Spearman correlation between its |attribution| maps for the trained model and for the
    same network with re-initialised weights (Adebayo et al., 2018). A method whose maps barely change explains
    the image, or its own structure, rather than the model."""
    results = []
    for method, quality in sorted(inputs.explanations.quality.get("methods", {}).items()):
        randomization = quality.get("randomization") or {}
        results.append(judged(f"randomization_sanity.{method}", FAMILY, check, randomization.get("spearman_mean"),
                              "<=", details={"method": method, **randomization}))
    return results


CHECKS = {"randomization_sanity": randomization_sanity}
