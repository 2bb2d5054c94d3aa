"""Times `glassbox lineage model` and `glassbox lineage verify` on a store with many runs.

Fills an output directory with runs of the default pipeline until it holds `--runs` of them (the first
run computes everything; later ones are served from the cache, except the Evaluator, ModelAudit and
Pusher, which compare against the runs before them), then times each lineage command `--repeat` times
as a fresh process, as a user would run it, and prints the median.

    .venv/bin/python bench/lineage.py --output /tmp/lineage-bench --runs 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from pipeline import metadata
from pipeline.config import load_config
from pipeline.records import mlmd
from pipeline.runners.local import run_local


def _timed(args) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed: {done.stderr[-2000:]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    config = load_config(output_dir=args.output)
    existing = len(mlmd.run_ids(metadata.open_store(config), config.pipeline_name)) \
        if config.metadata_path.exists() else 0
    for n in range(existing, args.runs):
        started = time.monotonic()
        run_local(config)
        print(f"run {n + 1}/{args.runs}: {time.monotonic() - started:.1f} s", flush=True)
    store = metadata.open_store(config)
    runs = mlmd.run_ids(store, config.pipeline_name)
    artifacts = len(store.get_artifacts())
    executions = len(store.get_executions())
    out = ["--output", str(args.output)]
    commands = {
        "lineage model": ["lineage", "model", *out],
        "lineage model --pushed": ["lineage", "model", "--pushed", *out],
        "lineage verify (latest run)": ["lineage", "verify", *out],
        "lineage verify (first run)": ["lineage", "verify", "--run", runs[0], *out],
        "lineage runs": ["lineage", "runs", *out],
        "python -c 'import pipeline.records.lineage' (start-up floor)": None,
    }
    print(f"\nStore: {len(runs)} runs, {executions} executions, {artifacts} artifacts")
    for name, command in commands.items():
        if command is None:
            times = []
            for _ in range(args.repeat):
                started = time.monotonic()
                subprocess.run([sys.executable, "-c", "import pipeline.records.lineage, pipeline.records.integrity"],
                               check=True)
                times.append(time.monotonic() - started)
        else:
            times = [_timed(command) for _ in range(args.repeat)]
        print(f"  {name:<55} median {statistics.median(times):5.2f} s  (min {min(times):.2f}, max {max(times):.2f})")


if __name__ == "__main__":
    main()
