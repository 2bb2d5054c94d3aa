"""The default run on both stacks, side by side: `glassbox run` on the embedded German-credit data, no cache, a fresh
output folder each time, alternating legacy (Python 3.10, TFX 1.16) and current (Python 3.12, TFX 1.21), so that
both see the same machine load.

    .venv/bin/python bench/stacks.py       # 2 repeats per stack, results appended to $TMPDIR/glassbox-bench-privacy
    .venv/bin/python bench/stacks.py --repeats 1
    .venv/bin/python bench/stacks.py --report        # the table again, from the results recorded so far

Each run goes through scripts/in_stack.sh, as `make run STACK=...` does: the current stack inside the Debian 13
root of scripts/rootfs.sh on a host older than glibc 2.39 (mounting it costs well under a second). Step times are the
ones the run prints ("✓ Trainer finished in 58.2 s"); wall is the whole command, start-up and summary included.
Both stacks must be set up first (make setup STACK=legacy; make setup STACK=current). The table also says which
stack's run printed Google's "non-supported Python version" warning, on the terminal or in the run's log file.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
from privacy import DEFAULT_CACHE  # noqa: E402

REPO_ROOT = BENCH_DIR.parent
RESULTS = DEFAULT_CACHE / "stacks-results.jsonl"
STACKS = ("legacy", "current")
STEP = re.compile(r"✓ (\S+) finished in ([\d.]+) s")


def run_once(stack: str) -> Dict[str, object]:
    (REPO_ROOT / "outputs").mkdir(exist_ok=True)
    # Under the repository: the current stack's root mounts the repository, not the host's /tmp.
    with tempfile.TemporaryDirectory(prefix=f"bench-stacks-{stack}-", dir=REPO_ROOT / "outputs") as output:
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "scripts/in_stack.sh", "glassbox", "run", "--no-cache", "--output", output],
            cwd=REPO_ROOT, env=dict(os.environ, STACK=stack), capture_output=True, text=True,
        )
        wall = time.monotonic() - started
        logged = "".join(log.read_text(errors="replace") for log in Path(output).glob("logs/*.log"))
    if result.returncode != 0:
        raise SystemExit(f"the {stack} run failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    steps = {name: float(seconds) for name, seconds in STEP.findall(result.stdout)}
    versions = subprocess.run(
        ["bash", "scripts/in_stack.sh", "python", "-c",
         "import platform, tfx, apache_beam, tensorflow as tf; "
         "print(platform.python_version(), tfx.__version__, tf.__version__, apache_beam.__version__)"],
        cwd=REPO_ROOT, env=dict(os.environ, STACK=stack, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True, text=True, check=True,
    ).stdout.split()
    return {"stack": stack, "wall_s": round(wall, 1), "steps": steps, "unsupported_warning":
            "non-supported Python version" in result.stdout + result.stderr + logged,
            "python": versions[0], "tfx": versions[1], "tensorflow": versions[2], "beam": versions[3],
            "when": time.strftime("%Y-%m-%dT%H:%M:%S")}


def report(rows: List[Dict[str, object]]) -> str:
    by_stack = {stack: [r for r in rows if r["stack"] == stack] for stack in STACKS}
    if not all(by_stack.values()):
        return "No results for both stacks yet."
    versions = {s: "Python {python}, TFX {tfx}, TF {tensorflow}, Beam {beam}".format(**runs[-1])
                for s, runs in by_stack.items()}
    lines = [f"| step | legacy ({versions['legacy']}) | current ({versions['current']}) | current / legacy |",
             "|---|---:|---:|---:|"]

    def row(name: str, values: Dict[str, List[float]]) -> str:
        legacy, current = (statistics.median(values[s]) for s in STACKS)
        ratio = f"{current / legacy:.2f}×" if legacy else "-"
        return f"| {name} | {legacy:.1f} s | {current:.1f} s | {ratio} |"

    steps = [s for s in by_stack["legacy"][-1]["steps"] if all(s in r["steps"] for r in rows)]
    for step in steps:
        lines.append(row(step, {s: [r["steps"][step] for r in runs] for s, runs in by_stack.items()}))
    lines.append(row("**whole command**", {s: [r["wall_s"] for r in runs] for s, runs in by_stack.items()}))
    counts = ", ".join(f"{len(runs)} {s}" for s, runs in by_stack.items())
    warned = [s for s, runs in by_stack.items() if any(r["unsupported_warning"] for r in runs)]
    lines.append(f"\nMedians of {counts} runs, alternating. Unsupported-Python warning printed by: "
                 f"{', '.join(warned) or 'neither'}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--report", action="store_true", help="print the table from recorded results only")
    args = parser.parse_args()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if not args.report:
        for repeat in range(args.repeats):
            for stack in STACKS:
                row = run_once(stack)
                print(f"repeat {repeat + 1}, {stack}: {row['wall_s']} s", flush=True)
                with RESULTS.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = [json.loads(line) for line in RESULTS.read_text().splitlines()] if RESULTS.exists() else []
    print(report(rows))


if __name__ == "__main__":
    main()
