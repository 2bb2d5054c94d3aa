"""Explaining a batch of serialized examples: attributions per raw feature, per method, with
their error estimates and, for low scores, reason codes. Plain functions: Beam calls them per
batch, tests and the quality step call them directly."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence

import numpy as np

from components.explainer.config import ExplainerConfig
from components.explainer.methods import (
    LimeExplanations,
    attribute_integrated_gradients,
    exact_shapley,
    lime,
    sampled_shapley,
    sum_blocks,
)
from components.explainer.model import ExplainedModel, raw_values

SLICE_PREFIX = "slice."
# The background rows the Shapley values were computed against, as serialized examples in one uncompressed TFRecord
# file of the Explanations artifact: whoever explains the same model later (the decision service, what-if) reads
# them back instead of drawing them again, so its attributions are the Explainer's own.
BACKGROUND_FILE = "background.tfrecord"
# Every example of the explained split with the model's score, explained or not (`max_examples` caps only the
# explained ones): Parquet files of one row per example, which the audit judges performance and fairness on.
PREDICTIONS_DIR = "predictions"


@dataclass(frozen=True)
class Background:
    dense: np.ndarray  # [B, D] background rows
    baseline: np.ndarray  # [D] mean or median of the background

    @classmethod
    def from_examples(cls, model: ExplainedModel, serialized: Sequence[bytes], config: ExplainerConfig):
        if not serialized:
            raise ValueError(f"The background split '{config.background_split}' has no examples.")
        # Sorted by content digest, so the background does not depend on the order Beam delivers it in.
        dense = model.dense(sorted(serialized, key=example_digest))
        baseline = np.median(dense, axis=0) if config.baseline == "median" else dense.mean(axis=0)
        return cls(dense=dense, baseline=baseline.astype(np.float32))


def read_background_records(explanations_dir: str) -> List[bytes]:
    """The background rows an Explainer run wrote (`BACKGROUND_FILE`), in the order it wrote them."""
    import tensorflow as tf

    path = os.path.join(explanations_dir, BACKGROUND_FILE)
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"The explanations at {explanations_dir} hold no {BACKGROUND_FILE}: they were made "
                                "before the Explainer kept its background rows; run the pipeline again.")
    return [record.numpy() for record in tf.data.TFRecordDataset(path)]


@dataclass(frozen=True)
class DenseModel:
    """What the per-example methods read of a model: its score of dense rows and the raw features' column blocks.
    An ExplainedModel has both; so has any model on the same dense rows (the ground truth's challenger)."""

    predict_fn: Callable
    blocks: Sequence[tuple]


@dataclass(frozen=True)
class Attributions:
    method: str
    values: np.ndarray  # [N, M] per raw feature
    prediction: np.ndarray  # [N]
    baseline_prediction: np.ndarray  # [N]
    completeness_error: np.ndarray  # [N] |baseline + sum - prediction|
    standard_error: np.ndarray  # [N] largest standard error of the example's attributions (0 when exact)


def example_digest(record: bytes) -> str:
    return hashlib.sha256(record).hexdigest()


def _example_seed(seed: int, record: bytes) -> int:
    return int.from_bytes(hashlib.sha256(seed.to_bytes(8, "little", signed=True) + record).digest()[:8], "little")


def example_seeds(seed: int, dense: np.ndarray, records: Sequence[bytes] | None) -> List[int]:
    """One seed per example, from its content (the serialized example, else its dense row): sampled results do not
    depend on how examples are batched or ordered, nor on the runner."""
    records = records if records is not None else [row.tobytes() for row in dense]
    return [_example_seed(seed, r) for r in records]


def explain_lime(model: ExplainedModel | DenseModel, dense: np.ndarray, background: Background, config: ExplainerConfig,
                 records: Sequence[bytes] | None = None, seed: int | None = None) -> LimeExplanations:
    """LIME with the config's settings; `seed` replaces the config's (the stability measure reruns with others)."""
    return lime(model.predict_fn, dense, background.dense, model.blocks, samples=config.lime_samples,
                kernel_width=config.lime_kernel_width, ridge_alpha=config.lime_ridge_alpha,
                seed=example_seeds(config.seed if seed is None else seed, dense, records))


def lime_attributions(result: LimeExplanations) -> Attributions:
    """LIME's coefficients as attributions; its completeness error is the surrogate's miss of f(x) - v(empty)."""
    completeness = np.abs(result.base_value + result.attributions.sum(axis=1) - result.prediction)
    return Attributions("lime", result.attributions, result.prediction, result.base_value, completeness,
                        result.standard_errors.max(axis=1))


def attribute(
    method: str,
    model: ExplainedModel | DenseModel,
    dense: np.ndarray,
    background: Background,
    config: ExplainerConfig,
    records: Sequence[bytes] | None = None,
) -> Attributions:
    """Attributions of dense rows by one per-example method, in raw-feature space."""
    if method == "integrated_gradients":
        if config.baseline == "expected_gradients":
            rng = np.random.default_rng(config.seed)
            picks = rng.integers(0, len(background.dense), (len(dense), config.expected_gradients_samples))
            baselines = background.dense[picks]
        else:
            baselines = background.baseline
        ig = attribute_integrated_gradients(
            model.predict_fn, dense, baselines, steps=config.ig_steps, rule=config.ig_rule,
            tolerance=config.ig_tolerance, max_steps=config.ig_max_steps,
        )
        return Attributions(method, sum_blocks(ig.attributions, model.blocks), ig.prediction,
                            ig.baseline_prediction, ig.completeness_error, np.zeros(len(dense)))
    if method == "lime":
        return lime_attributions(explain_lime(model, dense, background, config, records))
    if method != "shapley":
        raise ValueError(f"'{method}' is not a per-example method")
    if len(model.blocks) <= config.max_exact_features:
        sv = exact_shapley(model.predict_fn, dense, background.dense, model.blocks,
                           max_features=config.max_exact_features)
        values, base_value, prediction = sv.attributions, sv.base_value, sv.prediction
        standard_error = np.zeros(len(dense))
    else:
        sv = sampled_shapley(model.predict_fn, dense, background.dense, model.blocks,
                             max_permutations=config.shapley_max_permutations,
                             target_standard_error=config.shapley_target_standard_error,
                             seed=example_seeds(config.seed, dense, records))
        values, base_value, prediction = sv.attributions, sv.base_value, sv.prediction
        standard_error = sv.standard_errors.max(axis=1)
    completeness = np.abs(base_value + values.sum(axis=1) - prediction)
    return Attributions(method, values, prediction, base_value, completeness, standard_error)


def reason_codes(
    names: Sequence[str], values: Dict[str, List[str]], attributions: np.ndarray, row: int, top_k: int
) -> List[str]:
    """The features that lowered this example's score most, in plain words."""
    order = np.argsort(attributions[row], kind="stable")[:top_k]
    return [
        f"{names[j]} = {values[names[j]][row]} lowered the score by {-attributions[row, j]:.2f}"
        for j in order
        if attributions[row, j] < 0
    ]


def points_reason_codes(names: Sequence[str], values: Dict[str, List[str]], lost: np.ndarray, row: int, top_k: int
                        ) -> List[str]:
    """A scorecard's reasons: the features that scored most points below their best bin, in plain words."""
    order = np.argsort(-lost[row], kind="stable")[:top_k]
    return [f"{names[j]} = {values[names[j]][row]} scored {lost[row, j]:.0f} points below its best bin"
            for j in order if lost[row, j] > 0]


def decline_reasons(model: ExplainedModel, dense: np.ndarray, values: Dict[str, List[str]],
                    attributions: np.ndarray, rows: Sequence[int], top_k: int) -> Dict[int, List[str]]:
    """The reason codes of the given rows: for a scorecard the points lost against each feature's best bin (the
    industry's method), for any other model the features whose attributions lowered the score most."""
    if model.scorecard is None:
        return {int(i): reason_codes(model.feature_names, values, attributions, int(i), top_k) for i in rows}
    rows = [int(i) for i in rows]
    lost = np.zeros((len(dense), len(model.feature_names)))
    if rows:
        lost[rows] = model.points_lost(dense[rows])
    return {i: points_reason_codes(model.feature_names, values, lost, i, top_k) for i in rows}


def checks_scorecard_reasons(model: ExplainedModel, config: ExplainerConfig) -> bool:
    """Whether the Explainer checks a scorecard's reasons against exact Shapley values: only where enumerating the
    coalitions of its features is within `max_exact_features`."""
    return model.scorecard is not None and len(model.blocks) <= config.max_exact_features


def reasons_agree_with_shapley(model: ExplainedModel, dense: np.ndarray, tolerance: float = 1e-6) -> np.ndarray:
    """[N] whether a scorecard's points lost order its features as their exact Shapley values do, against the single
    reference row in every feature's best bin (the table's `reference_dense`).

    Why they must: the model is f(x) = g(sum of points_i(x_i)) with g increasing. Against a single reference z, the
    coalition values are v(S) = g(c + sum over S of a_i) with a_i = points_i(x) - points_i(z) = -lost_i, and
    phi_i - phi_j is a positively weighted sum over coalitions S without i and j of v(S + i) - v(S + j), each of
    which has the sign of a_i - a_j. So lost_i > lost_j implies phi_i <= phi_j (strictly, where g is strictly
    increasing), equal losses give equal values, and a feature in its best bin gets 0. In logit space the values are
    exactly -lost_i / factor. Checked here: every pair ordered by points lost is ordered the same way by Shapley
    (ties within `tolerance` of the score).
    """
    if len(dense) == 0:
        return np.zeros(0, dtype=bool)
    lost = model.points_lost(dense)
    reference = np.asarray(model.scorecard["reference_dense"], dtype=np.float32)[np.newaxis]
    shapley = exact_shapley(model.predict_fn, dense, reference, model.blocks, max_features=len(model.blocks)
                            ).attributions
    more_lost = lost[:, :, np.newaxis] > lost[:, np.newaxis, :]  # [N, i, j]: i lost more than j
    lower = shapley[:, :, np.newaxis] < shapley[:, np.newaxis, :] + tolerance
    equal_lost = lost[:, :, np.newaxis] == lost[:, np.newaxis, :]
    equal = np.abs(shapley[:, :, np.newaxis] - shapley[:, np.newaxis, :]) <= tolerance
    return np.all(np.where(more_lost, lower, True) & np.where(equal_lost, equal, True), axis=(1, 2))


def _example_fields(model: ExplainedModel, records: List[bytes], config: ExplainerConfig, names: List[str]
                    ) -> tuple[Dict[str, List[str]], List[Dict]]:
    """(the raw values of `names` and of the slice and key features, each example's own output fields: its key,
    split, label, example id and slice values)."""
    raw_names = names + [s for s in config.slice_features if s in model.feature_names]
    if config.key_feature:
        raw_names.append(config.key_feature)
    values = raw_values(records, list(dict.fromkeys(raw_names)))
    slices = {name: values[name] for name in config.slice_features if name in values}
    slices.update({k: list(v) for k, v in model.slice_keys(records).items() if k in config.slice_features})
    labels = model.labels(records)
    fields = []
    for i, record in enumerate(records):
        entry = {"key": example_digest(record)[:16], "split": config.split, "label": float(labels[i])}
        if config.key_feature:
            entry["example_id"] = values[config.key_feature][i]
        entry.update({f"{SLICE_PREFIX}{name}": str(v[i]) for name, v in slices.items()})
        fields.append(entry)
    return values, fields


def prediction_rows(model: ExplainedModel, records: Sequence[bytes], config: ExplainerConfig) -> List[Dict]:
    """One row per example, explained or not: its fields and the model's score (PREDICTIONS_DIR)."""
    records = list(records)
    _, fields = _example_fields(model, records, config, [])
    scores = model.predict(model.dense(records))
    return [{**entry, "prediction": float(score)} for entry, score in zip(fields, scores)]


def explain_records(
    model: ExplainedModel, records: Sequence[bytes], background: Background, config: ExplainerConfig
) -> List[Dict]:
    """One output row per (example, per-example method): what the Parquet output holds."""
    records = list(records)
    dense = model.dense(records)
    values, fields = _example_fields(model, records, config, model.feature_names)

    rows = []
    for method in config.per_example_methods:
        result = attribute(method, model, dense, background, config, records)
        declined = np.flatnonzero(result.prediction < config.decision_threshold)
        reasons = decline_reasons(model, dense, values, result.values, declined, config.top_k_reasons)
        agree = (dict(zip(declined.tolist(), reasons_agree_with_shapley(model, dense[declined]).tolist()))
                 if checks_scorecard_reasons(model, config) and method == config.primary_method else {})
        for i in range(len(records)):
            row = {
                **fields[i],
                "method": method,
                "prediction": float(result.prediction[i]),
                "baseline_prediction": float(result.baseline_prediction[i]),
                "completeness_error": float(result.completeness_error[i]),
                "standard_error": float(result.standard_error[i]),
                "reasons": reasons.get(i, []),
            }
            if i in agree:
                row["reasons_agree_with_shapley"] = agree[i]
            row.update({name: float(result.values[i, j]) for j, name in enumerate(model.feature_names)})
            rows.append(row)
    return rows
