"""Hand-made audit inputs: predictions with known group rates, TFDV statistics protos, explanation files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.model_audit.challengers import ChallengerData, compare
from components.model_audit.checks.result import Evidence
from components.model_audit.inputs import AuditedExplanations, AuditInputs, Predictions
from components.model_audit.policy import load_policy

REPO_ROOT = Path(__file__).resolve().parents[3]
DEFAULT_POLICY = REPO_ROOT / "schemas" / "german_credit" / "audit_policy.yaml"
MODEL_CARD = REPO_ROOT / "schemas" / "german_credit" / "model_card.yaml"
SHA = "ab" * 32
LINEAGE = [
    Evidence("model", 8, "pipeline_root/Trainer/model/8", SHA),
    Evidence("examples", 3, "pipeline_root/Privacy/examples/3", SHA),
    Evidence("explanations", 11, "pipeline_root/Explainer/explanations/11", SHA),
    Evidence("statistics", 4, "pipeline_root/StatisticsGen/statistics/4", SHA),
    Evidence("anomalies", 6, "pipeline_root/ExampleValidator/anomalies/6", SHA),
    Evidence("privacy_report", 3, "pipeline_root/Privacy/privacy_report/3", SHA),
    Evidence("model_card", "file", "schemas/german_credit/model_card.yaml", SHA),
]
EVIDENCE = {
    "performance": LINEAGE[:2], "challenger": LINEAGE[:1], "fairness": LINEAGE[:2], "explanation": [LINEAGE[2]],
    "data": LINEAGE[3:5], "privacy": [LINEAGE[5]], "documentation": [LINEAGE[6]],
}
FEATURES = ["checking_account", "duration", "housing", "age", "sex", "purpose"]


def default_policy():
    return load_policy(DEFAULT_POLICY)


def predictions(n: int = 180, seed: int = 0) -> Predictions:
    """A model with AUC near 0.75 on German-credit-like groups: a third female, four age bands."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.7).astype(int)
    scores = np.clip(0.55 + 0.25 * (labels - 0.5) + rng.normal(0, 0.2, n), 0.01, 0.99)
    groups = {
        "sex": np.where(rng.random(n) < 1 / 3, "female", "male"),
        "age_band": rng.choice(["<25", "25-34", "35-49", "50+"], size=n, p=[0.15, 0.4, 0.3, 0.15]),
    }
    return Predictions(labels=labels, scores=scores, groups=groups)


def explanations(prediction: Predictions, seed: int = 0) -> AuditedExplanations:
    n = len(prediction.labels)
    rng = np.random.default_rng(seed)
    mean_abs = dict(zip(FEATURES, [0.08, 0.05, 0.03, 0.02, 0.01, 0.01]))
    features = {
        "checking_account": rng.choice(["little", "moderate", "rich", "none"], size=n),
        # housing follows age band: a proxy the audit should find
        "housing": np.where(prediction.groups["age_band"] == "50+", "free",
                            np.where(prediction.groups["age_band"] == "<25", "rent", "own")),
        "duration": rng.integers(6, 48, size=n),
        "age": rng.integers(19, 75, size=n),
        "sex": prediction.groups["sex"],
        "purpose": rng.choice(["car", "radio/TV", "education"], size=n),
    }
    quality = {"methods": {"shapley": {
        "completeness": {"median": 1e-7, "p90": 1e-6, "max": 1e-5, "share_above_threshold": 0.0, "examples": n},
        "faithfulness": {"deletion_auc": 0.52, "random_deletion_auc": 0.60, "insertion_auc": 0.66,
                         "random_insertion_auc": 0.61, "better_than_random": True,
                         "deletion_curve": [0.7, 0.5], "random_deletion_curve": [0.7, 0.6]},
    }}, "ground_truth": {"logistic_regression": {
        "model": "logistic_regression", "space": "logit", "train_examples": 700,
        "methods": {"shapley": {"correlation": 0.999, "precision_at_k": 1.0, "k": 3, "examples": n},
                    "integrated_gradients": {"correlation": 0.998, "precision_at_k": 0.95, "k": 3, "examples": n}},
    }, "planted_signal": {"skipped": "the model's feature map records no architecture"}}}
    global_importance = {"shapley": {"overall": {"mean_abs": mean_abs, "mean": dict.fromkeys(FEATURES, 0.0),
                                                 "examples": n}, "slices": {}}}
    return AuditedExplanations(global_importance=global_importance, quality=quality, method="shapley",
                               features=features)


