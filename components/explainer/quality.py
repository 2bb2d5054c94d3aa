"""How good are the explanations? Completeness, faithfulness, stability and agreement between methods.

Plain functions on attributions in raw-feature space [N, M], so the audit can apply the same checks
whichever method produced them.
"""

from dataclasses import dataclass
from typing import Callable, Dict, Mapping, Sequence

import numpy as np
from scipy import stats

from components.explainer.methods.blocks import Blocks
from components.explainer.methods.game import InterventionalGame
from components.explainer.methods.predict import PredictFn


@dataclass(frozen=True)
class CompletenessSummary:
    median: float
    p90: float
    max: float
    share_above: float  # share of examples whose error exceeds `threshold`
    threshold: float


def summarize_completeness(errors: np.ndarray, threshold: float = 0.05) -> CompletenessSummary:
    """Distribution of the absolute completeness errors |sum(phi) - (f(x) - f(baseline))|."""
    errors = np.abs(np.asarray(errors, dtype=np.float64))
    return CompletenessSummary(
        median=float(np.median(errors)),
        p90=float(np.percentile(errors, 90)),
        max=float(errors.max()),
        share_above=float(np.mean(errors > threshold)),
        threshold=threshold,
    )


@dataclass(frozen=True)
class Faithfulness:
    """Mean score after k features are removed (deletion) or inserted (insertion), for k in `removed` (0..M, every
    k unless the curves were taken in steps), and the curves' areas.

    The x-axis is the share k/M of features, so areas lie within the score's range. For the score the
    attributions explain, a faithful order makes deletion fall faster, and insertion rise faster, than a
    random order: deletion_auc below random_deletion_auc, insertion_auc above random_insertion_auc.
    """

    removed: np.ndarray  # [P]: k at each point of the curves, 0 first and M last
    deletion_curve: np.ndarray  # [P]
    insertion_curve: np.ndarray
    random_deletion_curve: np.ndarray
    random_insertion_curve: np.ndarray
    deletion_auc: float
    insertion_auc: float
    random_deletion_auc: float
    random_insertion_auc: float

    def summary(self) -> dict:
        """quality.json's faithfulness section."""
        return {
            "deletion_auc": self.deletion_auc, "random_deletion_auc": self.random_deletion_auc,
            "insertion_auc": self.insertion_auc, "random_insertion_auc": self.random_insertion_auc,
            "removed": self.removed.tolist(),
            "deletion_curve": self.deletion_curve.tolist(),
            "random_deletion_curve": self.random_deletion_curve.tolist(),
            "insertion_curve": self.insertion_curve.tolist(),
            "random_insertion_curve": self.random_insertion_curve.tolist(),
            "better_than_random": bool(self.deletion_auc < self.random_deletion_auc
                                       and self.insertion_auc > self.random_insertion_auc),
        }


