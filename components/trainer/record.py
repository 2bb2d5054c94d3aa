"""The file in which the Trainer module records how a model was trained (strategy, replicas, global batch size, the
devices it trained on and the devices asked for), beside its TensorBoard logs in the model_run artifact; the Trainer's
executor turns it into MLMD properties, and `glassbox lineage model` reads both.

A module importing nothing heavy: the Trainer module (code TFX loads by path), the executor and the lineage reader
share the names without the Trainer importing ML Metadata or the reader importing TensorFlow."""

import json
from typing import Dict, Mapping, Sequence

TRAINING_RECORD = "glassbox_training.json"


def record_properties(record: Mapping[str, object]) -> Dict[str, object]:
    """The MLMD properties of the Trainer's model and model_run from its record: `trained_on` ('CPU:0',
    'GPU:0,GPU:1'), `device_names` (JSON: each GPU's model name, where TensorFlow gave one), `strategy`, `replicas`,
    `global_batch_size`, `devices_requested` (auto, gpu, tpu) and `model_kind` (network, scorecard). What a record
    lacks (one written before devices were recorded) is None, which set_properties leaves unset."""
    devices = record.get("devices")
    names = record.get("device_names")
    return {
        "trained_on": ",".join(devices) if devices else None,
        "device_names": json.dumps(names, sort_keys=True) if names else None,
        "strategy": record.get("strategy"),
        "replicas": record.get("replicas"),
        "global_batch_size": record.get("global_batch_size"),
        "devices_requested": record.get("devices_requested"),
        "model_kind": record.get("model_kind"),
    }


def describe_devices(devices: Sequence[str], names: Mapping[str, str]) -> str:
    """'GPU:0 (NVIDIA H200), GPU:1 (NVIDIA H200)' or 'CPU:0': the devices a model trained on, for people."""
    return ", ".join(f"{d} ({names[d]})" if d in names else d for d in devices)
