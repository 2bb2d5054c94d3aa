"""Explanations of an image model: do they depend on what the model learnt (model-parameter randomisation), and do
they find a planted marker the model was made to rely on?"""

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


def ground_truth_marker(check: ThresholdCheck, policy: AuditPolicy, inputs: AuditInputs) -> list[CheckResult]:
    """Per method: on images whose class a planted marker decides (quality.json's ground_truth.planted_marker), the
    share whose largest |attribution| falls inside the marker (pointing game); the relevance mass inside it is in the
    details."""
    truth = inputs.explanations.quality.get("ground_truth", {}).get("planted_marker")
    if not truth or not truth.get("methods"):
        reason = "the Explainer measured no planted-marker ground truth" if not truth else (
            "the retrained network predicted the marker class on no marked image")
        return [judged("ground_truth_marker", FAMILY, check, None, ">=", inconclusive_because=reason)]
    context = {k: v for k, v in truth.items() if k != "methods"}
    return [judged(f"ground_truth_marker.{method}", FAMILY, check, found.get("pointing_game"), ">=",
                   details={"method": method, **context, **found})
            for method, found in sorted(truth["methods"].items())]


CHECKS = {"randomization_sanity": randomization_sanity, "ground_truth_marker": ground_truth_marker}
