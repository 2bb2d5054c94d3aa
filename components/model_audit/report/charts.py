"""Fairness charts per protected attribute, as PNG bytes for the HTML report and the model card."""

from __future__ import annotations

import io
from typing import Mapping

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.tree import plot_tree  # noqa: E402

STATUS_COLORS = {"pass": "#1e8449", "fail": "#c0392b", "inconclusive": "#b9770e", "not_applicable": "#7f8c8d"}
THRESHOLD_COLOR = "#1f3a93"
RATES = {"selection_rate": "selection rate", "tpr": "true positive rate", "fpr": "false positive rate"}


def png_bytes(figure) -> bytes:
    """The figure as PNG, without matplotlib's Software tag (a URL) in its metadata; the figure is closed."""
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _error_bars(values: list, intervals: list) -> np.ndarray:
    """[2, n] distances from each value to its interval's ends, zero where either is unknown."""
    return np.array([[v - ci[0], ci[1] - v] if v is not None and ci else [0.0, 0.0]
                     for v, ci in zip(values, intervals)]).T.reshape(2, -1)


def _group_rates_panel(axis, groups: Mapping[str, Mapping]) -> None:
    names = list(groups)
    width = 0.8 / len(RATES)
    for i, (rate, label) in enumerate(RATES.items()):
        values = [groups[g][rate] for g in names]
        errors = _error_bars(values, [groups[g][f"{rate}_ci"] for g in names])
        axis.bar(np.arange(len(names)) + i * width, [v if v is not None else 0 for v in values], width,
                 yerr=errors, capsize=3, label=label)
    axis.set_xticks(np.arange(len(names)) + width, [f"{g}\n(n={groups[g]['examples']})" for g in names])
    axis.set_ylim(0, 1.05)
    axis.set_title("Rates per group, with bootstrap CIs")
    axis.legend(fontsize=8, loc="lower right")


def _metrics_panel(axis, checks: list[Mapping]) -> None:
    """Each fairness metric with its interval, coloured by status; its threshold as a blue tick."""
    for row, check in enumerate(checks):
        measured = check["measured"]
        ci = [check["ci"]["lower"], check["ci"]["upper"]] if check["ci"] else None
        axis.barh(row, measured or 0, color=STATUS_COLORS[check["status"]],
                  xerr=_error_bars([measured], [ci]), capsize=4, error_kw={"ecolor": "#555"})
        axis.plot([check["threshold"]] * 2, [row - 0.45, row + 0.45], color=THRESHOLD_COLOR, linewidth=3)
    axis.set_yticks(np.arange(len(checks)), [c["id"].split(".")[0].replace("_", " ") for c in checks])
    axis.set_xlim(0, 1.05)
    axis.set_title("Metrics with CIs; thresholds in blue")


def fairness_charts(report: Mapping) -> dict[str, bytes]:
    """{attribute: PNG} from audit.json's fairness checks: group rates with CIs, and each metric against its
    threshold with its CI."""
    by_attribute: dict[str, list[Mapping]] = {}
    for check in report["checks"]:
        if check["family"] == "fairness" and "attribute" in check["details"]:  # not a family declared not applicable
            by_attribute.setdefault(check["details"]["attribute"], []).append(check)
    charts = {}
    for attribute, checks in by_attribute.items():
        figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [3, 2]})
        _group_rates_panel(left, checks[0]["details"]["groups"])
        _metrics_panel(right, checks)
        figure.suptitle(f"Fairness by {attribute}")
        charts[attribute] = png_bytes(figure)
    return charts


def surrogate_tree_chart(comparison) -> bytes:
    """The global surrogate tree (a challengers.ChallengerComparison's) as a picture: each leaf's mean network score."""
    surrogate = comparison.surrogate
    figure, axis = plt.subplots(figsize=(min(4 + 2.2 * surrogate.get_n_leaves(), 22), 2 + 1.6 * surrogate.get_depth()))
    plot_tree(surrogate, feature_names=list(comparison.columns), filled=True, impurity=False, precision=3,
              rounded=True, fontsize=8, ax=axis)
    axis.set_title(f"Surrogate tree of the network's scores: agreement {comparison.surrogate_agreement:.1%}, "
                   f"R² {comparison.surrogate_r2:.2f} on the eval split")
    return png_bytes(figure)
