"""Privacy step throughput and memory: the component's Beam graph against plain pandas, same rows, same policy.

    python bench/privacy.py                  # 1,000,000 and 100,000 rows
    python bench/privacy.py --quick          # smoke run: 20,000 and 5,000 rows
    python bench/privacy.py --profile 5000   # the two passes' batched functions, step by step, outside Beam

Rows come from scripts/make_raw_data.py (seeded, cached under --cache-dir with the TFRecords made
from them, so a rerun skips both). Every measurement runs in a fresh process of its own while this
one samples the resident memory of that process and all its descendants (the Beam workers), so
no side pays for the other's heap or imports. Timing starts after the imports and ends when the
output is written; generating and converting the input are reported apart.

The sides, run one after the other at each size so their ratios come from the same minutes:
- Glassbox: `deidentify_splits`, the component's own two passes (measure and stage, check, release
  the staged batches), pass 1 on DirectRunner with two worker processes, reading gzipped tf.Example
  shards typed as CsvExampleGen types them.
- pandas: the component's own frame functions (frames.py, report.py) on the whole CSV read at once,
  writing a gzipped CSV and the same column report: what Glassbox spends beyond it goes to Beam, the
  tf.Example codecs and the release of the staged batches.
- pandas, release only: the same without the column counts and checks, for scale.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import json
import os
import platform
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Dict, Iterator, List

import psutil

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # this checkout's code, not an installed copy (the children get PYTHONPATH)
POLICY_FILE = REPO_ROOT / "schemas" / "german_credit" / "privacy_policy.yaml"
MAKE_RAW_DATA = REPO_ROOT / "scripts" / "make_raw_data.py"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "glassbox-bench-privacy"
SEED = 1994
KEY_ENV = "GLASSBOX_PSEUDONYM_KEY"  # the policy's key_env
BENCH_KEY = "glassbox-bench-key-not-a-secret"
BEAM_WORKERS = 2
BEAM_ARGS = ["--runner=DirectRunner", "--direct_running_mode=multi_processing",
             f"--direct_num_workers={BEAM_WORKERS}"]
SHARDS = 2 * BEAM_WORKERS  # several input files, as ExampleGen writes, so both workers get some to read
GZIP_LEVEL = 6  # zlib's default, the level Beam's gzip writer uses
SAMPLE_INTERVAL_S = 0.1
COLUMNS_FILE = "columns.json"  # the "columns" section of the privacy report
PANDAS_OUTPUT = "released.csv.gz"
BEAM_OUTPUT = "released"
INTEGER = re.compile(r"-?\d+")
# Holding every row in memory costs at least its serialized size: growth per row well below it is not that.
BOUNDED_SHARE_OF_ROW = 0.1


@dataclass(frozen=True)
class Side:
    name: str
    label: str
    cores: int


SIDES = (
    Side("glassbox", f"Glassbox (Beam, {BEAM_WORKERS} workers)", BEAM_WORKERS),
    Side("pandas", "pandas, same outputs", 1),
    Side("pandas-release", "pandas, release only", 1),
)
SIDE_BY_NAME = {side.name: side for side in SIDES}


@dataclass(frozen=True)
class Inputs:
    rows: int
    csv: Path
    records: Path
    generate_s: float | None  # None when taken from the cache
    convert_s: float | None


@dataclass
class Measurement:
    side: Side
    rows: int
    seconds: float
    peak_rss: int
    cpu_seconds: float
    rows_out: int
    column_report: Dict | None

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds

    @property
    def per_core(self) -> float:
        return self.rows_per_s / self.side.cores

    @property
    def per_cpu_second(self) -> float:
        """Rows per second of CPU used by the whole process tree: what a busy machine changes least."""
        return self.rows / self.cpu_seconds


# ---------------------------------------------------------------- inputs (cached, not timed)


def ensure_csv(rows: int, seed: int, cache: Path) -> tuple[Path, float | None]:
    """The generated CSV for (rows, seed); the script writes atomically, so an existing file is complete."""
    path = cache / f"raw-{rows}-seed{seed}.csv"
    if path.exists():
        return path, None
    start = time.perf_counter()
    subprocess.run([sys.executable, str(MAKE_RAW_DATA), "--rows", str(rows), "--seed", str(seed), "--out", str(path)],
                   check=True)
    return path, time.perf_counter() - start


def integer_columns(csv_path: Path) -> set:
    """Columns whose every non-empty cell is an integer: those CsvExampleGen writes as int64, the rest as bytes."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        candidates = set(range(len(header)))
        for cells in reader:
            candidates -= {i for i in candidates if cells[i] and not INTEGER.fullmatch(cells[i])}
    return {header[i] for i in candidates}


