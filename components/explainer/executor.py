"""Explainer executor: a thin shell around the Beam graph and the quality step."""

from __future__ import annotations

import glob
import json
import os
import shutil
from typing import Any, Dict, List

import numpy as np
import pyarrow.parquet as pq
import tensorflow as tf
from absl import logging
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.digests import seal_artifact
from components.explainer import plots
from components.explainer.beam_pipeline import build_explain_pipeline
from components.explainer.config import parse_config
from components.explainer.explain import Background, example_digest
from components.explainer.image.config import parse_image_config
from components.explainer.image.executor import explain_images
from components.explainer.model import ExplainedModel, raw_values
from components.explainer.report import global_importances, measure_quality, top_features
from components.explainer.sensitivity import partial_dependence
from components.files import split_records, write_json

WATERFALLS = 3


def _split_pattern(examples, split: str) -> str:
    splits = artifact_utils.decode_split_names(examples.split_names)
    if split not in splits:
        raise ValueError(f"Explainer: the examples have no split '{split}' (they have {', '.join(splits)}).")
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def _read_records(path: str) -> List[bytes]:
    return [r.numpy() for r in tf.data.TFRecordDataset(path)] if os.path.exists(path) else []


def _dense_colors(model: ExplainedModel, dense: np.ndarray) -> np.ndarray:
    """Per raw feature, a value to colour its dots: numerics as is, categoricals by category index."""
    return np.stack(
        [dense[:, s] if f["kind"] == "numeric" else dense[:, s:e].argmax(axis=1).astype(float)
         for f, (s, e) in zip(model.features, model.blocks)],
        axis=1,
    )


def _explain_images(input_dict: Dict[str, List], explanations, config_text: str) -> None:
    """Image classifiers: in-process TensorFlow on one split (a few hundred small images take seconds)."""
    config = parse_image_config(config_text)
    examples = artifact_utils.get_single_instance(input_dict["examples"])
    model_dir = path_utils.serving_model_path(artifact_utils.get_single_instance(input_dict["model"]).uri)
    records = split_records(os.path.dirname(_split_pattern(examples, config.split)))
    # TensorBoard logs of the explanations' own: the Trainer's model_run is published and sealed, so nothing
    # is added to it; `tensorboard --logdir <pipeline root>` lists both runs side by side.
    properties = explain_images(model_dir, records, config, explanations.uri,
                                os.path.join(explanations.uri, "tensorboard"))
    for name, value in properties.items():
        if isinstance(value, str):
            explanations.set_string_custom_property(name, value)
        elif isinstance(value, int):
            explanations.set_int_custom_property(name, value)
        elif value is not None:
            explanations.set_float_custom_property(name, value)
    seal_artifact(explanations)


class Executor(BaseBeamExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        if json.loads(exec_properties["config"]).get("modality") == "image":
            return _explain_images(input_dict, artifact_utils.get_single_instance(output_dict["explanations"]),
                                   exec_properties["config"])
        config = parse_config(exec_properties["config"])
        examples = artifact_utils.get_single_instance(input_dict["examples"])
        model_artifact = artifact_utils.get_single_instance(input_dict["model"])
        explanations = artifact_utils.get_single_instance(output_dict["explanations"])
        examples_pattern = _split_pattern(examples, config.split)
        background_pattern = _split_pattern(examples, config.background_split)
        model_dir = path_utils.serving_model_path(model_artifact.uri)
        model = ExplainedModel(model_dir)
        known = set(model.feature_names) | set(model.slice_key_names) | {config.key_feature}
        slice_names = [s for s in config.slice_features if s in known]
        missing = sorted(set(config.slice_features) - set(slice_names))
        if missing:
            raise ValueError(f"Explainer: slice features {missing} are neither raw features nor model slice keys.")

        out = explanations.uri
        work = os.path.join(out, "_work")
        os.makedirs(work, exist_ok=True)
        logging.info("Explainer: %s on split '%s' of %s", config.methods, config.split, examples.uri)
        with self._make_beam_pipeline() as pipeline:
            build_explain_pipeline(
                pipeline, examples_pattern=examples_pattern, background_pattern=background_pattern,
                model_dir=model_dir, config=config, feature_names=model.feature_names, slice_names=slice_names,
                output_dir=out, work_dir=work,
            )

        aggregate_lines = [line for path in sorted(glob.glob(os.path.join(work, "aggregates*")))
                           for line in open(path).read().splitlines()]
        importances = global_importances(aggregate_lines)
        write_json(os.path.join(out, "global.json"), importances)

        table = pq.read_table(os.path.join(out, "attributions"), columns=["method", "completeness_error"])
        methods, errors = table.column("method").to_numpy(), table.column("completeness_error").to_numpy()
        completeness = {m: errors[methods == m] for m in config.per_example_methods}

        background = Background.from_examples(model, _read_records(os.path.join(work, "background")), config)
        sample = _read_records(os.path.join(work, "quality_sample"))
        quality, sample_attributions = measure_quality(model, sample, background, config, completeness)
        write_json(os.path.join(out, "quality.json"), quality)

        top = top_features(importances, config.primary_method, config.sensitivity_features)
        sensitivity = partial_dependence(model, sample, top, config.sensitivity_grid_points,
                                         [example_digest(r)[:16] for r in sample])
        write_json(os.path.join(out, "sensitivity.json"), sensitivity)

        primary = sample_attributions[config.primary_method]
        lowest = np.argsort(primary.prediction, kind="stable")[:WATERFALLS]
        values = raw_values(sample, model.feature_names)
        plots.write_all(
            os.path.join(out, "plots"),
            importances={m: importances[m]["overall"]["mean_abs"] for m in config.per_example_methods},
            names=model.feature_names,
            primary=primary.values,
            dense_colors=_dense_colors(model, model.dense(sample)),
            waterfalls=[
                {"base": float(primary.baseline_prediction[i]), "prediction": float(primary.prediction[i]),
                 "contributions": {f"{name} = {values[name][i]}": float(primary.values[i, j])
                                   for j, name in enumerate(model.feature_names)},
                 "title": f"Why this score: lowest-scored example {rank + 1} ({config.primary_method})"}
                for rank, i in enumerate(lowest)
            ],
            curves={m: quality["methods"][m]["faithfulness"] for m in config.per_example_methods},
            sensitivity=sensitivity["features"],
        )
        shutil.rmtree(work)

        headline = quality["methods"][config.primary_method]["completeness"]
        explanations.set_string_custom_property("methods", ",".join(config.methods))
        explanations.set_string_custom_property("primary_method", config.primary_method)
        explanations.set_int_custom_property("examples", importances[config.primary_method]["overall"]["examples"])
        explanations.set_float_custom_property("median_completeness_error", headline["median"])
        explanations.set_float_custom_property("share_completeness_above_0_05", headline["share_above_threshold"])
        explanations.set_string_custom_property("top_features", ",".join(top_features(importances,
                                                                                       config.primary_method)))
        explanations.set_string_custom_property("sensitivity_features", ",".join(top))
        explanations.set_float_custom_property("sensitivity_seconds", sensitivity["seconds"])
        seal_artifact(explanations)