def deletion_insertion(
    predict_fn: PredictFn,
    x_dense: np.ndarray,
    attributions: Mapping[str, np.ndarray],
    reference_dense: np.ndarray,
    blocks: Blocks,
    *,
    random_orders: int = 5,
    seed: int = 0,
    batch_rows: int = 1 << 17,
    steps: int | None = None,
) -> Dict[str, Faithfulness]:
    """Per method, deletion and insertion curves of the examples, features ordered by the method's attributions
    [N, M] (most positive first), against `random_orders` random orders. The random orders do not depend on the
    attributions, so every method is compared with the same random curves, taken once: with K methods the model is
    called for K + R orders, not K (1 + R).

    A removed feature takes its block from `reference_dense`: one baseline row [D], or background rows
    [B, D] whose predictions are averaged (the same interventional removal as Shapley's). With `steps` below M
    the curves are taken at `steps` + 1 evenly spaced counts of removed features, 0 and M included (about M/steps
    features per step, as pixel flipping removes regions of large images), which costs steps/M of every count.
    """
    if not attributions:
        return {}
    x = np.asarray(x_dense, dtype=np.float32)
    n, players = len(x), len(blocks)
    for method, values in attributions.items():
        if np.shape(values) != (n, players):
            raise ValueError(f"{method}: attributions of shape {np.shape(values)}, not one row per example and one "
                             f"column per feature ({n}, {players})")
    game = InterventionalGame(predict_fn, reference_dense, blocks, batch_rows=batch_rows)
    # Most positive first: deleting the features that raised the score should lower it fastest, and
    # inserting them first should raise it fastest. (|attribution| order mixes in features that lowered
    # the score, whose removal raises it, so it need not beat a random order even for exact attributions.)
    by_attribution = [np.argsort(-np.asarray(values), axis=1, kind="stable") for values in attributions.values()]
    random = np.argsort(np.random.default_rng(seed).random((n, random_orders, players)), axis=2)
    orders = np.concatenate([np.stack(by_attribution, axis=1).reshape(n, -1, players), random], axis=1)  # [N, K+R, M]
    positions = np.argsort(orders, axis=2)[:, :, np.newaxis, :]  # when each feature is removed / inserted
    removed = removal_counts(players, steps)
    k = removed[:, np.newaxis]
    kept_after_deletion = positions >= k  # [N, K + R, P, M]
    inserted = positions < k
    coalitions = np.stack([kept_after_deletion, inserted], axis=2).reshape(n, -1, players)
    curves = game.values(x, coalitions).reshape(n, len(orders[0]), 2, len(removed)).mean(axis=0)
    random_curves = curves[len(attributions):].mean(axis=0)
    share = removed / players
    return {
        method: Faithfulness(
            removed=removed,
            deletion_curve=curves[i, 0],
            insertion_curve=curves[i, 1],
            random_deletion_curve=random_curves[0],
            random_insertion_curve=random_curves[1],
            deletion_auc=_area(curves[i, 0], share),
            insertion_auc=_area(curves[i, 1], share),
            random_deletion_auc=_area(random_curves[0], share),
            random_insertion_auc=_area(random_curves[1], share),
        )
        for i, method in enumerate(attributions)
    }


def removal_counts(players: int, steps: int | None) -> np.ndarray:
    """The counts of removed features where the curves are taken: every count 0..M, or `steps` + 1 of them evenly
    spaced (rounded to whole features) when `steps` is below M."""
    if steps is None or steps >= players:
        return np.arange(players + 1)
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    return np.unique(np.rint(np.linspace(0, players, steps + 1)).astype(int))


def _area(curve: np.ndarray, share: np.ndarray) -> float:
    """Trapezoid area over the share k/M of features removed, in [0, 1]."""
    return float(((curve[:-1] + curve[1:]) * np.diff(share)).sum() / 2)