def challenger_data(n_train: int = 700, n_eval: int = 300, seed: int = 0, scores=None) -> ChallengerData:
    """Labels drawn from a logistic model of 3 standard-normal inputs; the 'network' scores are `scores(x)`,
    by default the true probabilities, which a logistic regression can learn exactly."""
    rng = np.random.default_rng(seed)
    weights = np.array([1.5, -1.0, 0.5])
    scores = scores or (lambda x: 1 / (1 + np.exp(-(x @ weights))))
    x = rng.normal(size=(n_train + n_eval, 3))
    labels = (rng.random(len(x)) < 1 / (1 + np.exp(-(x @ weights)))).astype(int)
    network = scores(x)
    return ChallengerData(columns=["a", "b", "c"], train_x=x[:n_train], train_labels=labels[:n_train],
                          train_scores=network[:n_train], eval_x=x[n_train:], eval_labels=labels[n_train:],
                          eval_scores=network[n_train:])


def categorical_feature(name: str, counts: dict[str, float]) -> statistics_pb2.FeatureNameStatistics:
    feature = statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.STRING)
    feature.path.step.append(name)
    feature.string_stats.common_stats.tot_num_values = int(sum(counts.values()))
    for label, count in counts.items():
        feature.string_stats.rank_histogram.buckets.add(label=label, sample_count=count)
    return feature


def numeric_feature(name: str, buckets: list[tuple[float, float, float]], num_nan: int = 0
                    ) -> statistics_pb2.FeatureNameStatistics:
    feature = statistics_pb2.FeatureNameStatistics(type=statistics_pb2.FeatureNameStatistics.FLOAT)
    feature.path.step.append(name)
    histogram = feature.num_stats.histograms.add(type=statistics_pb2.Histogram.STANDARD, num_nan=num_nan)
    for low, high, count in buckets:
        histogram.buckets.add(low_value=low, high_value=high, sample_count=count)
    return feature


def statistics(*features: statistics_pb2.FeatureNameStatistics) -> statistics_pb2.DatasetFeatureStatisticsList:
    statistics_list = statistics_pb2.DatasetFeatureStatisticsList()
    statistics_list.datasets.add(num_examples=100).features.extend(features)
    return statistics_list


def audit_inputs(**overrides) -> AuditInputs:
    prediction = overrides.pop("predictions", None) or predictions()
    train = statistics(categorical_feature("housing", {"own": 500, "rent": 130, "free": 70}),
                       numeric_feature("duration", [(4, 24, 500), (24, 72, 200)]))
    evaluation = statistics(categorical_feature("housing", {"own": 125, "rent": 35, "free": 20}),
                            numeric_feature("duration", [(4, 30, 140), (30, 60, 40)]))
    values = dict(
        predictions=prediction, explanations=explanations(prediction), train_statistics=train,
        eval_statistics=evaluation, anomalies=0,
        privacy_report={"detector_hits_after_total": 0, "anonymity": {"k": 5, "required_k": 5}},
        model_card=yaml.safe_load(MODEL_CARD.read_text()), baseline=None, evidence=EVIDENCE,
    )
    policy = default_policy()
    values["challengers"] = compare(challenger_data(), policy.checks.challenger_margin, policy.bootstrap, 0.5)
    values.update(overrides)
    return AuditInputs(**values)
