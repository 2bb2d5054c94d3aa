"""Ground truth for the explanations: models whose attributions are known, explained by every per-example method
with the run's own settings, and each method's attributions compared with the truth (correlation, precision@k).

The challenger: the audit's logistic regression (components/interpretable.py), fitted on the network's dense inputs
of train examples. Its logit w . x + c is linear in the dense columns, so its interventional Shapley values against
the background are exact in closed form: for raw feature j, the sum over j's columns of w_c (x_c - background mean_c).

The planted signal: rows drawn from the run's own data, each raw feature from another train example (categoricals
stay categories, numerics keep their distribution, and the features are independent), labelled from a known
additive logit over a few chosen features, and a network of the Trainer's architecture trained on them. Its
attributions (of its logit) are compared with the planted effects g_j(x_j) - mean over the background of g_j, the
Shapley values of the planted logit; the network only learns that logit from noisy labels, so this measures the
methods and the learning together, as a user's model would be.
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
    labels = model.labels(train_records)
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


def draw_rows(source: np.ndarray, blocks, count: int, rng: np.random.Generator) -> np.ndarray:
    """[count, D] rows whose every raw feature (column block) comes from an independently drawn row of `source`."""
    rows = np.empty((count, source.shape[1]), dtype=np.float32)
    for start, end in blocks:
        rows[:, start:end] = source[rng.integers(0, len(source), count), start:end]
    return rows


def planted_effects(features: Sequence[Dict], blocks, count: int, rng: np.random.Generator) -> Dict[int, np.ndarray]:
    """For `count` chosen raw features, the weights of their additive effect on the logit, per dense column of the
    block: a numeric's effect is a slope on its z-score, a categorical's one effect per category. Strengths 2.0 down
    to 1.0 with alternating signs, so the features are told apart by size as well as presence."""
    chosen = rng.choice(len(blocks), size=min(count, len(blocks)), replace=False)
    strengths = np.linspace(2.0, 1.0, len(chosen)) * np.where(np.arange(len(chosen)) % 2, -1.0, 1.0)
    effects = {}
    for j, strength in zip(chosen, strengths):
        start, end = blocks[j]
        weights = np.array([1.0]) if features[j]["kind"] == "numeric" else rng.normal(size=end - start)
        effects[int(j)] = strength * weights / max(np.std(weights), 1e-9) if end - start > 1 else strength * weights
    return effects


def _additive_effects(rows: np.ndarray, blocks, effects: Dict[int, np.ndarray]) -> np.ndarray:
    """[N, M] each raw feature's planted effect g_j(x_j) (0 for the others)."""
    values = np.zeros((len(rows), len(blocks)))
    for j, weights in effects.items():
        start, end = blocks[j]
        values[:, j] = rows[:, start:end].astype(np.float64) @ weights
    return values


def train_like(architecture: Dict, rows: np.ndarray, labels: np.ndarray, seed: int, epochs: int):
    """A network of `architecture` (hidden units, activation) with a logit output, trained on (rows, labels)."""
    import tf_keras as keras

    from components.tracing import without_autograph

    keras.utils.set_random_seed(seed)
    network = without_autograph(keras.Sequential(
        [keras.Input((rows.shape[1],))]
        + [keras.layers.Dense(units, activation=architecture.get("activation", "relu"))
           for units in architecture["hidden_units"]]
        + [keras.layers.Dense(1)]))
    network.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    network.fit(rows, labels.astype(np.float32), epochs=epochs, batch_size=128, verbose=0)
    # Called inside the methods' own tf.functions: with AutoGraph it would rewrite tf_keras's call path there too.
    return tf.function(lambda dense: network(dense, training=False), autograph=False)


def planted_ground_truth(model: ExplainedModel, train_dense: np.ndarray, config: ExplainerConfig) -> Dict:
    """quality.json's ground_truth.planted_signal: each method's correlation and precision@k against the planted
    effects, on `config.quality_examples` fresh rows, explained against `config.background_size` others."""
    if model.architecture is None:
        return {"skipped": "the model's feature map records no architecture (an interpretable model, or one trained "
                           "before the Trainer recorded it)"}
    rng = np.random.default_rng(config.seed)
    effects = planted_effects(model.features, model.blocks, config.planted_features, rng)
    rows = draw_rows(train_dense, model.blocks, config.planted_examples, rng)
    logit = _additive_effects(rows, model.blocks, effects).sum(axis=1)
    logit -= logit.mean()  # both labels about equally often; a constant moves no attribution
    labels = rng.random(len(rows)) < 1 / (1 + np.exp(-logit))
    scorer = DenseModel(train_like(model.architecture, rows, labels, config.seed, config.planted_epochs), model.blocks)
    background_rows = draw_rows(train_dense, model.blocks, config.background_size, rng)
    explained = draw_rows(train_dense, model.blocks, config.quality_examples, rng)
    background = Background(background_rows, background_rows.mean(axis=0))
    truth = (_additive_effects(explained, model.blocks, effects)
             - _additive_effects(background_rows, model.blocks, effects).mean(axis=0))
    return {
        "model": "planted_signal", "space": "logit", "train_examples": int(len(rows)),
        "architecture": model.architecture, "label_share": float(labels.mean()),
        "planted": {model.feature_names[j]: [float(w) for w in weights] for j, weights in effects.items()},
        "methods": {m: compare_with_reference(attribute(m, scorer, explained, background, config).values, truth,
                                              len(effects))
                    for m in config.per_example_methods},
    }