def typed_rows(csv_path: Path, integers: set) -> Iterator[Dict[str, Any]]:
    """Rows as the component sees them after CsvExampleGen: ints, strings, and None for an empty cell."""
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            yield {c: (int(v) if c in integers else v) if v else None for c, v in row.items()}


def ensure_records(csv_path: Path) -> tuple[Path, float | None]:
    """Gzipped tf.Example shards next to the CSV, written to a temporary directory and renamed when complete."""
    records = csv_path.with_suffix(".tfrecords")
    if records.exists():
        return records, None
    import tensorflow as tf

    from components.privacy.examples import row_to_example

    start = time.perf_counter()
    partial_dir = Path(tempfile.mkdtemp(dir=csv_path.parent))
    writers = [tf.io.TFRecordWriter(str(partial_dir / f"part-{i:05d}-of-{SHARDS:05d}.gz"), options="GZIP")
               for i in range(SHARDS)]
    for index, row in enumerate(typed_rows(csv_path, integer_columns(csv_path))):
        writers[index % SHARDS].write(row_to_example(row))
    for writer in writers:
        writer.close()
    partial_dir.rename(records)
    return records, time.perf_counter() - start


def prepare_inputs(rows: int, seed: int, cache: Path) -> Inputs:
    cache.mkdir(parents=True, exist_ok=True)
    csv_path, generate_s = ensure_csv(rows, seed, cache)
    records, convert_s = ensure_records(csv_path)
    return Inputs(rows, csv_path, records, generate_s, convert_s)


# ---------------------------------------------------------------- the two implementations (run in a child)


def load_bench_policy(csv_path: Path):
    from components.privacy.policy import load_key, load_policy

    with open(csv_path, newline="", encoding="utf-8") as f:
        columns = next(csv.reader(f))
    policy = load_policy(POLICY_FILE, columns)
    return policy, load_key(policy)


def run_glassbox(records: Path, out_dir: Path, policy) -> None:
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions

    from components.privacy.beam_pipeline import deidentify_splits

    report = deidentify_splits(lambda: beam.Pipeline(options=PipelineOptions(BEAM_ARGS)),
                               inputs={"train": str(records / "*")}, outputs={"train": str(out_dir / BEAM_OUTPUT)},
                               policy=policy, work_dir=str(out_dir / "work"))
    (out_dir / COLUMNS_FILE).write_text(json.dumps(report["columns"]))


def read_frame(csv_path: Path):
    """The rows as the component's frames hold them: ints, strings, and None (not NaN) for an empty cell."""
    import pandas as pd

    frame = pd.read_csv(csv_path, keep_default_na=False, na_values=[""])  # only an empty cell is missing
    for column in frame.select_dtypes(include="object").columns:
        frame[column] = frame[column].where(frame[column].notna(), None)
    return frame


def run_pandas(csv_path: Path, out_dir: Path, policy, key, with_report: bool) -> None:
    """The component's frame functions on the whole data at once: what is left of Glassbox's time is Beam's,
    the tf.Example codecs' and the release of the staged batches."""
    from components.privacy.frames import (
        class_stats,
        column_counts,
        deidentify_frame,
        unplaceable_values,
        without_classes,
    )
    from components.privacy.report import anonymity_report, check_aggregates

    frame = read_frame(csv_path)
    released = deidentify_frame(frame, policy, key)
    if with_report:
        unplaceable = {("train", column): found for column, found in unplaceable_values(frame, policy).items()}
        report, suppressed = check_aggregates(column_counts(frame, released, policy), class_stats(released, policy),
                                              policy, ["train"], unplaceable)
        (out_dir / COLUMNS_FILE).write_text(json.dumps(report["columns"]))
    else:
        _, suppressed = anonymity_report(class_stats(released, policy), policy)
    without_classes(released, policy, suppressed).to_csv(
        out_dir / PANDAS_OUTPUT, index=False, compression={"method": "gzip", "compresslevel": GZIP_LEVEL})


