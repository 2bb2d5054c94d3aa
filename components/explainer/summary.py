"""After the Beam pass: from its outputs, the tabular Explainer's summary files (global.json, quality.json,
sensitivity.json, plots/) and the headline figures for the artifact's MLMD properties. A plain function: the
executor calls it once the pipeline has run, tests call it on outputs they made."""

from __future__ import annotations

import glob
import json
import os
from pathlib import Path
from typing import Dict, List

import numpy as np
import pyarrow.parquet as pq
import tensorflow as tf

from components.explainer import plots
from components.explainer.beam_pipeline import GROUND_TRUTH_SAMPLE
from components.explainer.config import ExplainerConfig
from components.explainer.explain import (
    Attributions,
    Background,
    checks_scorecard_reasons,
    example_digest,
    read_background_records,
)
from components.explainer.ground_truth import challenger_ground_truth, planted_ground_truth
from components.explainer.image import plots as image_plots
from components.explainer.image.activations import channel_means_per_class
from components.explainer.image.tensorboard import write_image_summaries
from components.explainer.model import ExplainedModel, raw_values
from components.explainer.report import global_importances, measure_quality, top_features
from components.explainer.sensitivity import partial_dependence
from components.files import write_atomically, write_json

WATERFALLS = 3


def _read_records(path: str) -> List[bytes]:
    return [r.numpy() for r in tf.data.TFRecordDataset(path)] if os.path.exists(path) else []


def _dense_colors(model: ExplainedModel, dense: np.ndarray) -> np.ndarray:
    """Per raw feature, a value to colour its dots: numerics as is, categoricals by category index."""
    return np.stack(
        [dense[:, s] if f["kind"] == "numeric" else dense[:, s:e].argmax(axis=1).astype(float)
         for f, (s, e) in zip(model.features, model.blocks)],
        axis=1,
    )


def _waterfalls(model: ExplainedModel, records: List[bytes], primary: Attributions, method: str) -> List[Dict]:
    """The inputs of the waterfall plots: the WATERFALLS lowest-scored of `records`, each feature labelled with its
    raw value."""
    values = raw_values(records, model.feature_names)
    return [
        {"base": float(primary.baseline_prediction[i]), "prediction": float(primary.prediction[i]),
         "contributions": {f"{name} = {values[name][i]}": float(primary.values[i, j])
                           for j, name in enumerate(model.feature_names)},
         "title": f"Why this score: lowest-scored example {rank + 1} ({method})"}
        for rank, i in enumerate(np.argsort(primary.prediction, kind="stable")[:WATERFALLS])
    ]


def _reason_agreement(output_dir: str) -> Dict[str, object]:
    """A scorecard's declined examples and how many had points-lost reasons in the order of their exact Shapley
    values against the best-bin reference (explain.reasons_agree_with_shapley)."""
    lines = [json.loads(line) for path in sorted(glob.glob(os.path.join(output_dir, "reason_codes", "*.jsonl")))
             for line in Path(path).read_text().splitlines()]
    flags = [line["agrees_with_shapley"] for line in lines if "agrees_with_shapley" in line]
    return {"scorecard_declines": len(flags), "scorecard_reasons_agreeing_with_shapley": sum(flags)}


def _layer_activations(model: ExplainedModel, records: List[bytes], output_dir: str, plot_dir: str) -> List[str]:
    """activations.json (each hidden layer's mean activation per unit and label class on `records`) and a plot per
    layer, for a model with the `layer_outputs` signature; the plots' names."""
    outputs = model.layer_outputs(model.dense(records))
    labels = model.labels(records)
    known = ~np.isnan(labels)
    if not outputs or not known.any():
        return []
    summary = channel_means_per_class({k: v[known] for k, v in outputs.items()}, labels[known].astype(int))
    write_json(os.path.join(output_dir, "activations.json"), summary)
    names = []
    for layer, entry in summary.items():
        names.append(f"activations_{layer}.png")
        write_atomically(os.path.join(plot_dir, names[-1]),
                         image_plots.channel_means(layer, entry["per_class_channel_mean"], unit="unit"))
    return names


