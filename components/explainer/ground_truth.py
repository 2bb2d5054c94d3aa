"""Ground truth for the explanations: a model whose exact attributions are known in closed form, explained by every
per-example method on the quality sample, and each method's attributions compared with the truth.

The model is the audit's logistic regression challenger (components/interpretable.py), fitted on the network's dense
inputs of train examples. Its logit w . x + c is linear in the dense columns, so its interventional Shapley values
against the background are exact in closed form: for raw feature j, the sum over j's columns of
w_c (x_c - background mean_c). Every method explains that logit with the run's own settings and background.
"""

from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
import tensorflow as tf

from components.explainer.config import ExplainerConfig
from components.explainer.explain import Background, DenseModel, attribute
from components.explainer.methods import sum_blocks
from components.explainer.model import ExplainedModel
from components.explainer.quality import compare_with_reference
from components.interpretable import logistic_regression


def linear_shapley(weights: np.ndarray, dense: np.ndarray, background: np.ndarray, blocks) -> np.ndarray:
    """[N, M] exact interventional Shapley values of x -> w . x + c against the background rows."""
    return sum_blocks(np.asarray(weights) * (np.asarray(dense, np.float64) - np.mean(background, axis=0)), blocks)


def linear_logit_model(weights: np.ndarray, intercept: float, blocks) -> DenseModel:
    w = tf.constant(np.asarray(weights, dtype=np.float32))
    return DenseModel(lambda dense: tf.linalg.matvec(dense, w) + float(intercept), blocks)


def challenger_ground_truth(model: ExplainedModel, train_records: Sequence[bytes], dense: np.ndarray,
                            records: Sequence[bytes], background: Background, config: ExplainerConfig) -> Dict:
    """quality.json's ground_truth.logistic_regression: each method's correlation and precision@k against the
    challenger's exact Shapley values (logit space) on the quality sample."""
    labels = model.labels(train_records) if train_records else np.array([])
    known = ~np.isnan(labels)
    if len(set(labels[known])) < 2:
        return {"skipped": "the train examples do not hold both label classes"}
    challenger = logistic_regression().fit(model.dense([r for r, k in zip(train_records, known) if k]),
                                           labels[known].astype(int))
    weights, intercept = challenger.coef_[0], float(challenger.intercept_[0])
    truth = linear_shapley(weights, dense, background.dense, model.blocks)
    scorer = linear_logit_model(weights, intercept, model.blocks)
    return {
        "model": "logistic_regression", "space": "logit", "train_examples": int(known.sum()),
        "truth": "exact interventional Shapley values against the background (closed form)",
        "methods": {m: compare_with_reference(attribute(m, scorer, dense, background, config, records).values, truth,
                                              config.top_k_reasons)
                    for m in config.per_example_methods},
    }
