"""What the Trainer may train on (`training.devices`), as pure functions of what they are told: the configuration
validates with them without importing TensorFlow, and `distribution` asks TensorFlow and then calls them.

auto: whatever the strategy finds (today's behaviour); gpu: at least one GPU, else the Trainer fails; tpu: a TPU
strategy (training.tpu_address), else the Trainer fails. A request is never met by training on the CPU instead.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List

DEVICES = ("auto", "gpu", "tpu")
# The setting a request comes from, named in its errors; a Kubeflow accelerator names itself instead.
ASKED_BY = "training.devices"


def devices_conflict(devices: str, *, strategy: str, tpu_address: str | None, asked_by: str = ASKED_BY) -> str | None:
    """One sentence saying why `strategy` cannot train on `devices`, or None when it can (as far as the settings
    tell: whether a GPU is there is for TensorFlow to say)."""
    if devices not in DEVICES:
        return f"{asked_by} is '{devices}'; expected one of {', '.join(DEVICES)}"
    on_tpu = strategy == "tpu" or (strategy == "auto" and bool(tpu_address))
    if devices == "tpu" and not tpu_address:
        return (f"{asked_by} asks for a TPU, which needs training.tpu_address ('local' on a TPU VM, or a grpc:// "
                f"address)")
    if devices == "tpu" and not on_tpu:
        return f"{asked_by} asks for a TPU, which training.strategy {strategy} does not train on (use auto or tpu)"
    if devices == "gpu" and on_tpu:
        return (f"{asked_by} asks for a GPU, but training.strategy {strategy} with training.tpu_address "
                f"{tpu_address} trains on a TPU")
    return None


def kubeflow_devices(devices: str, accelerator: str | None) -> tuple[str, str]:
    """The devices a Kubeflow Trainer must train on, and the setting that asks: an accelerator of the task's machine
    (kubeflow.trainer_accelerator) asks for its kind when training.devices leaves it to auto, so that an image whose
    TensorFlow cannot use it fails instead of training on the CPU. TPU types (Vertex AI's TPU_V3, GKE's
    google.com/tpu) ask for a TPU, any other type (NVIDIA_TESLA_T4, nvidia.com/gpu) for a GPU."""
    if devices != "auto" or not accelerator:
        return devices, ASKED_BY
    return ("tpu" if "tpu" in accelerator.lower() else "gpu"), f"kubeflow.trainer_accelerator {accelerator}"


def no_gpu_message(asked_by: str, tf_version: str, seen: Iterable[str], *, built_with_cuda: bool,
                   cuda_version: str | None, driver_loads: bool, visible_devices: str | None) -> str:
    """One sentence for a GPU request that TensorFlow cannot meet: what it sees instead, and the likeliest reason
    from how this TensorFlow was built and what the host offers."""
    if not built_with_cuda:
        why = "this TensorFlow is built without CUDA: install tensorflow[and-cuda]"
    elif visible_devices is not None and visible_devices.strip() in ("", "-1"):
        why = f"CUDA_VISIBLE_DEVICES is '{visible_devices}', which hides every GPU"
    elif not driver_loads:
        why = f"this TensorFlow is built with CUDA {cuda_version or ''} but no NVIDIA driver (libcuda.so.1) loads here"
    else:
        why = (f"this TensorFlow is built with CUDA {cuda_version or ''} and the NVIDIA driver loads, so the CUDA "
               f"libraries it needs are missing or of another version: install tensorflow[and-cuda]")
    kinds = list(dict.fromkeys(seen))
    return (f"{asked_by} asks for a GPU and TensorFlow {tf_version} sees none on this host "
            f"(it sees {', '.join(kinds) or 'no device'}; {' '.join(why.split())})")


def short_device_names(names: Iterable[str]) -> List[str]:
    """TensorFlow's device names as TYPE:index ('/job:localhost/replica:0/task:0/device:GPU:1' -> 'GPU:1'), with
    the task kept ('task:1/TPU:0') only where devices of several tasks would otherwise read the same."""
    parsed = []
    for name in names:
        last = name.rpartition("/")[2]
        kind, _, index = last[len("device:"):].partition(":") if last.startswith("device:") else last.partition(":")
        task = re.search(r"/task:(\d+)", name)
        parsed.append((task.group(1) if task else None, f"{kind.upper()}:{index}" if index.isdigit() else name))
    short = [device for _, device in parsed]
    if len(set(short)) == len(short):
        return short
    return [f"task:{task}/{device}" if task is not None else device for task, device in parsed]


def name_gpus(devices: List[str], physical_names: List[str | None], logical_gpus: int) -> Dict[str, str]:
    """The model name of each GPU among `devices` (short names), from the physical GPUs' names in order: the i-th
    logical GPU is the i-th physical one when TensorFlow splits none, and any one of them when all are the same
    model; a GPU left unnamed has no name TensorFlow could give."""
    named = [name for name in physical_names if name]
    names: Dict[str, str] = {}
    for device in devices:
        kind, _, index = device.rpartition("/")[2].partition(":")
        if kind != "GPU" or not index.isdigit():
            continue
        i = int(index)
        if logical_gpus == len(physical_names) and i < len(physical_names) and physical_names[i]:
            names[device] = physical_names[i]
        elif named and len(named) == len(physical_names) and len(set(named)) == 1:
            names[device] = named[0]
    return names

