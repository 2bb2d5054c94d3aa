"""After the Beam pass: global importances, the quality of the explanations, and headline figures."""

from __future__ import annotations

import json
from typing import Dict, List, Sequence

import numpy as np
import tensorflow as tf

from components.explainer import quality
from components.explainer.config import ExplainerConfig
from components.explainer.explain import (
    Attributions,
    Background,
    attribute,
    explain_lime,
    lime_attributions,
)
from components.explainer.methods import LimeExplanations, exact_shapley, permutation_importance
from components.explainer.model import ExplainedModel

# The share of examples whose completeness error exceeds this is reported (the bound Vertex AI used).
COMPLETENESS_THRESHOLD = 0.05


def global_importances(aggregate_lines: Sequence[str]) -> Dict:
    """{method: {'overall': {...}, 'slices': {feature: {value: {...}}}}} from the Beam aggregates."""
    result: Dict = {}
    for line in aggregate_lines:
        entry = json.loads(line)
        method = result.setdefault(entry.pop("method"), {"overall": None, "slices": {}})
        name, value = entry.pop("slice"), entry.pop("value")
        if name == "overall":
            method["overall"] = entry
        else:
            method["slices"].setdefault(name, {})[value] = entry
    for method in result.values():
        method["slices"] = {k: dict(sorted(v.items())) for k, v in sorted(method["slices"].items())}
    return dict(sorted(result.items()))


def top_features(importances: Dict, method: str, k: int = 5) -> List[str]:
    mean_abs = importances[method]["overall"]["mean_abs"]
    return sorted(mean_abs, key=lambda name: -mean_abs[name])[:k]


def labels_of(records: Sequence[bytes], label: str) -> np.ndarray:
    labels = []
    for record in records:
        feature = tf.train.Example.FromString(record).features.feature[label]
        kind = feature.WhichOneof("kind")
        labels.append(float(getattr(feature, kind).value[0]) if kind else np.nan)
    return np.array(labels)


def measure_quality(
    model: ExplainedModel,
    records: Sequence[bytes],
    background: Background,
    config: ExplainerConfig,
    completeness_errors: Dict[str, np.ndarray],
    stability_examples: int = 25,
) -> tuple[Dict, Dict[str, Attributions]]:
    """quality.json's content, and the sample's attributions per method (for the plots)."""
    dense = model.dense(records)
    lime_run = explain_lime(model, dense, background, config, records) if "lime" in config.methods else None
    sample = {m: lime_attributions(lime_run) if m == "lime" else attribute(m, model, dense, background, config, records)
              for m in config.per_example_methods}
    report: Dict = {"examples": len(records), "completeness_threshold": COMPLETENESS_THRESHOLD, "methods": {}}
    few = dense[:stability_examples]
    faithfulness = quality.deletion_insertion(model.predict_fn, dense, {m: r.values for m, r in sample.items()},
                                              background.dense, model.blocks, seed=config.seed)
    for method in sample:
        summary = quality.summarize_completeness(completeness_errors[method], COMPLETENESS_THRESHOLD)
        sensitivity = quality.max_sensitivity(
            lambda rows, m=method: attribute(m, model, rows, background, config).values,
            few, model.numeric_columns, seed=config.seed,
        )
        finite = sensitivity[np.isfinite(sensitivity)]
        report["methods"][method] = {
            "completeness": {
                "examples": int(len(completeness_errors[method])),
                "median": summary.median, "p90": summary.p90, "max": summary.max,
                "share_above_threshold": summary.share_above,
            },
            "faithfulness": faithfulness[method].summary(),
            "stability": {
                "examples": int(len(few)),
                "noise_scale": 0.05,
                "max_sensitivity_median": float(np.median(finite)) if finite.size else None,
                "max_sensitivity_max": float(finite.max()) if finite.size else None,
            },
        }
    if lime_run is not None:
        _add_lime_quality(report["methods"]["lime"], model, dense, list(records), background, config, lime_run,
                          _exact_shapley_values(model, dense, background, config, sample), stability_examples)
    importances = {m: quality.global_importance(r.values) for m, r in sample.items()}
    if "permutation_importance" in config.methods:
        labels = model.labels(records)
        if len(set(labels)) == 2:
            pi = permutation_importance(model.predict_fn, dense, labels, model.blocks,
                                        repeats=config.permutation_repeats, seed=config.seed)
            report["permutation_importance"] = {
                "examples": len(labels), "auc": pi.auc, "log_loss": pi.log_loss,
                "features": {
                    name: {"auc_drop": float(pi.auc_drop.mean[j]), "auc_drop_ci": [float(pi.auc_drop.low[j]),
                                                                                   float(pi.auc_drop.high[j])],
                           "log_loss_increase": float(pi.log_loss_increase.mean[j])}
                    for j, name in enumerate(model.feature_names)
                },
            }
            importances["permutation_importance"] = np.maximum(pi.auc_drop.mean, 0.0)
        else:
            report["permutation_importance"] = {"skipped": "the quality sample does not hold both label classes"}
    report["agreement"] = _agreement(importances)
    return report, sample


def _agreement(importances: Dict[str, np.ndarray]) -> List[Dict]:
    """Rank agreement of global importances for each pair of methods (permutation importance included)."""
    names = sorted(importances)
    return [
        {"methods": [a, b], "spearman": quality.rank_agreement(importances[a], importances[b])}
        for i, a in enumerate(names)
        for b in names[i + 1:]
    ]


def _exact_shapley_values(model: ExplainedModel, dense: np.ndarray, background: Background, config: ExplainerConfig,
                          sample: Dict[str, Attributions]) -> np.ndarray | None:
    """Exact Shapley values of the sample (the Shapley run's, when it enumerated), or None above the feature limit."""
    if len(model.blocks) > config.max_exact_features:
        return None
    if "shapley" in sample:
        return sample["shapley"].values
    return exact_shapley(model.predict_fn, dense, background.dense, model.blocks,
                         max_features=config.max_exact_features).attributions


def _add_lime_quality(entry: Dict, model: ExplainedModel, dense: np.ndarray, records: List[bytes],
                      background: Background, config: ExplainerConfig, run: LimeExplanations,
                      exact: np.ndarray | None, stability_examples: int) -> None:
    """LIME's own measures in its quality.json entry: the surrogate's fidelity (weighted R^2) on the sample, its
    stability over runs with other seeds on the first `stability_examples`, and its agreement with exact Shapley."""
    entry["fidelity"] = {"examples": int(len(run.fidelity)), "median": float(np.median(run.fidelity)),
                         "p10": float(np.percentile(run.fidelity, 10)), "min": float(run.fidelity.min())}
    few = slice(0, stability_examples)
    reruns = [explain_lime(model, dense[few], background, config, records[few], seed=config.seed + r)
              for r in range(1, config.lime_stability_repeats)]
    entry["stability"]["repeated_seeds"] = quality.repeated_seed_stability(
        np.stack([run.attributions[few]] + [r.attributions for r in reruns]),
        np.stack([run.standard_errors[few]] + [r.standard_errors for r in reruns]), config.lime_stability_top_k)
    entry["agreement_with_exact_shapley"] = (
        quality.compare_with_reference(run.attributions, exact, config.top_k_reasons) if exact is not None
        else {"skipped": f"more than {config.max_exact_features} features: no exact Shapley values"})
