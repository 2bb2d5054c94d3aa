"""PNG plots of the explanations: global importance, a beeswarm summary, waterfalls of single
decisions, and deletion/insertion curves."""

from __future__ import annotations

import io
import os
from typing import Dict, List, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from components.files import write_atomically  # noqa: E402

NEGATIVE, POSITIVE = "#c0392b", "#2471a3"


def figure_png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _save(figure, path: str) -> None:
    write_atomically(path, figure_png(figure))


def importance_bars(importances: Dict[str, Dict[str, float]], path: str) -> None:
    """Mean |attribution| per feature, one bar group per method, features by the first method's order."""
    methods = list(importances)
    features = sorted(importances[methods[0]], key=lambda f: importances[methods[0]][f])
    figure, axis = plt.subplots(figsize=(7, 0.45 * len(features) + 1.5))
    height = 0.8 / len(methods)
    for i, method in enumerate(methods):
        values = [importances[method][f] for f in features]
        axis.barh(np.arange(len(features)) + i * height, values, height=height, label=method)
    axis.set_yticks(np.arange(len(features)) + 0.4 - height / 2, features)
    axis.set_xlabel("mean |attribution| (probability)")
    axis.set_title("Global feature importance")
    axis.legend(loc="lower right", fontsize=8)
    _save(figure, path)


def beeswarm(attributions: np.ndarray, names: Sequence[str], color_values: np.ndarray, path: str) -> None:
    """Each dot an example: its attribution for the feature, coloured by the feature's dense value
    (numerics standardised; one-hot categoricals by the category's column index)."""
    order = np.argsort(np.abs(attributions).mean(axis=0))
    figure, axis = plt.subplots(figsize=(7, 0.45 * len(names) + 1.5))
    rng = np.random.default_rng(0)
    for row, j in enumerate(order):
        jitter = rng.uniform(-0.3, 0.3, len(attributions))
        colors = color_values[:, j]
        span = np.ptp(colors) or 1.0
        axis.scatter(attributions[:, j], row + jitter, c=(colors - colors.min()) / span, cmap="coolwarm", s=8,
                     alpha=0.7, linewidths=0)
    axis.axvline(0, color="grey", linewidth=0.8)
    axis.set_yticks(np.arange(len(names)), [names[j] for j in order])
    axis.set_xlabel("attribution (effect on the predicted probability)")
    axis.set_title("Attribution summary (blue: low feature value, red: high)")
    _save(figure, path)


def waterfall(base: float, prediction: float, contributions: Dict[str, float], title: str, path: str) -> None:
    """From the baseline score to this example's score, one feature at a time (largest effects first)."""
    items = sorted(contributions.items(), key=lambda kv: -abs(kv[1]))
    figure, axis = plt.subplots(figsize=(7, 0.45 * len(items) + 1.8))
    position = base
    for row, (_, value) in enumerate(items):
        axis.barh(row, value, left=position, color=POSITIVE if value >= 0 else NEGATIVE)
        axis.text(position + value, row, f" {value:+.3f}", va="center", fontsize=8)
        position += value
    axis.axvline(base, color="grey", linestyle=":", linewidth=1, label=f"baseline {base:.3f}")
    axis.axvline(prediction, color="black", linewidth=1, label=f"score {prediction:.3f}")
    axis.set_yticks(np.arange(len(items)), [name for name, _ in items])
    axis.invert_yaxis()
    axis.set_xlabel("predicted probability")
    axis.set_title(title)
    axis.legend(loc="lower right", fontsize=8)
    _save(figure, path)


def deletion_curves(curves: Dict[str, Dict[str, List[float]]], path: str) -> None:
    """Score as features are removed (left) or inserted (right) by attribution order vs random order."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4))
    for method, c in curves.items():
        axes[0].plot(c["removed"], c["deletion_curve"], marker="o", markersize=3, label=f"{method}")
        axes[1].plot(c["removed"], c["insertion_curve"], marker="o", markersize=3, label=f"{method}")
    first = next(iter(curves.values()))
    axes[0].plot(first["removed"], first["random_deletion_curve"], color="grey", linestyle="--", label="random order")
    axes[1].plot(first["removed"], first["random_insertion_curve"], color="grey", linestyle="--",
                 label="random order")
    for axis, title in zip(axes, ("Deletion (lower is more faithful)", "Insertion (higher is more faithful)")):
        axis.set_xlabel("features removed / inserted")
        axis.set_ylabel("mean predicted probability")
        axis.set_title(title)
        axis.legend(fontsize=8)
    _save(figure, path)


def partial_dependence_plot(name: str, curve: Dict, path: str, max_ice: int = 60) -> None:
    """ICE curves (thin, a deterministic subset of at most `max_ice`) under their mean, the PDP (thick); a rug of
    the observed values for a numeric feature."""
    ice = np.asarray(curve["ice"])
    categorical = curve["kind"] == "categorical"
    x = np.arange(len(curve["grid"])) if categorical else np.asarray(curve["grid"], dtype=float)
    figure, axis = plt.subplots(figsize=(7, 4))
    for row in ice[:: max(1, len(ice) // max_ice)]:
        axis.plot(x, row, color="grey", alpha=0.25, linewidth=0.7, marker="." if categorical else None)
    axis.plot(x, curve["pdp"], color=POSITIVE, linewidth=2.5, marker="o", markersize=4)
    if categorical:
        axis.set_xticks(x, curve["grid"], rotation=30, ha="right", fontsize=8)
    else:
        observed = [float(v) for v in curve["observed"] if v != ""]
        axis.plot(observed, np.full(len(observed), axis.get_ylim()[0]), "|", color="black", alpha=0.4)
    axis.set_xlabel(name)
    axis.set_ylabel("predicted probability")
    # The title says which curve is which: a legend placed at "best" searched every ICE vertex, about 0.15 s a plot.
    axis.set_title(f"Partial dependence (thick) and ICE curves (grey, {len(ice)} examples): {name}")
    _save(figure, path)


def write_all(
    plot_dir: str,
    importances: Dict[str, Dict[str, float]],
    names: Sequence[str],
    primary: np.ndarray,
    dense_colors: np.ndarray,
    waterfalls: List[Dict],
    curves: Dict[str, Dict[str, List[float]]],
    sensitivity: Dict[str, Dict] | None = None,
) -> List[str]:
    os.makedirs(plot_dir, exist_ok=True)
    written = []

    def target(name):
        written.append(name)
        return os.path.join(plot_dir, name)

    importance_bars(importances, target("global_importance.png"))
    beeswarm(primary, names, dense_colors, target("beeswarm.png"))
    for i, example in enumerate(waterfalls):
        waterfall(example["base"], example["prediction"], example["contributions"], example["title"],
                  target(f"waterfall_{i}.png"))
    deletion_curves(curves, target("deletion_insertion.png"))
    for name, curve in (sensitivity or {}).items():
        partial_dependence_plot(name, curve, target(f"pdp_{name}.png"))
    return written
