"""Sensitivity analysis: partial dependence (PDP) and individual conditional expectation (ICE) curves.

An ICE curve is one example's score as one raw feature sweeps a grid (numerics: evenly over the observed range;
categoricals: every category of the vocabulary) with the example's other features held; the PDP is their mean.
The grid's raw values go through the model's own Transform graph once (`transform_features`), then every
example x grid point row is built by overwriting that feature's dense columns, as the Shapley game builds its
coalitions, and scored in batched `predict_from_features` calls.
"""

from __future__ import annotations

import time
from typing import Callable, Dict, List, Mapping, Sequence

import numpy as np

from components.explainer.model import OOV, ExplainedModel, feature_kinds, raw_values, with_values


def ice_curves(predict: Callable[[np.ndarray], np.ndarray], dense: np.ndarray, columns: tuple[int, int],
               grid_columns: np.ndarray) -> np.ndarray:
    """[N, G]: each example's score with dense columns [start, end) set to each grid point's values [G, end-start]."""
    start, end = columns
    rows = np.repeat(np.asarray(dense, dtype=np.float32)[np.newaxis], len(grid_columns), axis=0)  # [G, N, D]
    rows[:, :, start:end] = np.asarray(grid_columns, dtype=np.float32)[:, np.newaxis, :]
    return np.asarray(predict(rows.reshape(-1, rows.shape[-1]))).reshape(len(grid_columns), len(dense)).T


def numeric_grid(observed: Sequence[str], points: int) -> List[float]:
    """`points` values evenly over the observed range; only whole numbers when every observed value is one."""
    values = np.array([float(v) for v in observed if v != ""])
    grid = np.linspace(values.min(), values.max(), points)
    if np.all(values == np.round(values)):
        grid = np.unique(np.round(grid))
    return [float(v) for v in grid]


def feature_grid(feature: Mapping, observed: Sequence[str], points: int) -> list:
    return ([v for v in feature["vocabulary"] if v != OOV] if feature["kind"] == "categorical"
            else numeric_grid(observed, points))


def partial_dependence(model: ExplainedModel, records: Sequence[bytes], features: Sequence[str], grid_points: int,
                       keys: Sequence[str]) -> Dict:
    """sensitivity.json's content: per feature its grid, PDP and ICE curves over `records`, and the seconds taken."""
    started = time.perf_counter()
    dense = model.dense(records)
    observed = raw_values(records, features)
    by_name = {f["feature"]: (f, block) for f, block in zip(model.features, model.blocks)}
    kinds = feature_kinds(records, features)  # the grid's examples are records[0], whose value may be missing
    curves = {}
    for name in features:
        feature, (start, end) = by_name[name]
        grid = feature_grid(feature, observed[name], grid_points)
        # The grid's dense columns, through the Transform graph: one example per grid value.
        grid_columns = model.dense([with_values(records[0], {name: value}, kinds) for value in grid])[:, start:end]
        ice = ice_curves(model.predict, dense, (start, end), grid_columns)
        curves[name] = {"kind": feature["kind"], "grid": grid, "pdp": ice.mean(axis=0).tolist(),
                        "ice": ice.tolist(), "observed": observed[name]}
    return {"examples": len(records), "keys": list(keys), "features": curves,
            "seconds": time.perf_counter() - started}
