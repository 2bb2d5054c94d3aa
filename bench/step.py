"""One component's executor alone, on the inputs and properties of its last execution in a finished run, timed and
optionally profiled: where a step's time goes, without running the pipeline around it.

    python bench/step.py --run OUTPUT_DIR --component Explainer [--repeats 3] [--profile FILE.prof]

OUTPUT_DIR is a `glassbox run --output` folder with a SQLite store. The executor class is the one the recorded
component names (its EXECUTOR_SPEC); its inputs are the recorded input artifacts, its execution properties the
recorded ones, its outputs fresh artifacts of the recorded types in a temporary folder. Beam steps run in memory in
one process, as the direct profile runs small inputs. Each repeat is a fresh process (TensorFlow's start-up and
graph tracing included, as in a run); it prints each repeat's seconds in `Do` and the median. With --profile the
first repeat runs under cProfile and leaves its statistics in FILE (read them with `python -m pstats FILE`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.runners.beam import IN_MEMORY, NOTHING_TO_STAGE  # noqa: E402


def _last_execution(store, component: str):
    """The store's last execution of the component whose class is named `component`, and that class's path."""
    names = {t.id: t.name for t in store.get_execution_types()}
    executions = [e for name in names.values() if name.rsplit(".", 1)[-1] == component
                  for e in store.get_executions_by_type(name)]
    if not executions:
        sys.exit(f"no {component} execution in the store (recorded: "
                 + ", ".join(sorted({name.rsplit('.', 1)[-1] for name in names.values()})) + ")")
    last = max(executions, key=lambda e: e.id)
    return last, names[last.type_id]


def run_step(run_dir: str, component: str, out: str, profile: str = "") -> float:
    """In this process: the executor's `Do` on the recorded inputs (the modules it imports first, as a run has them
    by then); its seconds. With `profile`, cProfile's statistics of `Do` to that file."""
    from ml_metadata.proto import metadata_store_pb2
    from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
    from tfx.types import artifact_utils

    from pipeline.config import load_config
    from pipeline.metadata import MetadataStoreError, open_store
    from pipeline.records.mlmd import input_artifacts, output_artifacts, plain_properties

    try:
        store = open_store(load_config(output_dir=run_dir))
    except MetadataStoreError as e:
        sys.exit(str(e))
    execution, type_name = _last_execution(store, component)
    module, _, name = type_name.rpartition(".")
    executor_class = getattr(importlib.import_module(module), name).EXECUTOR_SPEC.executor_class
    artifact_types = {t.id: t for t in store.get_artifact_types()}

    def tfx_artifacts(by_key, fresh: bool) -> Dict[str, List]:
        made = {}
        for key, artifacts in by_key.items():
            made[key] = []
            for artifact in artifacts:
                if fresh:  # an output: the recorded type and properties, a new folder
                    artifact = metadata_store_pb2.Artifact(type_id=artifact.type_id, uri=os.path.join(out, key),
                                                           properties=artifact.properties)
                made[key].append(artifact_utils.deserialize_artifact(artifact_types[artifact.type_id], artifact))
        return made

    inputs = tfx_artifacts(input_artifacts(store, execution.id), fresh=False)
    outputs = tfx_artifacts(output_artifacts(store, execution.id), fresh=True)
    properties = {**plain_properties(execution.custom_properties), **plain_properties(execution.properties)}
    context = BaseBeamExecutor.Context(beam_pipeline_args=[*IN_MEMORY, NOTHING_TO_STAGE],
                                       tmp_dir=os.path.join(out, "tmp"), unique_id="bench")
    executor = executor_class(context)
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    executor.Do(inputs, outputs, properties)
    seconds = time.perf_counter() - started
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="a finished run's output folder (SQLite store)")
    parser.add_argument("--component", required=True, help="its class name: Explainer, Evaluator, ModelAudit, ...")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", help="cProfile statistics of the first repeat to this file")
    parser.add_argument("--child", nargs=2, metavar=("OUT", "PROFILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({"seconds": run_step(args.run, args.component, *args.child)}))
        return 0
    seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        for repeat in range(args.repeats):
            profile = os.path.abspath(args.profile) if args.profile and repeat == 0 else ""
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--run", os.path.abspath(args.run), "--component",
                 args.component, "--child", os.path.join(scratch, str(repeat)), profile],
                capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{args.component} failed:\n{done.stderr[-3000:]}")
            seconds.append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
            print(f"  run {repeat + 1}{' (profiled)' if profile else ''}: {seconds[-1]:.1f} s", flush=True)
    unprofiled = args.profile and len(seconds) > 1  # cProfile slows the run it profiles
    timed = seconds[1:] if unprofiled else seconds
    print(f"{args.component} executor Do: median {statistics.median(timed):.1f} s over {len(timed)}"
          f"{' unprofiled' if unprofiled else ''} run(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
