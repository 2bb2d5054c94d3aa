"""The default run of several checkouts (or Beam flags) side by side: `glassbox run --no-cache` on the embedded data,
each in a fresh output folder, the variants interleaved so that they share the machine's load.

    python bench/side_by_side.py --variant before=/work/main --variant after=.
    python bench/side_by_side.py --variant sdist=.:--requirements_file= --variant default=. --repeats 3

A variant is NAME=CHECKOUT[:BEAM_FLAG[:BEAM_FLAG...]]: the run uses that checkout's code (PYTHONPATH, with this
Python) and the extra Beam flags. It prints each step's median time (the times the run prints), the whole command's
median wall and each variant's ratio to the first, with the repeat count.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

STEP = re.compile(r"✓ (\S+) finished in ([\d.]+) s")


def parse_variant(text: str) -> Tuple[str, Path, List[str]]:
    name, _, rest = text.partition("=")
    checkout, *flags = rest.split(":")
    return name, Path(checkout).resolve(), flags


def run_once(checkout: Path, flags: List[str]) -> Dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-side-by-side-") as output:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "run", "--no-cache", "--output", output,
             *(f"--beam-arg={flag}" for flag in flags)],
            cwd=checkout, env=dict(os.environ, PYTHONPATH=str(checkout)), capture_output=True, text=True)
        wall = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"the run in {checkout} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return {**{name: float(seconds) for name, seconds in STEP.findall(result.stdout)}, "whole command": wall}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", required=True, type=parse_variant)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    runs: Dict[str, List[Dict[str, float]]] = {name: [] for name, _, _ in args.variant}
    for repeat in range(args.repeats):
        for name, checkout, flags in args.variant:
            runs[name].append(run_once(checkout, flags))
            print(f"  {name} #{repeat + 1}: {runs[name][-1]['whole command']:.1f} s", file=sys.stderr, flush=True)
    names = list(runs)
    steps = list(dict.fromkeys(step for name in names for run in runs[name] for step in run))
    steps.append(steps.pop(steps.index("whole command")))
    medians = {name: {step: statistics.median(run.get(step, 0.0) for run in runs[name]) for step in steps}
               for name in names}
    first = names[0]
    header = " | ".join(names) + " | " + " | ".join(f"{name} / {first}" for name in names[1:])
    print(f"\nMedians of {args.repeats} runs per variant, interleaved.\n")
    print(f"| step | {header} |")
    print("|---|" + "---:|" * (2 * len(names) - 1))
    for step in steps:
        cells = [f"{medians[name][step]:.1f} s" for name in names]
        base = medians[first][step]
        ratios = [f"{medians[name][step] / base:.2f}×" if base >= 0.5 else "-" for name in names[1:]]
        label = f"**{step}**" if step == "whole command" else step
        print(f"| {label} | " + " | ".join(cells + ratios) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
