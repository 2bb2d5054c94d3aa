"""DirectRunner scaling: the pipeline's Beam-heavy steps on generated rows with 1, then 2 worker processes.

    python bench/scaling.py                 # 1,000,000 rows (an hour or more on 2 shared cores)
    python bench/scaling.py --rows 20000    # smoke run

The rows are bench/privacy.py's German-credit-shaped rows (scripts/make_raw_data.py, seeded, cached). Each
configuration runs the real pipeline with LocalDagRunner up to the Explainer (CsvExampleGen, Privacy,
StatisticsGen, ImportSchemaGen, ExampleValidator, DataGate, Transform, Trainer, Explainer), in a fresh process
whose whole tree (the Beam workers too) is sampled for resident memory. Each step's wall time comes from its
MLMD execution, and its peak memory is the tree's peak while it ran. The Explainer explains a fixed sample of
the eval split (--explain, default 2,000 examples): exact Shapley on all 200,000 eval rows would take hours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # bench/privacy.py: the row generator and the process-tree sampler

from privacy import DEFAULT_CACHE, SEED, TreeSampler, child_env, ensure_csv, mib  # noqa: E402

BEAM_STEPS = ("CsvExampleGen", "Privacy", "StatisticsGen", "Transform", "Explainer")
LAST_STEP = "Explainer"
WORKERS = (1, 2)


def child_main(csv_path: Path, out_dir: Path, workers: int, explain: int) -> None:
    """One configuration: the pipeline up to the Explainer on the CSV, with `workers` DirectRunner workers."""
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.pipeline import RunOptions

    from pipeline.config import load_config
    from pipeline.pipeline import create_pipeline
    from pipeline.runners.scratch import scratch_tempdir

    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True)
    (data_dir / csv_path.name).symlink_to(csv_path)
    config = load_config(data_dir=data_dir, output_dir=out_dir / "outputs", enable_cache=False,
                         extra_beam_args=[f"--direct_num_workers={workers}"],
                         explainer={"key_feature": "applicant_id", "max_examples": explain})
    config.output_dir.mkdir(parents=True, exist_ok=True)  # the SQLite store's folder, as run_local makes it
    with scratch_tempdir():
        LocalDagRunner().run(create_pipeline(config), run_options=RunOptions(to_nodes=[LAST_STEP]))


def step_windows(output_dir: Path, pipeline_name: str) -> Dict[str, tuple]:
    """Each step's (start, end) in seconds since the epoch, from its MLMD execution in the run's output directory."""
    from pipeline import metadata
    from pipeline.config import load_config
    from pipeline.records import mlmd

    store = metadata.open_store(load_config(output_dir=output_dir))
    return {
        node.node_id: (e.create_time_since_epoch / 1000, e.last_update_time_since_epoch / 1000)
        for node in mlmd.run_executions(store, pipeline_name)
        for e in [node.execution]
    }


def measure(csv_path: Path, workers: int, explain: int, log_path: Path) -> Dict[str, Dict]:
    with tempfile.TemporaryDirectory(prefix=f"scaling-{workers}w-") as out:
        command = [sys.executable, __file__, "--child", str(csv_path), "--out", out, "--workers", str(workers),
                   "--explain", str(explain)]
        with open(log_path, "w") as log:
            child = subprocess.Popen(command, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
            with TreeSampler(child.pid) as sampler:
                code = child.wait()
        if code:
            raise SystemExit(f"{workers} worker(s) failed with exit code {code}; see {log_path}")
        windows = step_windows(Path(out) / "outputs", "glassbox-german-credit")
    return {
        step: {"seconds": end - start,
               "peak_rss": max((rss for t, rss in sampler.samples if start <= t <= end), default=0)}
        for step, (start, end) in windows.items()
    }


def markdown(rows: int, results: Dict[int, Dict[str, Dict]], loads: List[str], explain: int) -> str:
    one, two = (results[w] for w in WORKERS)
    lines = [
        f"{rows:,} rows; {os.cpu_count()} CPUs; the Explainer on {explain:,} eval examples. Load averages "
        f"(1/5/15 min): {'; '.join(loads)}.",
        "",
        "| step | 1 worker (s) | 2 workers (s) | speed-up | peak RSS 1 worker (MiB) | peak RSS 2 workers (MiB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for step in [*BEAM_STEPS, "all steps"]:
        if step == "all steps":
            a, b = (sum(r[s]["seconds"] for s in r) for r in (one, two))
            peaks = [max(r[s]["peak_rss"] for s in r) for r in (one, two)]
        else:
            a, b = one[step]["seconds"], two[step]["seconds"]
            peaks = [one[step]["peak_rss"], two[step]["peak_rss"]]
        lines.append(f"| {step} | {a:.1f} | {b:.1f} | {a / b:.2f}x | {mib(peaks[0])} | {mib(peaks[1])} |")
    return "\n".join(lines)


def load_line() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--explain", type=int, default=2_000, help="eval examples the Explainer explains")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.out, args.workers, args.explain)
        return 0
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    csv_path, _ = ensure_csv(args.rows, args.seed, args.cache_dir)
    loads = [f"{load_line()} before"]
    results = {}
    for workers in WORKERS:
        log_path = args.cache_dir / f"scaling-{args.rows}-{workers}w.log"
        results[workers] = measure(csv_path, workers, args.explain, log_path)
        loads.append(f"{load_line()} after {workers} worker(s)")
        print(f"  {workers} worker(s): " + json.dumps({s: round(r["seconds"], 1) for s, r in results[workers].items()}),
              file=sys.stderr)
    print(markdown(args.rows, results, loads, args.explain))
    return 0


if __name__ == "__main__":
    sys.exit(main())
