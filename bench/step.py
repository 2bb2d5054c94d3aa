"""One component's executor alone, on the inputs and properties of its last execution in a finished run, timed and
optionally profiled: where a step's time goes, without running the pipeline around it.

    python bench/step.py --run OUTPUT_DIR --component Explainer [--repeats 3] [--profile FILE.prof]

OUTPUT_DIR is a `glassbox run --output` folder with a SQLite store. The executor class is the one the recorded
component names (its EXECUTOR_SPEC); its inputs are the recorded input artifacts, its execution properties the
recorded ones, its outputs fresh artifacts of the recorded types in a temporary folder. Beam steps run in memory in
one process, as the direct profile runs small inputs. Each repeat is a fresh process (TensorFlow's start-up and
graph tracing included, as in a run); it prints each repeat's seconds in `Do` and the median. With --profile the
first repeat runs under cProfile and leaves its statistics in FILE (read them with `python -m pstats FILE`).

With --executor MODULE:CLASS, once or more, those executors run instead of the component's own, interleaved in each
repeat, and the medians are compared with the first's: e.g. `--executor components.evaluator.executor:Executor
--executor tfx.components.evaluator.executor:Executor`, the Evaluator's vectorised pass against TFMA's pipeline.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.runners.beam import in_memory_context  # noqa: E402


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


def run_step(run_dir: str, component: str, out: str, profile: str = "", executor_path: str = "") -> float:
    """In this process: the executor's `Do` on the recorded inputs (the modules it imports first, as a run has them
    by then); its seconds. With `profile`, cProfile's statistics of `Do` to that file; with `executor_path`
    (MODULE:CLASS), that executor instead of the component's own."""
    from pipeline.config import load_config
    from pipeline.metadata import MetadataStoreError, open_store
    from pipeline.records.mlmd import executor_call

    try:
        store = open_store(load_config(output_dir=run_dir))
    except MetadataStoreError as e:
        sys.exit(str(e))
    execution, type_name = _last_execution(store, component)
    module, _, name = type_name.rpartition(".")
    executor_class = getattr(importlib.import_module(module), name).EXECUTOR_SPEC.executor_class
    if executor_path:
        module, _, name = executor_path.partition(":")
        executor_class = getattr(importlib.import_module(module), name)
    inputs, outputs, properties = executor_call(store, execution, out)
    executor = executor_class(in_memory_context(os.path.join(out, "tmp"), "bench"))
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
    parser.add_argument("--executor", action="append", metavar="MODULE:CLASS",
                        help="an executor to run instead of the component's own; repeat to compare several")
    parser.add_argument("--child", nargs=3, metavar=("OUT", "PROFILE", "EXECUTOR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({"seconds": run_step(args.run, args.component, *args.child)}))
        return 0
    executors = args.executor or [""]
    seconds = {executor: [] for executor in executors}
    with tempfile.TemporaryDirectory(prefix="bench-step-") as scratch:
        for repeat in range(args.repeats):
            for number, executor in enumerate(executors):
                profile = os.path.abspath(f"{args.profile}.{number}" if len(executors) > 1 else args.profile) \
                    if args.profile and repeat == 0 else ""
                done = subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--run", os.path.abspath(args.run), "--component",
                     args.component, "--child", os.path.join(scratch, f"{repeat}-{number}"), profile, executor],
                    capture_output=True, text=True)
                if done.returncode != 0:
                    sys.exit(f"{args.component} ({executor or 'its own executor'}) failed:\n{done.stderr[-3000:]}")
                seconds[executor].append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
                print(f"  run {repeat + 1}{' (profiled)' if profile else ''} {executor}: {seconds[executor][-1]:.1f} s",
                      flush=True)
    unprofiled = args.profile and args.repeats > 1  # cProfile slows the run it profiles
    first = None
    for executor, runs in seconds.items():
        timed = runs[1:] if unprofiled else runs
        median = statistics.median(timed)
        first = first or median
        print(f"{args.component} executor Do{' (' + executor + ')' if executor else ''}: median {median:.1f} s over "
              f"{len(timed)}{' unprofiled' if unprofiled else ''} run(s)"
              f"{f', {median / first:.2f}x the first' if len(seconds) > 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
