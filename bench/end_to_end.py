"""End to end: the Glassbox pipeline against a plain TFX pipeline of the same standard components, same data.

    python bench/end_to_end.py                          # 1,000 rows (3 repeats), 100,000 and 1,000,000 rows
    python bench/end_to_end.py --sizes 1000 --repeats 1 # smoke run
    python bench/end_to_end.py --report                 # the tables again, from the results recorded so far

The plain side (`create_plain_pipeline`) wires TFX's CsvExampleGen, StatisticsGen, SchemaGen, ExampleValidator,
Transform, Trainer, Evaluator and Pusher as a TFX user would, with the Glassbox configuration's Trainer module and
Glassbox's features in the Transform module (as module files, which TFX packages into wheels), Beam arguments (less
the flag that spares DirectRunner TFX's sdist), split, training steps and EvalConfig; its Transform leaves out the
columns the privacy policy does not keep, so both models read the same nine features. The difference between the
sides is Glassbox's own steps: Privacy, DataGate, Explainer and ModelAudit, ImportSchemaGen instead of SchemaGen,
the executor of CsvExampleGen (Glassbox's is batched, components/csv_example_gen; the plain side's is TFX's; both
write the same examples in the same splits) and the plan of Transform's analyzers (Glassbox's one for all string
columns and one for all numeric ones; the plain side's bench/plain_modules/preprocessing.py one per column, as TFX's
documentation writes them; the same vocabularies and transformed examples).

Each run is a fresh process (LocalDagRunner, no cache) on bench/privacy.py's generated German-credit-shaped rows
(scripts/make_raw_data.py, seeded, cached); its whole process tree, Beam workers included, is sampled for resident
memory. Per-step wall time comes from MLMD; CPU seconds are the tree's user+system time (getrusage of the reaped
children). At each size the sides run interleaved (plain, then Glassbox, per repeat), and every run is appended to
a JSON-lines file as it finishes. The Explainer explains at most --explain eval examples (exact Shapley on all
200,000 eval rows of 1,000,000 would take hours); every other step sees every row.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # the row generator, the process-tree sampler, MLMD step windows

from privacy import DEFAULT_CACHE, SEED, TreeSampler, child_env, ensure_csv, mib  # noqa: E402
from scaling import load_line, step_windows  # noqa: E402

SIDES = ("plain", "glassbox")
STANDARD_STEPS = ("CsvExampleGen", "StatisticsGen", "SchemaGen", "ExampleValidator", "Transform", "Trainer",
                  "Evaluator", "Pusher")
GLASSBOX_STEPS = ("Privacy", "ImportSchemaGen", "DataGate", "Explainer", "ModelAudit")
PLAIN_PIPELINE_NAME = "plain-tfx-german-credit"
# Glassbox's features with an analyzer per column, as a TFX user writes them (the module's docstring).
PLAIN_TRANSFORM_MODULE = BENCH_DIR / "plain_modules" / "preprocessing.py"
RESULTS_FILE = "pipeline-results.jsonl"


def plain_config(config, csv_path: Path):
    """The Glassbox configuration for the plain side: its Transform and Trainer also skip every column the
    privacy policy does not keep as it is (names, contact data, free text), so both models read the same features."""
    from components.privacy.policy import load_policy

    with open(csv_path, encoding="utf-8") as f:
        header = f.readline().strip().split(",")
    policy = load_policy(config.privacy_policy, header)
    not_kept = [name for name, rule in policy.columns.items()
                if rule.action != "keep" and name not in config.non_features]
    return config.model_copy(update={"pipeline_name": PLAIN_PIPELINE_NAME,
                                     "non_features": [*config.non_features, *not_kept]})


def create_plain_pipeline(config):
    """TFX's eight standard components, wired as a TFX user would, with Glassbox's settings."""
    from tfx import v1 as tfx

    from pipeline import metadata
    from pipeline.pipeline import (
        eval_config,
        latest_blessed_model_resolver,
        split_config,
        trainer_custom_config,
        transform_custom_config,
    )
    from pipeline.runners.beam import NOTHING_TO_STAGE

    example_gen = tfx.components.CsvExampleGen(input_base=str(config.data_dir), output_config=split_config(config))
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"], infer_feature_shape=True)
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    transform = tfx.components.Transform(
        examples=example_gen.outputs["examples"], schema=schema_gen.outputs["schema"],
        module_file=str(PLAIN_TRANSFORM_MODULE), disable_statistics=True,
        custom_config=transform_custom_config(config))
    trainer = tfx.components.Trainer(
        module_file=str(config.module_file_trainer),
        examples=transform.outputs["transformed_examples"], transform_graph=transform.outputs["transform_graph"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=config.training.train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=config.training.eval_steps),
        custom_config=trainer_custom_config(config))
    model_resolver = latest_blessed_model_resolver()
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"], model=trainer.outputs["model"],
        baseline_model=model_resolver.outputs["model"], eval_config=eval_config(config))
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"], model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=str(config.serving_dir))))
    return tfx.dsl.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=str(config.pipeline_root),
        components=[example_gen, statistics_gen, schema_gen, example_validator, transform, trainer, model_resolver,
                    evaluator, pusher],
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata.connection_config(config),
        # TFX's own default: every Beam step packages TFX for remote workers (the direct profile's flag says that
        # DirectRunner needs nothing staged; pipeline/runners/beam.py).
        beam_pipeline_args=[arg for arg in config.beam_pipeline_args if arg != NOTHING_TO_STAGE],
    )


def split_csv(csv_path: Path, files: int) -> List[Path]:
    """The CSV's rows in `files` files of consecutive rows, each with the header (cached beside the CSV)."""
    if files == 1:
        return [csv_path]
    directory = csv_path.with_name(f"{csv_path.stem}-in-{files}")
    paths = [directory / f"part-{i:02d}-of-{files:02d}.csv" for i in range(files)]
    if not all(p.exists() for p in paths):
        directory.mkdir(exist_ok=True)
        with open(csv_path, encoding="utf-8") as f:
            header, lines = f.readline(), f.readlines()  # the generator writes one line per row
        per_file = -(-len(lines) // files)
        for i, path in enumerate(paths):
            temporary = path.with_suffix(".tmp")
            temporary.write_text(header + "".join(lines[i * per_file:(i + 1) * per_file]), encoding="utf-8")
            temporary.rename(path)
    return paths


def bench_config(csv_paths: List[Path], out_dir: Path, explain: int, beam_args: List[str]):
    """The default configuration on the generated CSV file(s), without the cache, the Explainer capped at `explain`."""
    from pipeline.config import load_config

    data_dir = out_dir / "data"
    data_dir.mkdir(parents=True)
    for path in csv_paths:
        (data_dir / path.name).symlink_to(path.resolve())
    return load_config(data_dir=data_dir, output_dir=out_dir / "outputs", enable_cache=False,
                       extra_beam_args=beam_args, explainer={"key_feature": "applicant_id", "max_examples": explain})


def child_main(side: str, csv_paths: List[Path], out_dir: Path, explain: int, beam_args: List[str],
               last_step: str | None) -> None:
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.pipeline import RunOptions

    from pipeline.pipeline import create_pipeline
    from pipeline.runners.scratch import scratch_tempdir

    config = bench_config(csv_paths, out_dir, explain, beam_args)
    built = create_plain_pipeline(plain_config(config, csv_paths[0])) if side == "plain" else create_pipeline(config)
    run_options = RunOptions(to_nodes=[last_step]) if last_step else None
    config.output_dir.mkdir(parents=True, exist_ok=True)  # the SQLite store's folder, as run_local makes it
    with scratch_tempdir():
        LocalDagRunner().run(built, run_options=run_options)


def variant(beam_args: List[str], csv_files: int, last_step: str | None) -> str:
    """What a run changes from the default: its extra Beam flags, its input files, where it stops."""
    parts = [*beam_args, *([f"{csv_files} CSV files"] if csv_files > 1 else []),
             *([f"up to {last_step}"] if last_step else [])]
    return ", ".join(parts) or "default"


def measure(side: str, rows: int, csv_paths: List[Path], explain: int, beam_args: List[str],
            last_step: str | None, log_path: Path) -> Dict:
    """One run of one side in a fresh process: wall, CPU seconds and peak RSS of the tree, and per-step figures."""
    with tempfile.TemporaryDirectory(prefix=f"bench-pipeline-{side}-") as out:
        command = [sys.executable, __file__, "--child", side, *(f"--csv={p}" for p in csv_paths), "--out", out,
                   "--explain", str(explain), *(f"--beam-arg={a}" for a in beam_args),
                   *([f"--last-step={last_step}"] if last_step else [])]
        load_before = load_line()
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.time()
        with open(log_path, "w") as log:
            child = subprocess.Popen(command, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
            with TreeSampler(child.pid) as sampler:
                code = child.wait()
        wall = time.time() - start
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if code:
            raise SystemExit(f"{side} at {rows:,} rows failed with exit code {code}; see {log_path}")
        name = PLAIN_PIPELINE_NAME if side == "plain" else "glassbox-german-credit"
        windows = step_windows(Path(out) / "outputs", name)
    steps = {
        step: {"seconds": round(end - begin, 2),
               "peak_rss": max((rss for t, rss in sampler.samples if begin <= t <= end), default=0)}
        for step, (begin, end) in windows.items()
    }
    return {"side": side, "rows": rows, "variant": variant(beam_args, len(csv_paths), last_step), "explain": explain,
            "wall": round(wall, 2),
            "cpu": round(cpu_after.ru_utime + cpu_after.ru_stime - cpu_before.ru_utime - cpu_before.ru_stime, 2),
            "peak_rss": sampler.peak_rss, "steps": steps, "load_before": load_before, "load_after": load_line(),
            "finished": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def median_run(runs: List[Dict]) -> Dict:
    """The run with the median wall time (the lower median for an even count)."""
    ordered = sorted(runs, key=lambda r: r["wall"])
    return ordered[(len(ordered) - 1) // 2]


def group(results: List[Dict]) -> Dict[tuple, List[Dict]]:
    grouped: Dict[tuple, List[Dict]] = {}
    for result in results:
        # Records written before variants were recorded are the default variant.
        grouped.setdefault((result["rows"], result.get("variant", "default"), result["side"]), []).append(result)
    return grouped


def markdown(results: List[Dict]) -> str:
    grouped = group(results)
    configurations = sorted({(rows, args) for rows, args, _ in grouped})
    lines = ["| rows | variant | side | runs | total wall (s) | CPU (s) | peak RSS (MiB) | rows/s | "
             "wall Glassbox/plain | CPU Glassbox/plain | load before/after |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for rows, args in configurations:
        medians = {side: median_run(grouped[(rows, args, side)]) for side in SIDES if (rows, args, side) in grouped}
        for side, run in medians.items():
            runs = grouped[(rows, args, side)]
            walls = ", ".join(f"{r['wall']:.0f}" for r in runs) if len(runs) > 1 else ""
            ratio = cpu_ratio = ""
            if side == "glassbox" and "plain" in medians:
                ratio = f"{run['wall'] / medians['plain']['wall']:.2f}x"
                cpu_ratio = f"{run['cpu'] / medians['plain']['cpu']:.2f}x"
            lines.append(
                f"| {rows:,} | {args} | {side} | {len(runs)} | {run['wall']:.1f}"
                f"{f' ({walls})' if walls else ''} | {run['cpu']:.0f} | {mib(run['peak_rss'])} | "
                f"{rows / run['wall']:,.0f} | {ratio} | {cpu_ratio} | {run['load_before']} / {run['load_after']} |")
    lines += ["", "Per step (the median run of each side; seconds, then peak RSS of the process tree in MiB):", ""]
    columns = [(rows, args, side) for rows, args in configurations for side in SIDES if (rows, args, side) in grouped]
    header = [f"{rows:,} {side}{'' if args == 'default' else f' ({args})'}" for rows, args, side in columns]
    lines += ["| step | " + " | ".join(header) + " |", "|---|" + "---:|" * len(columns)]
    for step in (*STANDARD_STEPS, *GLASSBOX_STEPS):
        cells = []
        for key in columns:
            figures = median_run(grouped[key])["steps"].get(step)
            cells.append(f"{figures['seconds']:.1f} / {mib(figures['peak_rss'])}" if figures else "-")
        if any(cell != "-" for cell in cells):
            lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def read_results(path: Path) -> List[Dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--repeats", type=int,
                        help="runs per side at every size (default: 3 up to 10,000 rows, 1 above)")
    parser.add_argument("--explain", type=int, default=2_000, help="eval examples the Explainer explains at most")
    parser.add_argument("--beam-arg", action="append", default=[], dest="beam_args",
                        help="an extra Beam flag for both sides (repeatable)")
    parser.add_argument("--csv-files", type=int, default=1, help="the rows in this many CSV files (both sides)")
    parser.add_argument("--last-step", help="run up to this step only (e.g. CsvExampleGen)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--report", action="store_true", help="print the tables of the recorded results and exit")
    parser.add_argument("--child", choices=SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, action="append", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child_main(args.child, args.csv, args.out, args.explain, args.beam_args, args.last_step)
        return 0
    args.cache_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.cache_dir / RESULTS_FILE
    if not args.report:
        for rows in args.sizes:
            csv_paths = split_csv(ensure_csv(rows, args.seed, args.cache_dir)[0], args.csv_files)
            for repeat in range(args.repeats or (3 if rows <= 10_000 else 1)):
                for side in SIDES:
                    log_path = args.cache_dir / f"pipeline-{rows}-{side}-{args.csv_files}f-{repeat}.log"
                    result = measure(side, rows, csv_paths, args.explain, args.beam_args, args.last_step, log_path)
                    with open(results_path, "a") as f:
                        f.write(json.dumps(result) + "\n")
                    print(f"  {rows:,} rows, {side}: {result['wall']:.1f} s wall, {result['cpu']:.0f} CPU s, "
                          f"peak {mib(result['peak_rss'])} MiB", file=sys.stderr)
    print(f"{os.cpu_count()} CPUs; results from {results_path}\n")
    print(markdown(read_results(results_path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
