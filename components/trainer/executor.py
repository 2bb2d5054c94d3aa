"""Trainer executor: TFX's GenericExecutor (the user's run_fn trains and saves the model), then what the training
record says about the devices and strategy, as MLMD properties of the model and model_run artifacts, so that lineage
queries ("which models trained on a GPU?") need no file opened."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from absl import logging
from tfx.components.trainer.executor import GenericExecutor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.artifacts import set_properties
from components.trainer.record import TRAINING_RECORD, record_properties


def read_training_record(model_run_uri: str) -> Dict[str, object] | None:
    """The record run_fn wrote into the model_run artifact (a bucket on Kubeflow), or None when it wrote none: a
    trainer module of the user's own, or a worker other than the chief under multi_worker."""
    path = os.path.join(model_run_uri, TRAINING_RECORD)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.load(f)


class Executor(GenericExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        super().Do(input_dict, output_dict, exec_properties)
        model = artifact_utils.get_single_instance(output_dict["model"])
        model_run = artifact_utils.get_single_instance(output_dict["model_run"])
        record = read_training_record(model_run.uri)
        if record is None:
            logging.warning("The trainer module wrote no %s into %s: the model carries no training properties.",
                            TRAINING_RECORD, model_run.uri)
            return
        properties = record_properties(record)
        for artifact in (model, model_run):
            set_properties(artifact, properties)
        logging.info("Trained on %s (%s, %s replica(s); devices asked for: %s).", properties["trained_on"],
                     properties["strategy"], properties["replicas"], properties["devices_requested"])