def summarize(model: ExplainedModel, config: ExplainerConfig, output_dir: str, work_dir: str,
              tensorboard_dir: str | None = None) -> Dict[str, object]:
    """Writes global.json, quality.json, sensitivity.json, activations.json and plots/ under `output_dir` from what
    the Beam pass left there (attributions/, background.tfrecord) and in `work_dir` (aggregates*, quality_sample),
    and the plots as TensorBoard images under `tensorboard_dir`; returns the headline figures for the artifact's MLMD
    properties."""
    aggregate_lines = [line for path in sorted(glob.glob(os.path.join(work_dir, "aggregates*")))
                       for line in Path(path).read_text().splitlines()]
    importances = global_importances(aggregate_lines)
    write_json(os.path.join(output_dir, "global.json"), importances)

    table = pq.read_table(os.path.join(output_dir, "attributions"), columns=["method", "completeness_error"])
    methods, errors = table.column("method").to_numpy(), table.column("completeness_error").to_numpy()
    completeness = {m: errors[methods == m] for m in config.per_example_methods}

    background = Background.from_examples(model, read_background_records(output_dir), config)
    sample = _read_records(os.path.join(work_dir, "quality_sample"))
    quality, sample_attributions = measure_quality(model, sample, background, config, completeness)
    train = _read_records(os.path.join(work_dir, GROUND_TRUTH_SAMPLE))
    if config.ground_truth_examples and train:
        quality["ground_truth"] = {"logistic_regression": challenger_ground_truth(
            model, train, model.dense(sample), sample, background, config)}
        if config.planted_features:
            quality["ground_truth"]["planted_signal"] = planted_ground_truth(model, model.dense(train), config)
    write_json(os.path.join(output_dir, "quality.json"), quality)

    top = top_features(importances, config.primary_method, config.sensitivity_features)
    sensitivity = partial_dependence(model, sample, top, config.sensitivity_grid_points,
                                     [example_digest(r)[:16] for r in sample])
    write_json(os.path.join(output_dir, "sensitivity.json"), sensitivity)

    primary = sample_attributions[config.primary_method]
    plot_dir = os.path.join(output_dir, "plots")
    written = plots.write_all(
        plot_dir,
        importances={m: importances[m]["overall"]["mean_abs"] for m in config.per_example_methods},
        names=model.feature_names,
        primary=primary.values,
        dense_colors=_dense_colors(model, model.dense(sample)),
        waterfalls=_waterfalls(model, sample, primary, config.primary_method),
        curves={m: quality["methods"][m]["faithfulness"] for m in config.per_example_methods},
        sensitivity=sensitivity["features"],
    )
    written += _layer_activations(model, sample, output_dir, plot_dir)
    if tensorboard_dir:
        write_image_summaries(tensorboard_dir, {f"explanations/{name.removesuffix('.png')}":
                                                Path(plot_dir, name).read_bytes() for name in written})

    headline = quality["methods"][config.primary_method]["completeness"]
    agreement = {}
    if checks_scorecard_reasons(model, config):
        agreement = _reason_agreement(output_dir)
    elif model.scorecard is not None:
        agreement = {"scorecard_reason_check": f"not run: exact Shapley over {len(model.blocks)} features is above "
                                               f"max_exact_features {config.max_exact_features}"}
    return {
        **agreement,
        "methods": ",".join(config.methods),
        "primary_method": config.primary_method,
        "examples": importances[config.primary_method]["overall"]["examples"],
        "median_completeness_error": headline["median"],
        "share_completeness_above_0_05": headline["share_above_threshold"],
        "top_features": ",".join(top_features(importances, config.primary_method)),
        "sensitivity_features": ",".join(top),
        "sensitivity_seconds": sensitivity["seconds"],
        "background_examples": len(background.dense),
        "tensorboard_logdir": tensorboard_dir or "",
    }