def child_main(args: argparse.Namespace) -> None:
    """One measurement: imports first, then the timed work, then the seconds and the CPU spent on imports."""
    policy, key = load_bench_policy(args.csv)
    if args.measure == "glassbox":
        # Beam and TensorFlow (through the examples module) are imported before the clock starts: in
        # the pipeline they are loaded long before the Privacy step runs.
        import components.privacy.beam_pipeline  # noqa: F401
        work = partial(run_glassbox, args.records, args.out, policy)
    else:
        import pandas  # noqa: F401
        work = partial(run_pandas, args.csv, args.out, policy, key, args.measure == "pandas")
    startup_cpu_s = time.process_time()
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
    (args.out / "result.json").write_text(json.dumps({"seconds": seconds, "startup_cpu_s": startup_cpu_s}))


# ---------------------------------------------------------------- measuring from the parent


class TreeSampler(threading.Thread):
    """Summed RSS of a process and its descendants (each sample and the peak) and their CPU seconds, every interval.

    Summing RSS counts a page shared by several processes (libraries, copy-on-write) once in each: an upper
    bound on the memory used, and as good as exact for how it grows with the rows.
    """

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self._root = psutil.Process(pid)
        self._done = threading.Event()
        self.peak_rss = 0
        self.samples: List[tuple] = []  # (seconds since the epoch, RSS of the tree)
        self.cpu_by_pid: Dict[int, float] = {}

    def run(self) -> None:
        while not self._done.is_set():
            self._sample()
            self._done.wait(SAMPLE_INTERVAL_S)

    def _sample(self) -> None:
        try:
            processes = [self._root, *self._root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        rss = 0
        for process in processes:
            try:
                with process.oneshot():
                    rss += process.memory_info().rss
                    cpu = process.cpu_times()
                    self.cpu_by_pid[process.pid] = cpu.user + cpu.system
            except psutil.NoSuchProcess:
                continue
        self.peak_rss = max(self.peak_rss, rss)
        self.samples.append((time.time(), rss))

    def __enter__(self) -> TreeSampler:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self.join()


def child_env() -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONWARNINGS="ignore")
    env[KEY_ENV] = BENCH_KEY
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def count_released(side: Side, out_dir: Path) -> int:
    if side.name == "glassbox":
        import numpy as np
        import tensorflow as tf

        files = sorted(str(p) for p in out_dir.glob(f"{BEAM_OUTPUT}*"))
        dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
        return int(dataset.reduce(np.int64(0), lambda n, _: n + 1))
    import pandas as pd

    return len(pd.read_csv(out_dir / PANDAS_OUTPUT, usecols=[0]))


def read_column_report(path: Path) -> Dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def measure(side: Side, inputs: Inputs, log_dir: Path) -> Measurement:
    log_path = log_dir / f"{side.name}-{inputs.rows}.log"
    with tempfile.TemporaryDirectory(prefix=f"{side.name}-") as out:
        out_dir = Path(out)
        command = [sys.executable, str(Path(__file__).resolve()), "--measure", side.name, "--csv", str(inputs.csv),
                   "--records", str(inputs.records), "--out", str(out_dir)]
        with open(log_path, "w") as log:
            child = subprocess.Popen(command, cwd=REPO_ROOT, env=child_env(), stdout=log, stderr=subprocess.STDOUT)
            with TreeSampler(child.pid) as sampler:
                code = child.wait()
        if code:
            raise SystemExit(f"{side.label} on {inputs.rows:,} rows failed with exit code {code}; see {log_path}")
        result = json.loads((out_dir / "result.json").read_text())
        return Measurement(
            side=side,
            rows=inputs.rows,
            seconds=result["seconds"],
            peak_rss=sampler.peak_rss,
            cpu_seconds=sum(sampler.cpu_by_pid.values()) - result["startup_cpu_s"],
            rows_out=count_released(side, out_dir),
            column_report=read_column_report(out_dir / COLUMNS_FILE),
        )


