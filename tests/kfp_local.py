"""Runs a compiled KFP V2 PipelineJob on this machine, task by task, the way a KFP backend would.

What a KFP backend does for each task, done here with local paths: take the task's container command and
arguments from the spec, build its `ExecutorInput` (parameters from the spec's constants, input artifacts from
the producers' executor outputs, output artifacts under the pipeline root), put it in place of the `{{$}}`
placeholder, run the ExampleGen driver (the `preCacheCheck` lifecycle hook) first where the spec has one, and
evaluate `triggerPolicy.condition` to skip a task. The image is this checkout's virtualenv: `python` in the
command is this interpreter.

What only a KFP backend can do is left out: resolver tasks are queries of the backend's metadata store over
earlier runs, and resolve to no artifact, as on a pipeline's first run; nothing is recorded in MLMD.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from graphlib import TopologicalSorter
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

PLACEHOLDER = "{{$}}"


class TaskFailedError(RuntimeError):
    pass


def _artifact_type(definitions, key: str) -> dict:
    return definitions["artifacts"][key]["artifactType"]


def _cel_to_python(condition: str) -> str:
    """The CEL that TFX writes for a Cond (comparisons, &&, ||, !) as the same Python expression."""
    return re.sub(r"!(?!=)", " not ", condition.replace("&&", " and ").replace("||", " or "))


def condition_holds(condition: str, inputs: Dict[str, List[dict]]) -> bool:
    artifacts = {
        key: SimpleNamespace(artifacts=[SimpleNamespace(metadata=a.get("metadata", {}), uri=a["uri"]) for a in arts])
        for key, arts in inputs.items()
    }
    return bool(eval(_cel_to_python(condition), {"__builtins__": {}}, {"inputs": SimpleNamespace(artifacts=artifacts)}))


def run_pipeline_job(job_path: Path, work_dir: Path, env: dict, timeout_s: int = 900) -> Dict[str, str]:
    """Runs every task of the PipelineJob at `job_path`; returns each task's state (done, skipped, resolved)."""
    job = json.loads(Path(job_path).read_text())
    json_format.ParseDict(job, pb.PipelineJob())  # strict: a spec the backend would refuse stops here
    spec = job["pipelineSpec"]
    tasks = spec["root"]["dag"]["tasks"]
    executors = spec["deploymentSpec"]["executors"]
    pipeline_root = job["runtimeConfig"]["gcsOutputDirectory"]
    outputs: Dict[str, Dict[str, List[dict]]] = {}  # task -> output key -> runtime artifacts
    states: Dict[str, str] = {}
    order = TopologicalSorter({name: task.get("dependentTasks", []) for name, task in tasks.items()}).static_order()
    for name in order:
        task = tasks[name]
        component = spec["components"][task["componentRef"]["name"]]
        executor = executors[component["executorLabel"]]
        if "resolver" in executor:
            outputs[name] = {key: [] for key in executor["resolver"]["outputArtifactQueries"]}
            states[name] = "resolved"
            continue
        inputs = {}
        for key, source in task.get("inputs", {}).get("artifacts", {}).items():
            producer = source["taskOutputArtifact"]
            produced = outputs[producer["producerTask"]].get(producer["outputArtifactKey"], [])
            artifact_type = _artifact_type(component["inputDefinitions"], key)
            inputs[key] = [{**artifact, "type": artifact_type} for artifact in produced]
        condition = task.get("triggerPolicy", {}).get("condition")
        if condition and not condition_holds(condition, inputs):
            outputs[name], states[name] = {}, "skipped"
            continue
        task_dir = work_dir / name
        task_outputs = {
            key: [{"name": f"{name}-{key}", "uri": f"{pipeline_root}/{name}/{key}",
                   "type": _artifact_type(component["outputDefinitions"], key)}]
            for key in component.get("outputDefinitions", {}).get("artifacts", {})
        }
        executor_input = {
            "inputs": {
                "parameters": {
                    key: value["runtimeValue"]["constantValue"]
                    for key, value in task.get("inputs", {}).get("parameters", {}).items()
                },
                "artifacts": {key: {"artifacts": arts} for key, arts in inputs.items()},
            },
            "outputs": {
                "artifacts": {key: {"artifacts": arts} for key, arts in task_outputs.items()},
                "outputFile": str(task_dir / "executor_output.json"),
            },
        }
        json_format.ParseDict(executor_input, pb.ExecutorInput())  # what the backend would hand over
        container = executor["container"]
        steps = [container["lifecycle"]["preCacheCheck"]] if "lifecycle" in container else []
        for step in [*steps, container]:
            _run_container_step(name, step, json.dumps(executor_input), task_dir, env, timeout_s)
        output = json.loads((task_dir / "executor_output.json").read_text())
        outputs[name] = {
            key: [{**given[0], **output.get("artifacts", {}).get(key, {}).get("artifacts", [{}])[0]}]
            for key, given in task_outputs.items()
        }
        states[name] = "done"
    return states


def _run_container_step(name: str, step: dict, executor_input: str, task_dir: Path, env: dict, timeout_s: int):
    command = [sys.executable if part == "python" else part for part in step["command"]]
    args = [executor_input if arg == PLACEHOLDER else arg for arg in step.get("args", [])]
    task_dir.mkdir(parents=True, exist_ok=True)
    with (task_dir / "log.txt").open("a") as log:
        result = subprocess.run([*command, *args], env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout_s)
    if result.returncode != 0:
        tail = (task_dir / "log.txt").read_text()[-4000:]
        raise TaskFailedError(f"task {name} ({' '.join(step['command'])}) exited {result.returncode}:\n{tail}")
