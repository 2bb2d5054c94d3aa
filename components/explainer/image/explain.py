"""The Explainer's work for image classifiers: attributions of every example, their quality, layer activations,
and the figures, written into the Explanations artifact (and TensorBoard images into the training's logs)."""

from __future__ import annotations

import io
import os
import time
from typing import Dict, List

import numpy as np

from components.explainer import plots as tabular_plots
from components.explainer.explain import example_digest, example_seeds
from components.explainer.image import plots
from components.explainer.image.activations import channel_means_per_class, sample_per_class
from components.explainer.image.config import PREDICTIONS_FILE, ImageExplainerConfig
from components.explainer.image.ground_truth import planted_marker_truth
from components.explainer.image.methods.grad_cam import attribute_grad_cam
from components.explainer.image.methods.integrated_gradients import attribute_image_integrated_gradients, blurred
from components.explainer.image.methods.lime import attribute_image_lime
from components.explainer.image.methods.occlusion import attribute_occlusion
from components.explainer.image.methods.smoothgrad import attribute_smoothgrad
from components.explainer.image.model import ExplainedImageModel
from components.explainer.image.quality import pixel_flipping, pixel_map, rank_correlations, summarize_randomization
from components.explainer.image.tensorboard import write_image_summaries
from components.explainer.model import raw_values
from components.explainer.quality import summarize_completeness
from components.explainer.report import COMPLETENESS_THRESHOLD, labels_of
from components.files import write_atomically, write_json


def attribute(method: str, model: ExplainedImageModel, images: np.ndarray, targets: np.ndarray,
              config: ImageExplainerConfig) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """(attributions [N, H, W, C], completeness errors [N] or None for methods without completeness, a surrogate's
    fidelity [N] or None for methods without one)."""
    common = {"classes": model.classes, "batch_rows": config.batch_rows}
    if method == "lime":
        # Seeded per image from its pixels: an image's map does not depend on the others explained with it.
        found = attribute_image_lime(
            model.probabilities, images, targets, patch=config.lime_patch, samples=config.lime_samples,
            kernel_width=config.lime_kernel_width, ridge_alpha=config.lime_ridge_alpha,
            seed=example_seeds(config.seed, np.asarray(images, np.float32).reshape(len(images), -1), None), **common)
        return found.attributions, found.completeness_error, found.fidelity
    if method.startswith("integrated_gradients"):
        baselines = np.zeros_like(images) if method.endswith("black") else blurred(images, config.blur_sigma)
        found = attribute_image_integrated_gradients(
            model.probabilities, images, targets, baselines, steps=config.ig_steps, tolerance=config.ig_tolerance,
            max_steps=config.ig_max_steps, **common)
        return found.attributions, found.completeness_error, None
    if method == "smoothgrad":
        return attribute_smoothgrad(model.probabilities, images, targets, samples=config.smoothgrad_samples,
                                    noise=config.smoothgrad_noise, seed=config.seed, **common), None, None
    if method == "occlusion":
        return attribute_occlusion(model.probabilities, images, targets, patch=config.occlusion_patch,
                                   stride=config.occlusion_stride, **common), None, None
    cams = attribute_grad_cam(model.last_conv, model.head_logits, images, targets, **common)
    return cams[..., np.newaxis], None, None


def _npz(path: str, arrays: Dict[str, np.ndarray]) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    write_atomically(path, buffer.getvalue())


def _pixel_names(height: int, width: int) -> List[str]:
    return [f"pixel_{row}_{column}" for row in range(height) for column in range(width)]


