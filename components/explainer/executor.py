"""Explainer executor: a thin shell around the Beam graph (beam_pipeline.py) and the summary after it (summary.py)."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any, Dict, List, Tuple

from absl import logging
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components.artifacts import set_properties
from components.digests import seal_artifact
from components.explainer.beam_pipeline import build_explain_pipeline
from components.explainer.config import ExplainerConfig, parse_config
from components.explainer.explain import read_background_records
from components.explainer.image.config import parse_image_config
from components.explainer.image.explain import explain_images
from components.explainer.model import ExplainedModel
from components.explainer.summary import summarize
from components.files import split_records


def _split_pattern(examples, split: str) -> str:
    splits = artifact_utils.decode_split_names(examples.split_names)
    if split not in splits:
        raise ValueError(f"Explainer: the examples have no split '{split}' (they have {', '.join(splits)}).")
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def applicable_methods(config: ExplainerConfig, model: ExplainedModel) -> Tuple[ExplainerConfig, Dict[str, str]]:
    """The config without the gradient methods where the model is not differentiable (a scorecard's binned
    numerics have zero gradient almost everywhere, so integrated gradients would report zeros and a completeness
    error as large as the score's change), and the artifact property saying which were skipped and why."""
    if model.differentiable or "integrated_gradients" not in config.methods:
        return config, {}
    methods = [m for m in config.methods if m != "integrated_gradients"]
    logging.info("Explainer: integrated gradients skipped, the %s model is not differentiable.", model.kind)
    return config.model_copy(update={"methods": methods}), {
        "skipped_methods": f"integrated_gradients: the {model.kind} model is piecewise constant in its binned "
                           "features, so its gradients are zero almost everywhere"}


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
    set_properties(explanations, properties)
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
        kept = input_dict.get("background")
        if kept:  # another run's background rows, e.g. training's for a monitored span
            background_records = read_background_records(artifact_utils.get_single_instance(kept).uri)
            background_pattern = None
        else:
            background_records, background_pattern = None, _split_pattern(examples, config.background_split)
        model_dir = path_utils.serving_model_path(model_artifact.uri)
        model = ExplainedModel(model_dir)
        config, skipped = applicable_methods(config, model)
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
                output_dir=out, work_dir=work, background_records=background_records, loaded_model=model,
            )

        # TensorBoard images of the explanations in the artifact's own logs, as the image track writes them.
        properties = {**summarize(model, config, out, work, os.path.join(out, "tensorboard")), **skipped}
        shutil.rmtree(work)
        set_properties(explanations, properties)
        seal_artifact(explanations)
