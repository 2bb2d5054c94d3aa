"""What a process pays before it does any work: `glassbox` commands and the pipeline's imports, with the code of
several checkouts side by side (each command a fresh process; the variants interleaved so that they share the load).

    python bench/startup.py --variant before=/tmp/snapshot --variant after=. --run OUTPUT_DIR --repeats 3

A variant is NAME=CHECKOUT: each command runs with that checkout as its working directory, so that `pipeline` is
imported from it (the current directory comes first on sys.path). OUTPUT_DIR is a finished run's folder, which
`glassbox lineage runs` reads. Also times `from tfx import v1` against the classes the pipeline uses imported from
their own modules (no checkout involved). Prints a Markdown table: each command's median seconds per variant, the
repeats in brackets, and the last variant's ratio to the first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

TFX_V1 = "from tfx import v1 as tfx; tfx.components.Trainer, tfx.dsl.Pipeline, tfx.orchestration.LocalDagRunner"
TFX_MODULES = ("from tfx.components import Trainer; from tfx.orchestration.pipeline import Pipeline; "
               "from tfx.orchestration.local.local_dag_runner import LocalDagRunner")


def commands(run_dir: Path) -> Dict[str, List[str]]:
    return {
        "`import pipeline.runners.local` (a run's imports)": ["-c", "import pipeline.runners.local"],
        "`glassbox serve` without a token (refused)": ["-m", "pipeline.cli", "serve", "--output", str(run_dir)],
        "`glassbox lineage runs`": ["-m", "pipeline.cli", "lineage", "runs", "--output", str(run_dir)],
    }


def seconds(args: List[str], cwd: Path) -> float:
    environment = {k: v for k, v in os.environ.items() if k not in ("GLASSBOX_SERVE_TOKEN", "PYTHONPATH")}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *args], cwd=cwd, env=environment, capture_output=True, text=True)
    took = time.perf_counter() - started
    if done.returncode not in (0, 2):  # 2: the refused serve
        sys.exit(f"{' '.join(args)} in {cwd} failed:\n{done.stderr[-2000:]}")
    return took


def cell(times: List[float]) -> str:
    """The median, then every repeat in brackets."""
    return f"{statistics.median(times):.2f} s ({', '.join(f'{t:.1f}' for t in times)})"


def row(name: str, runs: Dict[str, List[float]]) -> str:
    medians = [statistics.median(times) for times in runs.values()]
    ratio = f"{medians[-1] / medians[0]:.2f}x" if len(medians) > 1 else ""
    return f"| {name} | {' | '.join(cell(times) for times in runs.values())} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", required=True, help="NAME=CHECKOUT (repeatable)")
    parser.add_argument("--run", type=Path, required=True, help="a finished run's output folder")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    variants = {name: Path(path).resolve() for name, path in (v.split("=", 1) for v in args.variant)}
    missing = [str(path) for path in variants.values() if not (path / "pipeline" / "cli").is_dir()]
    if missing:
        sys.exit(f"not a Glassbox checkout: {', '.join(missing)}")
    if not (args.run / "metadata.sqlite").is_file():
        sys.exit(f"no run store: {args.run / 'metadata.sqlite'}")

    cases = commands(args.run.resolve())
    times = {case: {name: [] for name in variants} for case in cases}
    tfx_import = {"`from tfx import v1`": [], "the same classes from their modules": []}
    for _ in range(args.repeats):
        for case, command in cases.items():
            for name, checkout in variants.items():
                times[case][name].append(seconds(command, checkout))
        for runs, statement in zip(tfx_import.values(), (TFX_V1, TFX_MODULES)):
            runs.append(seconds(["-c", statement], Path.cwd()))

    print(f"| command | {' | '.join(variants)} | {'/'.join(reversed(list(variants)))} |")
    print(f"|---|{'---:|' * (len(variants) + 1)}")
    for case, runs in times.items():
        print(row(case, runs))
    print("\n| import | seconds | ratio |\n|---|---:|---:|")
    first = statistics.median(tfx_import["`from tfx import v1`"])
    for name, runs in tfx_import.items():
        print(f"| {name} | {cell(runs)} | {statistics.median(runs) / first:.2f}x |")


if __name__ == "__main__":
    main()
