"""The Evaluator's executor: TFX's, with TFMA's evaluation of a binary classifier computed in one vectorised pass
(evaluation.py). A config that the pass does not cover goes to TFX's own `Do`, TFMA's Beam pipeline, and the log
says why."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Tuple

from absl import logging
from google.protobuf import json_format
from tensorflow_model_analysis import version as tfma_version
from tensorflow_model_analysis.metrics import metric_specs
from tensorflow_model_analysis.proto import config_pb2
from tensorflow_model_analysis.utils import config_util
from tfx.components.evaluator import constants
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils
from tfx.types import standard_component_specs as keys
from tfx.utils import io_utils, json_utils, path_utils, proto_utils

from components.artifacts import set_properties
from components.evaluator import evaluation
from components.files import record_batches

# TFMA's name for the evaluated data when a pipeline hands it a PCollection, as TFX's executor does.
DATA_LOCATION = "<user provided PCollection>"
# The evaluation artifact's property saying which computed it (VECTORISED or TFMA_PIPELINE), and why not the first.
EVALUATED_BY, NOT_VECTORISED = "evaluated_by", "not_vectorised_because"
VECTORISED, TFMA_PIPELINE = "vectorised pass", "TFMA pipeline"


@dataclass
class _Plan:
    eval_config: config_pb2.EvalConfig
    models: Dict[str, Tuple[str, config_pb2.ModelSpec]]  # model name -> (serving model path, spec)
    split_uris: List[str]
    computations: Tuple[list, list]
    run_validation: bool

    @property
    def slice_features(self) -> List[str]:
        return [spec.feature_keys[0] for spec in self.eval_config.slicing_specs if spec.feature_keys]


def _plan(input_dict: Dict[str, List], exec_properties: Dict[str, Any]) -> _Plan:
    """What to evaluate, as TFX's executor reads it from the inputs and parameters; UnsupportedError where the
    vectorised pass does not compute it."""
    if exec_properties.get(keys.MODULE_FILE_KEY) or exec_properties.get(keys.MODULE_PATH_KEY):
        raise evaluation.UnsupportedError("a module file's custom extractors or shared model")
    if not exec_properties.get(keys.EVAL_CONFIG_KEY):
        raise evaluation.UnsupportedError("a feature slicing spec without an eval config")
    if not input_dict.get(keys.MODEL_KEY):
        raise evaluation.UnsupportedError("predictions read from the examples, without a model")
    has_baseline = bool(input_dict.get(keys.BASELINE_MODEL_KEY))
    eval_config = proto_utils.json_to_proto(exec_properties[keys.EVAL_CONFIG_KEY], config_pb2.EvalConfig())
    eval_config = config_util.update_eval_config_with_defaults(eval_config, has_baseline=has_baseline,
                                                               rubber_stamp=True)
    config_util.verify_eval_config(eval_config)
    evaluation.check_config(eval_config)
    computations = evaluation.separate(metric_specs.to_computations(eval_config.metrics_specs, eval_config=eval_config))
    models = {}
    for spec in eval_config.model_specs:
        artifact = artifact_utils.get_single_instance(
            input_dict[keys.BASELINE_MODEL_KEY if spec.is_baseline else keys.MODEL_KEY])
        path = path_utils.serving_model_path(artifact.uri, path_utils.is_old_model_artifact(artifact))
        evaluation.check_model_type(spec, path)
        models[spec.name] = (path, spec)
    examples = input_dict[keys.EXAMPLES_KEY]
    formats = {examples_utils.get_payload_format(artifact) for artifact in examples}
    if formats != {example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE}:
        raise evaluation.UnsupportedError("examples in a payload format other than tf.Example")
    splits = json_utils.loads(exec_properties.get(keys.EXAMPLE_SPLITS_KEY, "null")) or ["eval"]
    return _Plan(
        eval_config=eval_config, models=models,
        split_uris=[uri for split in splits for uri in artifact_utils.get_split_uris(examples, split)],
        computations=computations,
        run_validation=bool(metric_specs.metric_thresholds_from_metrics_specs(eval_config.metrics_specs,
                                                                              eval_config=eval_config)))


class Executor(tfx_evaluator.Executor):
    """Writes the evaluation TFMA's pipeline would, and the blessing as TFX's executor does."""

    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        started = time.monotonic()
        try:
            plan = _plan(input_dict, exec_properties)
            scored = evaluation.score(plan.models, plan.slice_features,
                                      (batch for uri in plan.split_uris for batch in record_batches(uri)))
            metrics, plots, validation = evaluation.evaluate(plan.eval_config, scored, *plan.computations)
        except evaluation.UnsupportedError as reason:
            logging.info("Evaluator: TFMA's pipeline evaluates this model; the vectorised pass does not compute %s.",
                         reason)
            super().Do(input_dict, output_dict, exec_properties)
            set_properties(artifact_utils.get_single_instance(output_dict[keys.EVALUATION_KEY]),
                           {EVALUATED_BY: TFMA_PIPELINE, NOT_VECTORISED: str(reason)})
            return
        self._log_startup(input_dict, output_dict, exec_properties)
        output_uri = artifact_utils.get_single_uri(output_dict[keys.EVALUATION_KEY])
        set_properties(artifact_utils.get_single_instance(output_dict[keys.EVALUATION_KEY]),
                       {EVALUATED_BY: VECTORISED})
        evaluation.write(output_uri, metrics, plots, validation)
        io_utils.write_string_file(os.path.join(output_uri, "eval_config.json"), json_format.MessageToJson(
            config_pb2.EvalRun(eval_config=plan.eval_config, version=tfma_version.VERSION, data_location=DATA_LOCATION,
                               file_format="<unknown>",
                               model_locations={name: path for name, (path, _) in plan.models.items()})) + "\n")
        logging.info("Evaluator: %d examples, %d slices, evaluated in one vectorised pass in %.1f s; written to %s.",
                     next(iter(scored.values())).labels.size, len(metrics), time.monotonic() - started, output_uri)
        if plan.run_validation:
            _bless(input_dict, output_dict, exec_properties, validation.validation_ok)


def _bless(input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any],
           blessed: bool) -> None:
    """The blessing artifact's properties and file, as TFX's executor writes them after validating."""
    blessing = artifact_utils.get_single_instance(output_dict[keys.BLESSING_KEY])
    model = input_dict[keys.MODEL_KEY][0]
    blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_URI_KEY, model.uri)
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_CURRENT_MODEL_ID_KEY, model.id)
    if input_dict.get(keys.BASELINE_MODEL_KEY):
        baseline = input_dict[keys.BASELINE_MODEL_KEY][0]
        blessing.set_string_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_URI_KEY, baseline.uri)
        blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BASELINE_MODEL_ID_KEY, baseline.id)
    if "current_component_id" in exec_properties:
        blessing.set_string_custom_property("component_id", exec_properties["current_component_id"])
    name = constants.BLESSED_FILE_NAME if blessed else constants.NOT_BLESSED_FILE_NAME
    io_utils.write_string_file(os.path.join(blessing.uri, name), "")
    blessing.set_int_custom_property(constants.ARTIFACT_PROPERTY_BLESSED_KEY,
                                     constants.BLESSED_VALUE if blessed else constants.NOT_BLESSED_VALUE)
    logging.info("Blessing result %s written to %s.", blessed, blessing.uri)