def explain_images(model_dir: str, records: List[bytes], config: ImageExplainerConfig, out: str,
                   tensorboard_dir: str | None) -> Dict[str, object]:
    """Writes predictions.npz (every example), attributions.npz, activations.npz, global.json, quality.json and
    plots/ under `out`; returns the headline figures for the artifact's MLMD properties."""
    model = ExplainedImageModel(model_dir)
    images = model.images(records)
    labels = labels_of(records, model.label).astype(np.int64)
    probabilities = model.predict(images)
    _npz(os.path.join(out, PREDICTIONS_FILE), {"label": labels, "probabilities": probabilities})
    # The first `max_examples` of them explained (all by default), from the images already scored.
    explained = config.max_examples or len(records)
    records, images, labels, probabilities = (records[:explained], images[:explained], labels[:explained],
                                              probabilities[:explained])
    keys = (np.array(raw_values(records, [config.key_feature])[config.key_feature]) if config.key_feature
            else np.array([example_digest(r)[:16] for r in records]))
    targets = probabilities.argmax(axis=1)

    maps, completeness, fidelity, seconds = {}, {}, {}, {}
    for method in config.methods:
        started = time.perf_counter()
        maps[method], errors, fit = attribute(method, model, images, targets, config)
        seconds[method] = (time.perf_counter() - started) / len(images)
        if errors is not None:
            completeness[method] = errors
        if fit is not None:
            fidelity[method] = fit

    pixel_maps = {m: pixel_map(v) for m, v in maps.items()}
    q, r = min(config.quality_examples, len(images)), min(config.randomization_examples, len(images))
    with model.randomized(config.seed):
        randomized = {m: attribute(m, model, images[:r], targets[:r], config)[0] for m in config.methods}
    quality: Dict = {"examples": q, "completeness_threshold": COMPLETENESS_THRESHOLD, "methods": {}}
    flipping = pixel_flipping(model.probabilities, images[:q], targets[:q], {m: maps[m][:q] for m in config.methods},
                              model.classes, random_orders=config.random_orders, seed=config.seed,
                              batch_rows=config.batch_rows, steps=config.flip_steps)
    for method in config.methods:
        # Maps with nothing to rank (Grad-CAM where ReLU zeroes every position) make the pixel order arbitrary.
        constant = int((np.ptp(pixel_maps[method].reshape(len(images), -1), axis=1) == 0).sum())
        entry = {"faithfulness": flipping[method].summary(), "seconds_per_image": seconds[method],
                 "constant_maps": constant,
                 "randomization": summarize_randomization(
                     rank_correlations(maps[method][:r], randomized[method]),
                     int((np.ptp(pixel_map(randomized[method]).reshape(r, -1), axis=1) == 0).sum()))}
        if method in completeness:
            summary = summarize_completeness(completeness[method], COMPLETENESS_THRESHOLD)
            entry["completeness"] = {"examples": len(images), "median": summary.median, "p90": summary.p90,
                                     "max": summary.max, "share_above_threshold": summary.share_above}
        if method in fidelity:
            fit = fidelity[method]
            entry["fidelity"] = {"examples": len(fit), "median": float(np.median(fit)),
                                 "p10": float(np.percentile(fit, 10)), "min": float(fit.min())}
        quality["methods"][method] = entry
    if config.marker_share:
        quality["ground_truth"] = {"planted_marker": planted_marker_truth(model, images, labels, config, attribute)}
    write_json(os.path.join(out, "quality.json"), quality)

    names = _pixel_names(*model.shape[:2])
    write_json(os.path.join(out, "global.json"), {
        m: {"overall": {"examples": len(images), "mean_abs": dict(zip(names, np.abs(v).mean(axis=0).ravel()))},
            "per_class_mean_abs": {str(c): np.abs(v[labels == c]).mean(axis=0).tolist() for c in np.unique(labels)}}
        for m, v in pixel_maps.items()
    })
    _npz(os.path.join(out, "attributions.npz"), {
        "key": keys, "label": labels, "probabilities": probabilities, "target": targets,
        **{f"attribution.{m}": v.astype(np.float32) for m, v in maps.items()},
        **{f"completeness_error.{m}": v for m, v in completeness.items()},
    })

    sampled = sample_per_class(labels, config.activation_examples_per_class)
    outputs = model.layer_outputs(images[sampled])
    _npz(os.path.join(out, "activations.npz"), {"key": keys[sampled], "label": labels[sampled], **outputs})
    summary = channel_means_per_class(outputs, labels[sampled])
    write_json(os.path.join(out, "activations.json"), summary)

    os.makedirs(os.path.join(out, "plots"), exist_ok=True)
    pngs: Dict[str, bytes] = {}
    first_of_class = sample_per_class(labels, 1)
    pngs["overlays"] = plots.overlays(images[first_of_class], {m: v[first_of_class] for m, v in pixel_maps.items()},
                                      [f"label {labels[i]}, predicted {targets[i]}" for i in first_of_class])
    for c in np.unique(labels):
        chosen = np.flatnonzero(labels == c)[: config.overlay_examples_per_class]
        pngs[f"overlays_class_{c}"] = plots.overlays(images[chosen], {m: v[chosen] for m, v in pixel_maps.items()},
                                                     [f"{keys[i]}: predicted {targets[i]}" for i in chosen])
    one_per_class = sample_per_class(labels[sampled], 1)
    for layer, values in outputs.items():
        pngs[f"activations_{layer}"] = plots.activation_grid(layer, values[one_per_class],
                                                             [f"class {labels[sampled][i]}" for i in one_per_class])
        pngs[f"channel_means_{layer}"] = plots.channel_means(layer, summary[layer]["per_class_channel_mean"])
    for name, png in pngs.items():
        write_atomically(os.path.join(out, "plots", f"{name}.png"), png)
    tabular_plots.deletion_curves({m: quality["methods"][m]["faithfulness"] for m in config.methods},
                                  os.path.join(out, "plots", "pixel_flipping.png"))
    if tensorboard_dir:
        write_image_summaries(tensorboard_dir, {f"explanations/{name}": png for name, png in pngs.items()})

    primary = quality["methods"][config.primary_method]
    mean_abs = np.abs(pixel_maps[config.primary_method]).mean(axis=0).ravel()
    return {
        "modality": "image",
        "methods": ",".join(config.methods),
        "primary_method": config.primary_method,
        "split": config.split,
        "examples": len(images),
        "accuracy": float((targets == labels).mean()),
        "median_completeness_error": primary.get("completeness", {}).get("median", float("nan")),
        "share_completeness_above_0_05": primary.get("completeness", {}).get("share_above_threshold", float("nan")),
        "deletion_auc_ratio": primary["faithfulness"]["deletion_auc"] / primary["faithfulness"]["random_deletion_auc"],
        "randomization_spearman": primary["randomization"]["spearman_mean"],
        "seconds_per_image": sum(seconds.values()),
        "top_features": ",".join(names[i] for i in np.argsort(-mean_abs, kind="stable")[:5]),
        "tensorboard_logdir": tensorboard_dir or "",
    }