# ---------------------------------------------------------------- verdicts and the report


def output_problems(measurements: List[Measurement]) -> List[str]:
    """Where the sides disagree on one input: released row counts, and the per-column report where both wrote it."""
    problems = []
    rows_out = {m.side.label: m.rows_out for m in measurements}
    if len(set(rows_out.values())) > 1:
        problems.append(f"{measurements[0].rows:,} rows: released row counts differ: {rows_out}")
    reports = [m for m in measurements if m.column_report is not None]
    for other in reports[1:]:
        if other.column_report != reports[0].column_report:
            columns = sorted(c for c in set(other.column_report) | set(reports[0].column_report)
                             if other.column_report.get(c) != reports[0].column_report.get(c))
            problems.append(f"{measurements[0].rows:,} rows: column reports of {reports[0].side.label} and "
                            f"{other.side.label} differ in {', '.join(columns)}")
    return problems


def speed_line(glassbox: Measurement, pandas: Measurement, release_only: Measurement, target: float) -> str:
    ratio = pandas.per_core / glassbox.per_core
    verdict = "PASS" if ratio <= target else "FAIL"
    return (f"{glassbox.rows:,} rows, per core: {pandas.side.label} {pandas.per_core:,.0f} rows/s, Glassbox "
            f"{glassbox.per_core:,.0f} rows/s: Glassbox is {ratio:.2f}x slower per core "
            f"(target within {target:g}x): **{verdict}**. Per CPU-second used: "
            f"{pandas.per_cpu_second / glassbox.per_cpu_second:.2f}x. Against {release_only.side.label}: "
            f"{release_only.per_core / glassbox.per_core:.2f}x per core")


def steady_state_line(small: List[Measurement], big: List[Measurement]) -> str:
    """Throughput on the rows the larger size adds: fixed costs (worker start-up, imports on the workers) cancel.
    Per CPU-second too: on a shared machine the workers may not get the cores the per-core figure assumes."""

    def extra_rows_per(seconds) -> List[float]:
        return [(b.rows - a.rows) / (seconds(b) - seconds(a)) if seconds(b) > seconds(a) else float("nan")
                for a, b in zip(small, big)]

    rates = [rate / m.side.cores for m, rate in zip(small, extra_rows_per(lambda m: m.seconds))]
    cpu_rates = extra_rows_per(lambda m: m.cpu_seconds)
    described = ", ".join(f"{m.side.label} {rate:,.0f} rows/s per core" for m, rate in zip(small, rates))
    return (f"Steady state, on the {big[0].rows - small[0].rows:,} rows the larger size adds: {described}; "
            f"{rates[1] / rates[0]:.2f}x per core; per CPU-second {cpu_rates[0]:,.0f} and {cpu_rates[1]:,.0f} rows, "
            f"{cpu_rates[1] / cpu_rates[0]:.2f}x")


def memory_line(small: Measurement, big: Measurement, csv_bytes_per_row: float, judge: bool) -> str:
    growth = (big.peak_rss - small.peak_rss) / (big.rows - small.rows)
    line = (f"{big.side.label}: peak RSS {mib(small.peak_rss)} MiB at {small.rows:,} rows, {mib(big.peak_rss)} MiB at "
            f"{big.rows:,} (x{big.peak_rss / small.peak_rss:.2f} for x{big.rows / small.rows:g} rows); "
            f"{growth:,.0f} bytes more per extra row, against {csv_bytes_per_row:,.0f} bytes of CSV per row")
    if judge:
        bounded = growth < BOUNDED_SHARE_OF_ROW * csv_bytes_per_row
        line += f" (bounded, i.e. under {BOUNDED_SHARE_OF_ROW:.0%} of a row: **{'PASS' if bounded else 'FAIL'}**)"
    return line


