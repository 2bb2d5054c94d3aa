"""The checks a drafted audit policy lists, by family, as the audit policy's own check models.

The thresholds are starting points for a person to review against what the model is for.
"""

from components.model_audit.policy import (
    CalibrationCheck,
    ChallengerCheck,
    DocumentationCheck,
    EstimatedCheck,
    GroundTruthCheck,
    ProxyCheck,
    ThresholdCheck,
)

PERFORMANCE = {
    "overall_auc": EstimatedCheck(
        requirement="AUC on the eval split is at least 0.70 (the Evaluator's blessing threshold).",
        threshold=0.70, rule="point", severity="block"),
    "calibration_ece": CalibrationCheck(
        requirement="Expected calibration error (10 equal-width score bins) is at most 0.10.",
        threshold=0.10, bins=10, rule="point", severity="warn"),
    "auc_regression": ThresholdCheck(
        requirement="Overall AUC is at most 0.05 below the last audited model's.",
        threshold=0.05, severity="block"),
    "challenger_margin": ChallengerCheck(
        requirement="The network's eval AUC beats the best interpretable challenger by at least 0.01.",
        threshold=0.01, rule="point", severity="warn"),
    "completeness_error": ThresholdCheck(
        requirement="The median completeness error of the attributions is at most 0.05.",
        threshold=0.05, severity="block"),
    "faithfulness": ThresholdCheck(
        requirement="Deleting features in attribution order lowers the score faster than a random order.",
        threshold=1.0, severity="warn"),
    "lime_stability": ThresholdCheck(
        requirement="LIME's variables and coefficients stability indices over repeated seeds are both at least 80.",
        threshold=80, severity="warn"),
    "ground_truth_challenger": GroundTruthCheck(
        requirement="Every method's attributions of the logistic regression challenger correlate with its exact "
                    "Shapley values at least 0.9 and find at least 80% of the 3 top features.",
        threshold=0.9, min_precision_at_k=0.8, severity="block"),
    "ground_truth_planted": GroundTruthCheck(
        requirement="Every method's attributions of a network trained on a planted signal correlate with the planted "
                    "effects at least 0.8 and find at least 70% of the planted features.",
        threshold=0.8, min_precision_at_k=0.7, severity="warn"),
    "anomalies": ThresholdCheck(
        requirement="ExampleValidator found no anomalies against the data contract.",
        threshold=0, severity="block"),
    "categorical_drift": ThresholdCheck(
        requirement="No categorical feature's frequencies differ between train and eval by more than 0.15 "
                    "(L-infinity).",
        threshold=0.15, severity="warn"),
    "numeric_drift": ThresholdCheck(
        requirement="No numeric feature's distribution differs between train and eval by more than 0.15 "
                    "(JS divergence).",
        threshold=0.15, severity="warn"),
    "model_card": DocumentationCheck(
        requirement="The model card states the intended use, out-of-scope uses, limitations and owners.",
        required_fields=["intended_use", "out_of_scope_uses", "limitations", "owners"], severity="block"),
}

FAIRNESS = {
    "worst_slice_auc": EstimatedCheck(
        requirement="AUC in every slice of a protected attribute is at least 0.60.",
        threshold=0.60, rule="point", severity="warn"),
    "disparate_impact_ratio": EstimatedCheck(
        requirement="The lowest group's acceptance rate is at least 4/5 of the highest group's (four-fifths rule).",
        threshold=0.80, rule="point", severity="block"),
    "equal_opportunity_difference": EstimatedCheck(
        requirement="True positive rates differ by at most 0.20 between groups.",
        threshold=0.20, rule="point", severity="warn"),
    "equalized_odds_difference": EstimatedCheck(
        requirement="True and false positive rates each differ by at most 0.25 between groups.",
        threshold=0.25, rule="point", severity="warn"),
    "protected_attribution_share": ThresholdCheck(
        requirement="Protected attributes carry at most 20% of the total mean absolute attribution.",
        threshold=0.20, severity="warn"),
    "proxy_features": ProxyCheck(
        requirement="None of the 5 most attributed features is associated with a protected attribute above 0.30.",
        threshold=0.30, top_k=5, severity="warn"),
}

PRIVACY = {
    "pii_after_deidentification": ThresholdCheck(
        requirement="No PII detector fires on the de-identified data.",
        threshold=0, severity="block"),
    "k_anonymity": ThresholdCheck(
        requirement="The released data is k-anonymous on its quasi-identifiers with k of at least 5.",
        threshold=5, severity="block"),
}
