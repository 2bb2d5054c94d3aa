"""The interpretable model family that the audit's challenger comparison and the Explainer's ground truth share: one
definition, so the logistic regression whose exact attributions the Explainer checks its methods against is the
challenger the audit compares the network with."""

from sklearn.linear_model import LogisticRegression


def logistic_regression() -> LogisticRegression:
    """Unfitted; fitted on the network's dense inputs (z-scored numerics, one-hot categoricals)."""
    return LogisticRegression(max_iter=1000)