def mib(size: int) -> str:
    return f"{size / 2**20:,.0f}"


def seconds_or_cached(seconds: float | None) -> str:
    return "cached" if seconds is None else f"{seconds:.1f} s"


def markdown_report(inputs: List[Inputs], measurements: List[Measurement], loads: tuple, target: float) -> str:
    import apache_beam
    import pandas

    lines = [
        f"Python {platform.python_version()}, Beam {apache_beam.__version__}, pandas {pandas.__version__}; "
        f"{os.cpu_count()} CPUs, load average {loads[0]:.1f} before and {loads[1]:.1f} after.",
        "",
        "| rows | implementation | cores | seconds | rows/s | rows/s per core | CPU busy (cores) "
        "| rows per CPU-s | peak RSS (MiB) | released rows |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in measurements:
        lines.append(f"| {m.rows:,} | {m.side.label} | {m.side.cores} | {m.seconds:.1f} | {m.rows_per_s:,.0f} "
                     f"| {m.per_core:,.0f} | {m.cpu_seconds / m.seconds:.2f} | {m.per_cpu_second:,.0f} "
                     f"| {mib(m.peak_rss)} | {m.rows_out:,} |")
    by_key = {(m.side.name, m.rows): m for m in measurements}
    small, big = inputs[0], inputs[-1]
    csv_bytes_per_row = big.csv.stat().st_size / big.rows
    lines.append("")
    for size in inputs:
        lines.append(f"- {speed_line(*(by_key[(side.name, size.rows)] for side in SIDES), target)}.")
    lines.append("- " + steady_state_line(*([by_key[(side.name, size.rows)] for side in SIDES[:2]]
                                             for size in (small, big))) + ".")
    for side in SIDES:
        pair = by_key[(side.name, small.rows)], by_key[(side.name, big.rows)]
        lines.append(f"- {memory_line(*pair, csv_bytes_per_row, judge=side.name == 'glassbox')}.")
    for size in inputs:
        lines.append(f"- Input of {size.rows:,} rows: generated {seconds_or_cached(size.generate_s)}, converted to "
                     f"{SHARDS} gzipped TFRecord shards {seconds_or_cached(size.convert_s)} (neither is timed above).")
    return "\n".join(lines)


def run_benchmark(sizes: List[int], seed: int, cache: Path, target: float) -> int:
    inputs = [prepare_inputs(rows, seed, cache) for rows in sorted(sizes)]
    log_dir = cache / "logs"
    log_dir.mkdir(exist_ok=True)
    load_before = os.getloadavg()[0]
    measurements = []
    for size in inputs:
        for side in SIDES:
            measurements.append(measure(side, size, log_dir))
            print(f"  {side.label}, {size.rows:,} rows: {measurements[-1].seconds:.1f} s", file=sys.stderr)
    print(markdown_report(inputs, measurements, (load_before, os.getloadavg()[0]), target))
    problems = [p for size in inputs for p in output_problems([m for m in measurements if m.rows == size.rows])]
    for problem in problems:
        print(f"MISMATCH: {problem}", file=sys.stderr)
    return 1 if problems else 0


# ---------------------------------------------------------------- profile of the batched work, outside Beam


def timed_per_row(label: str, step, items: list, rows: int) -> list:
    start = time.perf_counter()
    results = [step(item) for item in items]
    print(f"{(time.perf_counter() - start) / rows * 1e6:8.1f} us per row  {label}")
    return results


def profile(rows: int, seed: int, cache: Path, top: int = 15) -> None:
    """What the two passes do per row, step by step on the pipeline's batches and then under cProfile, outside Beam:
    pass 1's functions and staging, then pass 2's release of the staged files (with the classes the data suppresses)."""
    import pandas as pd

    from components.privacy.beam_pipeline import BATCH_SIZE
    from components.privacy.examples import row_to_example
    from components.privacy.frames import (
        class_stats,
        column_counts,
        deidentify_frame,
        equivalence_classes,
        examples_to_frame,
        frame_to_examples,
    )
    from components.privacy.report import anonymity_report
    from components.privacy.staging import STAGED_DIR, StagedFile, release_staged

    csv_path, _ = ensure_csv(rows, seed, cache)
    records = [row_to_example(row) for row in typed_rows(csv_path, integer_columns(csv_path))]
    batches = [records[start : start + BATCH_SIZE] for start in range(0, len(records), BATCH_SIZE)]
    os.environ[KEY_ENV] = BENCH_KEY
    policy, key = load_bench_policy(csv_path)
    work = Path(tempfile.mkdtemp())

    def measure(batch: list, staged: StagedFile) -> tuple:
        raw = examples_to_frame(batch)
        released = deidentify_frame(raw, policy, key)
        classes = equivalence_classes(released, policy)
        staged.write(frame_to_examples(released), classes)
        return column_counts(raw, released, policy), class_stats(released, policy, classes)

    def stage_all() -> list:
        staged = StagedFile(str(work / STAGED_DIR), "train")
        for batch in batches:
            measure(batch, staged)
        return [staged.close()]

    print(f"{len(records):,} rows in batches of {BATCH_SIZE:,}")

    def step(label: str, function, items: list = batches) -> list:
        return timed_per_row(label, function, items, len(records))

    raw = step("examples_to_frame (decode)", examples_to_frame)
    released = step("deidentify_frame", lambda frame: deidentify_frame(frame, policy, key), raw)
    step("column_counts", lambda pair: column_counts(*pair, policy), list(zip(raw, released)))
    classes = step("equivalence_classes", lambda frame: equivalence_classes(frame, policy), released)
    step("class_stats", lambda pair: class_stats(pair[0], policy, pair[1]), list(zip(released, classes)))
    examples = step("frame_to_examples (encode)", frame_to_examples, released)
    staged = StagedFile(str(work / "staged-alone"), "train")
    step("StagedFile.write (frame, gzip, index)", lambda pair: staged.write(*pair), list(zip(examples, classes)))
    staged.close()
    _, suppressed = anonymity_report(class_stats(pd.concat(released), policy), policy)
    rows_out = len(records) - sum(sum(group in suppressed for group in batch) for batch in classes)

    def release(manifest: list) -> None:
        release_staged(manifest, {"train": str(work / "released" / "data_tfrecord")}, suppressed, str(work), rows_out)

    manifest = step("pass 1, measure and stage: all of it", lambda _: stage_all(), [None])[0]
    step("pass 2, release the staged file", release, [manifest])
    profiler = cProfile.Profile()
    profiler.runcall(lambda: release(stage_all()))
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs()
    for order in ("tottime", "cumulative"):
        stats.sort_stats(order).print_stats(top)
    shutil.rmtree(work)


# ---------------------------------------------------------------- command line


def parse_args(argv: List[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="the large size (default 1,000,000)")
    parser.add_argument("--small-rows", type=int, default=100_000, help="the small size (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="smoke run on 20,000 and 5,000 rows")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE,
                        help=f"generated inputs and logs (default {DEFAULT_CACHE})")
    parser.add_argument("--target", type=float, default=2.0, help="Glassbox may be this many times slower per core")
    parser.add_argument("--profile", type=int, metavar="ROWS", help="only profile the per-row functions on ROWS rows")
    # One measurement in a child process, started by the parent.
    parser.add_argument("--measure", choices=sorted(SIDE_BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: List[str] | None = None) -> int:
    args = parse_args(argv)
    if args.measure:
        child_main(args)
        return 0
    if args.profile:
        profile(args.profile, args.seed, args.cache_dir)
        return 0
    sizes = [5_000, 20_000] if args.quick else [args.small_rows, args.rows]
    if sizes[0] >= sizes[1]:
        raise SystemExit("--small-rows must be less than --rows: memory growth is measured between the two")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return run_benchmark(sizes, args.seed, args.cache_dir, args.target)


if __name__ == "__main__":
    sys.exit(main())