def max_sensitivity(
    explain_fn: Callable[[np.ndarray], np.ndarray],
    x_dense: np.ndarray,
    numeric_columns: Sequence[int],
    *,
    noise_scale: float = 0.05,
    samples: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """[N] max over Gaussian perturbations x' of ||phi(x') - phi(x)|| / ||phi(x)||.

    Only numeric columns are perturbed (noise in their standardized units): a perturbed one-hot block
    would not encode any category. `explain_fn` maps dense rows [rows, D] to attributions [rows, M] and
    is called twice, once on x and once on all perturbations together. Where phi(x) is zero the ratio is
    inf (or nan when phi(x') is zero too).
    """
    x = np.asarray(x_dense, dtype=np.float32)
    attributions = np.asarray(explain_fn(x), dtype=np.float64)
    perturbed = np.repeat(x[np.newaxis], samples, axis=0)
    noise = np.random.default_rng(seed).normal(0.0, noise_scale, (samples, len(x), len(numeric_columns)))
    perturbed[:, :, numeric_columns] += noise.astype(np.float32)
    moved = np.asarray(explain_fn(perturbed.reshape(-1, x.shape[1])), dtype=np.float64)
    moved = moved.reshape(samples, *attributions.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.linalg.norm(moved - attributions, axis=2) / np.linalg.norm(attributions, axis=1)
    return ratios.max(axis=0)


def global_importance(attributions: np.ndarray) -> np.ndarray:
    """[M] mean |phi| per feature."""
    return np.abs(np.asarray(attributions, dtype=np.float64)).mean(axis=0)


def rank_agreement(importance_a: np.ndarray, importance_b: np.ndarray) -> float:
    """Spearman rank correlation of two global importance vectors: do they rank the features alike?"""
    return float(stats.spearmanr(importance_a, importance_b).statistic)


def importance_rank_agreement(attributions_a: np.ndarray, attributions_b: np.ndarray) -> float:
    """Spearman rank correlation of two methods' global importances (mean |phi| per feature)."""
    return rank_agreement(global_importance(attributions_a), global_importance(attributions_b))


def top_k_sets(attributions: np.ndarray, k: int) -> np.ndarray:
    """[..., M] boolean: each row's k features of largest |attribution| (ties by feature order)."""
    order = np.argsort(-np.abs(attributions), axis=-1, kind="stable")
    chosen = np.zeros(attributions.shape, dtype=bool)
    np.put_along_axis(chosen, order[..., :k], True, axis=-1)
    return chosen


def compare_with_reference(attributions: np.ndarray, reference: np.ndarray, k: int) -> dict:
    """How well per-example attributions [N, M] match reference ones (exact Shapley values, a known truth):
    Pearson correlation over all (example, feature) pairs, its mean per example, and precision@k (the share of the
    reference's k largest |values| among the attributions' k largest, per example, averaged)."""
    a, r = np.asarray(attributions, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    k = min(k, a.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        a_c, r_c = a - a.mean(axis=1, keepdims=True), r - r.mean(axis=1, keepdims=True)
        per_example = (a_c * r_c).sum(axis=1) / np.sqrt((a_c**2).sum(axis=1) * (r_c**2).sum(axis=1))
    finite = per_example[np.isfinite(per_example)]
    pooled = np.corrcoef(a.ravel(), r.ravel())[0, 1] if a.std() > 0 and r.std() > 0 else np.nan
    return {
        "examples": int(len(a)),
        "correlation": float(pooled) if np.isfinite(pooled) else None,
        "mean_example_correlation": float(finite.mean()) if finite.size else None,
        "k": int(k),
        "precision_at_k": float((top_k_sets(a, k) & top_k_sets(r, k)).sum(axis=1).mean() / k),
        "mean_abs_difference": float(np.abs(a - r).mean()),
    }


def repeated_seed_stability(attributions: np.ndarray, standard_errors: np.ndarray, k: int) -> dict:
    """Stability of a sampled method over R runs with different seeds, attributions and their standard errors
    [R, N, M]: the spread (standard deviation over runs) of each attribution, and Visani et al.'s (2020) indices,
    each in [0, 100] and averaged over the examples: the variables stability index (VSI), the mean share of the k
    top features two runs have in common, and the coefficients stability index (CSI), the mean share of run pairs
    whose 95% intervals (coefficient +- 1.96 standard errors) of a feature overlap."""
    a, se = np.asarray(attributions, dtype=np.float64), np.asarray(standard_errors, dtype=np.float64)
    runs, _, players = a.shape
    k = min(k, players)
    pairs = [(i, j) for i in range(runs) for j in range(i + 1, runs)]
    top = top_k_sets(a, k)
    vsi = np.mean([(top[i] & top[j]).sum(axis=1) / k for i, j in pairs], axis=0) * 100
    low, high = a - 1.96 * se, a + 1.96 * se
    csi = np.mean([(low[i] < high[j]) & (low[j] < high[i]) for i, j in pairs], axis=0).mean(axis=1) * 100
    spread = a.std(axis=0, ddof=1)  # [N, M]
    scale = np.abs(a).mean()
    return {
        "runs": int(runs), "examples": int(a.shape[1]), "k": int(k),
        "vsi": float(vsi.mean()), "vsi_min": float(vsi.min()),
        "csi": float(csi.mean()), "csi_min": float(csi.min()),
        "spread_median": float(np.median(spread)), "spread_max": float(spread.max()),
        "relative_spread": float(spread.mean() / scale) if scale > 0 else None,
    }
