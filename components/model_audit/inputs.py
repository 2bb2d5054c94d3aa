"""What the audit reads, as plain Python and numpy values: the executor builds these from the artifacts."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.model_audit.challengers import ChallengerComparison
from components.model_audit.checks.result import Evidence
from components.model_audit.policy import AuditPolicy
from components.validation import read_text, yaml_mapping

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Predictions:
    """The model on the eval split: one entry per example, the same order in every array.

    `groups` maps each slicing column (at least the policy's protected attributes) to its value per example.
    `labelled_in_split` counts the split's labelled examples: more than N where the audit judged a sample of them.
    """

    labels: np.ndarray  # [N] 0/1
    scores: np.ndarray  # [N] predicted probability of label 1
    groups: Mapping[str, np.ndarray]
    decision_threshold: float = 0.5
    labelled_in_split: int | None = None

    @property
    def decisions(self) -> np.ndarray:
        """1 where the model grants the favourable outcome (label 1)."""
        return (np.asarray(self.scores) >= self.decision_threshold).astype(np.int8)


@dataclass(frozen=True)
class ClassPredictions:
    """A multi-class model on the eval split: each example's class and the predicted probabilities [N, K]."""

    labels: np.ndarray  # [N] int
    probabilities: np.ndarray  # [N, K]

    @property
    def predicted(self) -> np.ndarray:
        return np.asarray(self.probabilities).argmax(axis=1)


@dataclass(frozen=True)
class AuditedExplanations:
    """The Explainer's global.json and quality.json content, its primary method, and the raw eval features.

    `features` holds each raw feature's value per example, in the order of `Predictions`, for proxy detection.
    """

    global_importance: Mapping[str, Any]
    quality: Mapping[str, Any]
    method: str
    features: Mapping[str, np.ndarray]

    @property
    def mean_abs(self) -> Mapping[str, float]:
        return self.global_importance[self.method]["overall"]["mean_abs"]


@dataclass(frozen=True)
class InterpretableModel:
    """The interpretable model trained beside the candidate (policy `prefer_interpretable`): its kind, its scores of
    the candidate's eval examples in the order of `Predictions`, and whether it was blessed and passed its audit."""

    kind: str
    scores: np.ndarray
    passes: bool
    model_id: int


@dataclass(frozen=True)
class AuditInputs:
    """Everything the checks read. `predictions` are a binary model's, `classes` a multi-class model's (the other
    is None). `challengers` compares the network with interpretable models on its own inputs (None without the
    Transform output or a challenger check); `interpretable` the model that may ship instead (policy
    `prefer_interpretable`). `baseline` holds the last audited model's measurements by check id
    (None for a first audit); `evidence` lists, per check family, the artifacts its results rest on."""

    predictions: Predictions | None
    explanations: AuditedExplanations
    train_statistics: statistics_pb2.DatasetFeatureStatisticsList
    eval_statistics: statistics_pb2.DatasetFeatureStatisticsList
    anomalies: int
    privacy_report: Mapping[str, Any]
    model_card: Mapping[str, Any]
    baseline: Mapping[str, float] | None = None
    evidence: Mapping[str, Sequence[Evidence]] = field(default_factory=dict)
    classes: ClassPredictions | None = None
    challengers: ChallengerComparison | None = None
    interpretable: InterpretableModel | None = None


# Performance and fairness are judged on at most this many labelled examples: enough for AUCs, group rates and a
# bootstrap far tighter than any margin a policy sets, and bounded at any data size (at 1,000,000 rows, a bootstrap
# of 1,000 resamples over all 200,000 eval rows alone would need several GiB).
EVAL_ROWS = 20_000


def judged_rows(explanations_uri: str, seed: int) -> tuple[pd.DataFrame, int]:
    """(the Explainer's scores of the labelled examples of its split that performance and fairness are judged on,
    ordered by key, and how many labelled examples the split holds): every one up to EVAL_ROWS, beyond that a
    seeded uniform sample of that many. These are all of the split's examples, not only the explained ones
    (the Explainer's `max_examples`)."""
    import pandas as pd

    from components.explainer.explain import PREDICTIONS_DIR

    folder = os.path.join(explanations_uri, PREDICTIONS_DIR)
    if not os.path.isdir(folder):
        raise AuditInputError(f"{folder} is missing: these explanations were made by an earlier Glassbox, whose "
                              "Explainer scored only the examples it explained; run again with --no-cache")
    table = pd.read_parquet(folder)
    rows = table[table["label"].notna()].sort_values("key", kind="stable").reset_index(drop=True)
    if len(rows) > EVAL_ROWS:
        kept = np.sort(np.random.default_rng(seed).choice(len(rows), EVAL_ROWS, replace=False))
        return rows.iloc[kept].reset_index(drop=True), len(rows)
    return rows, len(rows)


def labelled_predictions(rows: pd.DataFrame, decision_threshold: float, labelled_in_split: int) -> Predictions:
    """The scores, labels and slicing columns of the Explainer's rows (all labelled), one per example."""
    from components.explainer.explain import SLICE_PREFIX

    return Predictions(
        labels=rows["label"].to_numpy().astype(int),
        scores=rows["prediction"].to_numpy(),
        groups={name[len(SLICE_PREFIX):]: rows[name].to_numpy() for name in rows.columns
                if name.startswith(SLICE_PREFIX)},
        decision_threshold=decision_threshold,
        labelled_in_split=labelled_in_split,
    )


class AuditInputError(ValueError):
    """Inputs the audit cannot read; the message says which and why."""


def read_model_card(path: Path | str) -> dict:
    """The hand-written model card (YAML), read when the pipeline is built: an unreadable file or one that is not a
    mapping fails naming the file. An empty card is no error here: which fields it must fill is the policy's
    documentation check, run in the audit."""
    path = Path(path)
    return yaml_mapping(read_text(path, "model card", AuditInputError), str(path), AuditInputError, what="model card",
                        empty_ok=True)


# Checks that read a binary model's scores, and those that read a multi-class model's classes.
BINARY_CHECKS = ("overall_auc", "worst_slice_auc", "calibration_ece", "auc_regression", "disparate_impact_ratio",
                 "equal_opportunity_difference", "equalized_odds_difference", "proxy_features")
MULTICLASS_CHECKS = ("accuracy", "worst_class_accuracy")


def check_audit_inputs(policy: AuditPolicy, inputs: AuditInputs) -> None:
    """Fails before any check runs when the inputs do not fit each other or the policy."""
    for checks, present, kind in ((BINARY_CHECKS, inputs.predictions, "binary"),
                                  (MULTICLASS_CHECKS, inputs.classes, "multi-class")):
        listed = [c for c in checks if getattr(policy.checks, c) is not None]
        if listed and present is None:
            raise policy.error(f"checks.{listed[0]}", f"applies to a {kind} classifier's predictions, which the "
                                                      "audited model does not make")
    if policy.checks.challenger_margin is not None and inputs.challengers is None:
        raise policy.error("checks.challenger_margin", "needs the Transform output (transformed examples and "
                                                       "transform graph), which the audit was not given")
    if inputs.predictions is None:
        return
    predictions, explanations = inputs.predictions, inputs.explanations
    count = len(predictions.labels)
    if not set(np.unique(predictions.labels)) <= {0, 1}:
        raise AuditInputError("the eval labels must be 0 or 1")
    scores = np.asarray(predictions.scores, dtype=np.float64)
    if not np.all((scores >= 0) & (scores <= 1)):
        raise AuditInputError("the eval scores must be probabilities in [0, 1]")
    columns = {"scores": predictions.scores, **{f"groups.{k}": v for k, v in predictions.groups.items()},
               **{f"features.{k}": v for k, v in explanations.features.items()}}
    for name, values in columns.items():
        if len(values) != count:
            raise AuditInputError(f"{name} has {len(values)} values for {count} eval labels")
    for attribute in policy.protected_attributes:
        if attribute not in predictions.groups:
            raise policy.error(f"protected_attributes.{attribute}", "the eval predictions have no such slicing column")
    if explanations.method not in explanations.global_importance:
        raise AuditInputError(f"global.json has no attributions of the primary method '{explanations.method}'")
    for attribute, protected in policy.protected_attributes.items():
        for feature in protected.features:
            if feature not in explanations.mean_abs:
                raise policy.error(f"protected_attributes.{attribute}.features",
                                   f"'{feature}' is not among the explained features {sorted(explanations.mean_abs)}")

