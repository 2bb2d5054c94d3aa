"""Explainer benchmark: our attribution methods against shap and against plain loops, side by side in one run.

1. Shapley values of the trained model on the same examples and background (the Explainer's own
   background: the train rows with the smallest content digests), against shap's KernelExplainer and
   PermutationExplainer called the way a TFX user would (a raw-feature matrix -> serialized
   tf.Examples -> `serving_default`). Ground truth: our `exact_shapley`. Each budgeted explainer is
   swept until its mean absolute error reaches the target.
2. Integrated gradients: our batched `attribute_integrated_gradients` against one GradientTape per
   example over the same steps and baseline, and its model FLOP/s against this machine's matmul peak.
3. The Explainer's Beam graph on DirectRunner (multi_processing) with 1 and then 2 workers.
4. LIME: ours against the `lime` package (LimeTabularExplainer, as its README uses it) on the same model,
   examples and background rows, each run with several seeds: seconds per example, stability, agreement with
   exact Shapley.

The machine is noisy: only ratios measured in the same run are compared. Reads the model and the
de-identified examples of the latest run recorded in `<output>/metadata.sqlite` (run `make run` first).

    .venv/bin/python bench/explainer.py [--output outputs] [--examples 20] [--background 50] [--quick] [--only NAME]
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import apache_beam as beam
import numpy as np
import pyarrow.parquet as pq
import shap
import tensorflow as tf
from apache_beam.options.pipeline_options import PipelineOptions

from components.explainer.beam_pipeline import build_explain_pipeline
from components.explainer.config import PER_EXAMPLE_METHODS, ExplainerConfig
from components.explainer.explain import example_digest, example_seeds
from components.explainer.methods import attribute_integrated_gradients, exact_shapley, lime, sampled_shapley
from components.explainer.methods.integrated_gradients import quadrature
from components.explainer.model import ExplainedModel
from components.explainer.quality import compare_with_reference, repeated_seed_stability
from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.records import mlmd

SPLITS = ("eval", "train", "test")  # eval first: the split the Explainer explains
SPEEDUP_TARGET = 30.0  # ours vs the fastest shap explainer, at equal error
BULK_EXAMPLES = 1000
BULK_SECONDS_TARGET = 30.0
BEAM_SPEEDUP_TARGET = 1.6
# TFRecord files are not splittable: DirectRunner hands each file to one worker, so a single file
# would keep the second worker idle. ExampleGen writes shards too.
BEAM_SHARDS = 4


@dataclass(frozen=True)
class Settings:
    examples: int
    background: int
    mae_target: float
    permutation_rounds: Tuple[int, ...]  # shap PermutationExplainer: max_evals = rounds x (2M + 1)
    standard_error_targets: Tuple[float, ...]  # our sampled_shapley
    bulk_examples: int
    matmul_size: int
    matmul_repeats: int
    beam_examples: int
    beam_warmup: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        quick = args.quick
        return cls(
            examples=args.examples or (3 if quick else 20),
            background=args.background,
            mae_target=args.mae_target,
            permutation_rounds=(1, 2, 4) if quick else tuple(2**k for k in range(9)),
            standard_error_targets=(4e-3, 2e-3) if quick else tuple(4e-3 / 2**k for k in range(7)),
            bulk_examples=100 if quick else BULK_EXAMPLES,
            matmul_size=1024 if quick else 2048,
            matmul_repeats=3 if quick else 10,
            beam_examples=args.beam_examples or (400 if quick else 20_000),
            beam_warmup=not quick,
        )


@dataclass
class Report:
    """Figures and target verdicts, printed as an aligned table and as Markdown."""

    rows: List[Tuple[str, str, str]] = field(default_factory=list)

    def add(self, measurement: str, value: str, detail: str = "") -> None:
        self.rows.append((measurement, value, detail))
        print(f"  {measurement}: {value}  {detail}", flush=True)

    def target(self, name: str, passed: bool | None, detail: str) -> None:
        self.add(f"target: {name}", {True: "PASS", False: "FAIL", None: "n/a"}[passed], detail)

    def print_tables(self) -> None:
        header = ("Measurement", "Value", "Detail")
        widths = [max(len(row[i]) for row in [header, *self.rows]) for i in range(3)]
        print()
        for row in [header, tuple("-" * w for w in widths), *self.rows]:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
        print("\nMarkdown:\n")
        for row in [header, ("---", "---:", "---"), *self.rows]:
            print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


@dataclass(frozen=True)
class Inputs:
    model: ExplainedModel
    model_dir: str
    saved_model: object  # the same SavedModel, loaded for its `serving_default` and its variables
    examples_uri: str
    splits: Dict[str, List[bytes]]
    background: List[bytes]


@dataclass(frozen=True)
class Point:
    """One setting of one Shapley explainer on the comparison examples."""

    explainer: str
    setting: str
    seconds_per_example: float
    mae: float


def timed(fn: Callable[[], object]) -> Tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def mean_absolute_error(values: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(values, dtype=np.float64) - exact)))


def take_cycled(records: Sequence[bytes], count: int) -> List[bytes]:
    """`count` records, repeating the sequence when it is shorter."""
    return [records[i % len(records)] for i in range(count)]


# ---------------------------------------------------------------- inputs


def find_artifacts(output_dir: Path) -> Tuple[str, str]:
    """(SavedModel dir, de-identified examples uri) of the latest run recorded in the output's MLMD."""
    config = PipelineConfig(output_dir=output_dir)
    if not config.metadata_path.exists():
        sys.exit(f"No metadata store at {config.metadata_path}: run `make run` first (or pass --output).")
    store = metadata.open_store(config)
    uris = {
        (node.node_id, key): artifacts[0].uri
        for node in mlmd.run_executions(store, config.pipeline_name)
        for key, artifacts in mlmd.output_artifacts(store, node.execution.id).items()
        if artifacts
    }
    model, examples = uris.get(("Trainer", "model")), uris.get(("Privacy", "deidentified_examples"))
    if not model or not examples:
        sys.exit(f"The latest run in {config.metadata_path} has no Trainer model or de-identified examples.")
    return os.path.join(model, "Format-Serving"), examples


def read_split(examples_uri: str, split: str) -> List[bytes]:
    files = sorted(glob.glob(os.path.join(examples_uri, f"Split-{split}", "*")))
    return [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def load_inputs(output_dir: Path, background_size: int) -> Inputs:
    model_dir, examples_uri = find_artifacts(output_dir)
    splits = {split: read_split(examples_uri, split) for split in SPLITS}
    # The Explainer's background: the train rows with the smallest content digests.
    background = sorted(splits["train"], key=example_digest)[:background_size]
    return Inputs(ExplainedModel(model_dir), model_dir, tf.saved_model.load(model_dir), examples_uri, splits,
                  background)


class ServingPredictor:
    """What a TFX user hands shap: raw-feature matrix [n, M] -> probability [n], through `serving_default`.

    shap's maskers keep masked rows in float arrays (the Permutation explainer's Tabular masker also
    compares values with np.isclose), so categorical values travel as their index in a category list
    and are turned back into strings here, when the tf.Examples are built.
    """

    def __init__(self, serving_fn, names: Sequence[str], records: Sequence[bytes]):
        self._serve = serving_fn
        self.names = list(names)
        # Columns the model ignores but parsing requires (e.g. the pseudonymous id) come from a template.
        self._template = tf.train.Example.FromString(records[0])
        features = self._template.features.feature
        self._kinds = [features[name].WhichOneof("kind") for name in self.names]
        self._categories = [
            sorted({v for r in records for v in tf.train.Example.FromString(r).features.feature[name].bytes_list.value})
            if kind == "bytes_list" else None
            for name, kind in zip(self.names, self._kinds)
        ]

    def encode(self, records: Sequence[bytes]) -> np.ndarray:
        rows = []
        for record in records:
            features = tf.train.Example.FromString(record).features.feature
            rows.append([
                categories.index(features[name].bytes_list.value[0]) if categories is not None
                else getattr(features[name], kind).value[0]
                for name, kind, categories in zip(self.names, self._kinds, self._categories)
            ])
        return np.array(rows, dtype=np.float64)

    def _feature(self, column: int, value: float) -> tf.train.Feature:
        kind, categories = self._kinds[column], self._categories[column]
        if categories is not None:
            return tf.train.Feature(bytes_list=tf.train.BytesList(value=[categories[int(value)]]))
        if kind == "int64_list":
            return tf.train.Feature(int64_list=tf.train.Int64List(value=[int(round(value))]))
        return tf.train.Feature(float_list=tf.train.FloatList(value=[float(value)]))

    def serialize(self, matrix: np.ndarray) -> List[bytes]:
        records = []
        for row in np.asarray(matrix):
            example = tf.train.Example()
            example.CopyFrom(self._template)
            for column, (name, value) in enumerate(zip(self.names, row)):
                example.features.feature[name].CopyFrom(self._feature(column, value))
            records.append(example.SerializeToString())
        return records

    def __call__(self, matrix: np.ndarray) -> np.ndarray:
        probability = self._serve(examples=tf.constant(self.serialize(matrix)))["probability"]
        return probability.numpy().reshape(-1).astype(np.float64)


# ---------------------------------------------------------------- 1. Shapley against shap


def sweep(
    explainer: str, knob: str, budgets: Sequence, run: Callable[[object], np.ndarray], examples: int,
    exact: np.ndarray, mae_target: float, give_up_seconds: float,
) -> List[Point]:
    """Points of growing budget until the error reaches the target, or one example costs more than `give_up_seconds`
    (beyond that the explainer cannot be the fastest at equal error)."""
    points = []
    for budget in budgets:
        values, seconds = timed(lambda budget=budget: run(budget))
        points.append(Point(explainer, f"{knob}={budget:g}", seconds / examples, mean_absolute_error(values, exact)))
        if points[-1].mae <= mae_target or points[-1].seconds_per_example > give_up_seconds:
            break
    return points


def measure_exact(model: ExplainedModel, dense: np.ndarray, background: np.ndarray):
    exact_shapley(model.predict_fn, dense[:1], background, model.blocks)  # warm-up
    return timed(lambda: exact_shapley(model.predict_fn, dense, background, model.blocks))


def measure_kernel(predict: ServingPredictor, x: np.ndarray, background: np.ndarray, exact: np.ndarray) -> Point:
    players = x.shape[1]
    explainer = shap.KernelExplainer(predict, background)
    explainer.shap_values(x[:1], nsamples=2 * players + 2, silent=True)  # warm-up
    # 2^M asks for every coalition (shap caps it at 2^M - 2 plus the empty and full ones): exact.
    values, seconds = timed(lambda: explainer.shap_values(x, nsamples=2**players, silent=True))
    return Point("shap KernelExplainer", f"nsamples={2**players}", seconds / len(x), mean_absolute_error(values, exact))


def measure_permutation(
    predict: ServingPredictor, x: np.ndarray, background: np.ndarray, exact: np.ndarray,
    settings: Settings, give_up_seconds: float,
) -> List[Point]:
    masker = shap.maskers.Independent(background, max_samples=len(background))
    evals_per_round = 2 * x.shape[1] + 1  # one permutation forward and backward

    def run(max_evals: int, rows: np.ndarray = x) -> np.ndarray:
        explainer = shap.PermutationExplainer(predict, masker, seed=0)
        return explainer(rows, max_evals=max_evals, silent=True).values

    run(evals_per_round, x[:1])  # warm-up
    budgets = [rounds * evals_per_round for rounds in settings.permutation_rounds]
    return sweep("shap PermutationExplainer", "max_evals", budgets, run, len(x), exact, settings.mae_target,
                 give_up_seconds)


def measure_sampled(
    model: ExplainedModel, dense: np.ndarray, background: np.ndarray, exact: np.ndarray,
    settings: Settings, give_up_seconds: float,
) -> List[Point]:
    def run(target: float) -> np.ndarray:
        return sampled_shapley(model.predict_fn, dense, background, model.blocks, max_permutations=1 << 16,
                               target_standard_error=target, seed=0).attributions

    run(settings.standard_error_targets[0])  # warm-up
    return sweep("ours sampled_shapley", "target_standard_error", settings.standard_error_targets, run, len(dense),
                 exact, settings.mae_target, give_up_seconds)


def fastest_within(points: Sequence[Point], mae_target: float) -> Point | None:
    reached = [p for p in points if p.mae <= mae_target]
    return min(reached, key=lambda p: p.seconds_per_example) if reached else None


def report_points(report: Report, points: Sequence[Point], mae_target: float) -> None:
    for p in points:
        reached = "reached" if p.mae <= mae_target else "above"
        report.add(f"{p.explainer} ({p.setting})", f"{p.seconds_per_example:.4f} s/example",
                   f"MAE {p.mae:.2e} ({reached} target {mae_target:g})")


def report_unreached(report: Report, points: Sequence[Point], exact: Point, mae_target: float) -> None:
    """When a sweep stopped above the target: why, and the cost its last point extrapolates to.

    Both sampling methods' errors fall as budget^-1/2 and their cost grows with the budget, so reaching the
    target costs about (MAE / target)^2 times the last point. An estimate, never used for a verdict.
    """
    last = points[-1]
    if last.mae <= mae_target:
        return
    slower = last.seconds_per_example > exact.seconds_per_example
    why = f"already slower than {exact.explainer}, which is exact" if slower else "end of the sweep"
    estimate = last.seconds_per_example * (last.mae / mae_target) ** 2
    report.add(f"{last.explainer}: target not reached", f"~{estimate:.3f} s/example",
               f"extrapolated from {last.setting}, where it stopped ({why})")


def shapley_against_shap(inputs: Inputs, settings: Settings, report: Report) -> None:
    model = inputs.model
    records = take_cycled(inputs.splits["eval"], settings.examples)
    dense, background_dense = model.dense(records), model.dense(inputs.background)
    predict = ServingPredictor(inputs.saved_model.signatures["serving_default"], model.feature_names,
                               [r for split in SPLITS for r in inputs.splits[split]])
    x, background_raw = predict.encode(records), predict.encode(inputs.background)
    print(f"Shapley: {len(records)} eval examples, {len(background_raw)} background rows, "
          f"{len(model.feature_names)} raw features", flush=True)

    exact, exact_seconds = measure_exact(model, dense, background_dense)
    predict(background_raw)  # warm-up of the serving signature
    report.add("serving wrapper vs predict_from_features", f"{np.abs(predict(x) - exact.prediction).max():.1e}",
               "max |difference| of the predictions (same model, two signatures)")
    ours_exact = Point("ours exact_shapley", "2^M coalitions", exact_seconds / len(records), 0.0)
    kernel = measure_kernel(predict, x, background_raw, exact.attributions)
    permutation = measure_permutation(predict, x, background_raw, exact.attributions, settings,
                                      give_up_seconds=kernel.seconds_per_example)
    sampled = measure_sampled(model, dense, background_dense, exact.attributions, settings,
                              give_up_seconds=ours_exact.seconds_per_example)
    report_points(report, [ours_exact, *sampled, kernel, *permutation], settings.mae_target)

    ours = fastest_within([ours_exact, *sampled], settings.mae_target)
    theirs = fastest_within([kernel, *permutation], settings.mae_target)
    report_unreached(report, sampled, ours_exact, settings.mae_target)
    report_unreached(report, permutation, kernel, settings.mae_target)
    target = f"≥ {SPEEDUP_TARGET:g}× faster than the fastest shap explainer at equal error"
    if theirs is None:
        report.target(target, False, "no shap explainer reached the error target")
        return
    ratio = theirs.seconds_per_example / ours.seconds_per_example
    report.add("speed-up at equal error", f"{ratio:.1f}×",
               f"{ours.explainer} vs {theirs.explainer} ({theirs.setting}), MAE ≤ {settings.mae_target:g}")
    report.target(target, ratio >= SPEEDUP_TARGET, f"{ratio:.1f}×")


def bulk_examples(inputs: Inputs, count: int) -> List[bytes]:
    """`count` examples: the eval split, then the other splits, repeated when they are fewer."""
    return take_cycled([r for split in SPLITS for r in inputs.splits[split]], count)


def exact_shapley_bulk(inputs: Inputs, settings: Settings, report: Report) -> None:
    model = inputs.model
    dense, background = model.dense(bulk_examples(inputs, settings.bulk_examples)), model.dense(inputs.background)
    _, one_seconds = measure_exact(model, dense[:1], background)
    _, seconds = measure_exact(model, dense, background)
    report.add("exact Shapley, 1 example (per-call fixed cost)", f"{one_seconds:.3f} s")
    report.add(f"exact Shapley, {len(dense)} examples × {len(background)} background rows", f"{seconds:.2f} s",
               f"{len(dense) / seconds:.0f} examples/s")
    name = f"exact Shapley of {BULK_EXAMPLES} examples in < {BULK_SECONDS_TARGET:g} s"
    if len(dense) == BULK_EXAMPLES:
        report.target(name, seconds < BULK_SECONDS_TARGET, f"{seconds:.2f} s")
    else:
        report.target(name, None, f"--quick: {len(dense)} examples only")


# ---------------------------------------------------------------- 2. Integrated gradients


def ig_per_example_loop(model: ExplainedModel, dense: np.ndarray, baseline: np.ndarray, steps: np.ndarray,
                        rule: str) -> np.ndarray:
    """The straightforward version: one GradientTape per example over its own interpolation points."""
    attributions = np.zeros(dense.shape)
    for i, (x, example_steps) in enumerate(zip(dense, steps)):
        nodes, weights = quadrature(rule, int(example_steps))
        points = tf.constant(baseline + nodes[:, np.newaxis].astype(np.float32) * (x - baseline))
        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = model.predict_fn(points)
        gradients = tape.gradient(scores, points).numpy()
        attributions[i] = (x - baseline) * (weights @ gradients)
    return attributions


def path_rows(steps_used: np.ndarray, first: int, last: int) -> int:
    """Rows the adaptive quadrature ran through forward and backward: every pass of doubling steps an example took."""
    total = 0
    for used in steps_used:
        steps = first
        while True:
            total += steps + 1  # the trapezoid rule evaluates steps + 1 points
            if steps >= used or steps >= last:
                break
            steps = min(2 * steps, last)
    return total


def dense_flops_per_row(predict_signature) -> int:
    """Forward multiply-add FLOPs of one row: 2 x in x out per Dense kernel."""
    return sum(2 * v.shape[0] * v.shape[1] for v in predict_signature.variables if "kernel" in v.name)


def matmul_peak(size: int, repeats: int) -> float:
    """This machine's float32 matmul FLOP/s: the best of `repeats` size x size products."""
    a, b = tf.random.normal([size, size]), tf.random.normal([size, size])
    tf.linalg.matmul(a, b).numpy()  # warm-up
    best = min(timed(lambda: tf.linalg.matmul(a, b).numpy())[1] for _ in range(repeats))
    return 2 * size**3 / best


def integrated_gradients(inputs: Inputs, settings: Settings, report: Report) -> None:
    model, config = inputs.model, ExplainerConfig()
    dense = model.dense(bulk_examples(inputs, settings.bulk_examples))
    baseline = model.dense(inputs.background).mean(axis=0).astype(np.float32)  # the "mean" baseline

    def batched(rows):
        return attribute_integrated_gradients(model.predict_fn, rows, baseline, steps=config.ig_steps,
                                              rule=config.ig_rule, tolerance=config.ig_tolerance,
                                              max_steps=config.ig_max_steps)

    batched(dense[:8])  # warm-up
    ig, ours_seconds = timed(lambda: batched(dense))
    ig_per_example_loop(model, dense[:1], baseline, ig.steps[:1], config.ig_rule)  # warm-up
    loop, loop_seconds = timed(lambda: ig_per_example_loop(model, dense, baseline, ig.steps, config.ig_rule))

    within = float(np.mean(ig.completeness_error <= config.ig_tolerance))
    report.add(f"IG batched, {len(dense)} examples", f"{len(dense) / ours_seconds:.0f} examples/s",
               f"{config.ig_rule}, {config.ig_steps} steps doubling to ≤ {config.ig_max_steps}, "
               f"{within:.0%} within completeness {config.ig_tolerance:g}, mean steps {ig.steps.mean():.0f}")
    report.add("IG per-example GradientTape loop", f"{len(dense) / loop_seconds:.0f} examples/s",
               f"same steps per example; max |Δ attribution| {np.abs(loop - ig.attributions).max():.1e}")
    report.add("IG speed-up (batched vs loop)", f"{loop_seconds / ours_seconds:.1f}×")

    per_row = dense_flops_per_row(inputs.saved_model.signatures["predict_from_features"])
    # Forward+backward through the path points (~3x forward), forward only for f(x) and f(baseline).
    flops = 3 * per_row * path_rows(ig.steps, config.ig_steps, config.ig_max_steps) + per_row * 2 * len(dense)
    peak = matmul_peak(settings.matmul_size, settings.matmul_repeats)
    report.add(f"float32 matmul peak ({settings.matmul_size}²)", f"{peak / 1e9:.1f} GFLOP/s")
    report.add("IG batched, achieved model FLOP/s", f"{flops / ours_seconds / 1e9:.2f} GFLOP/s",
               f"{flops / ours_seconds / peak:.1%} of peak; {per_row} FLOPs per row forward")


# ---------------------------------------------------------------- 3. Beam scaling


def write_shards(records: Sequence[bytes], shards: int, directory: str) -> str:
    """Gzipped TFRecord shards, as ExampleGen writes them; returns their glob pattern."""
    for shard in range(shards):
        path = os.path.join(directory, f"data_tfrecord-{shard:05d}-of-{shards:05d}.gz")
        with tf.io.TFRecordWriter(path, options="GZIP") as writer:
            for record in records[shard::shards]:
                writer.write(record)
    return os.path.join(directory, "data_tfrecord-*")


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (DirectRunner's worker processes)."""
    return sum(u.ru_utime + u.ru_stime for u in map(resource.getrusage, (resource.RUSAGE_SELF,
                                                                          resource.RUSAGE_CHILDREN)))


def run_explain_pipeline(inputs: Inputs, config: ExplainerConfig, examples_pattern: str, workers: int,
                         scratch: str) -> Tuple[float, float, int]:
    """(wall seconds, busy cores, attribution rows written) of one DirectRunner run of the Explainer's graph."""
    model = inputs.model
    slice_names = [s for s in config.slice_features if s in set(model.feature_names) | set(model.slice_key_names)]
    output = tempfile.mkdtemp(dir=scratch)
    options = PipelineOptions(["--runner=DirectRunner", "--direct_running_mode=multi_processing",
                               f"--direct_num_workers={workers}"])
    cpu_before, start = cpu_seconds(), time.perf_counter()
    with beam.Pipeline(options=options) as pipeline:
        build_explain_pipeline(
            pipeline, examples_pattern=examples_pattern,
            background_pattern=os.path.join(inputs.examples_uri, "Split-train", "*"),
            model_dir=inputs.model_dir, config=config, feature_names=model.feature_names, slice_names=slice_names,
            output_dir=output, work_dir=os.path.join(output, "_work"),
        )
    seconds = time.perf_counter() - start
    busy = (cpu_seconds() - cpu_before) / seconds
    return seconds, busy, pq.read_table(os.path.join(output, "attributions")).num_rows


def beam_scaling(inputs: Inputs, settings: Settings, report: Report) -> None:
    config = ExplainerConfig(methods=list(PER_EXAMPLE_METHODS), background_size=settings.background)
    with tempfile.TemporaryDirectory(prefix="glassbox-bench-") as scratch:
        examples = take_cycled(inputs.splits["eval"], settings.beam_examples)
        pattern = write_shards(examples, BEAM_SHARDS, tempfile.mkdtemp(dir=scratch))
        print(f"Beam: {len(examples)} examples in {BEAM_SHARDS} shards, methods {config.methods}", flush=True)
        if settings.beam_warmup:
            warmup = write_shards(examples[:500], 1, tempfile.mkdtemp(dir=scratch))
            run_explain_pipeline(inputs, config, warmup, 1, scratch)
        results = {workers: run_explain_pipeline(inputs, config, pattern, workers, scratch) for workers in (1, 2)}
    for workers, (seconds, busy, rows) in results.items():
        report.add(f"Beam Explainer, {len(examples)} examples, {workers} worker(s)", f"{seconds:.1f} s",
                   f"{len(examples) / seconds:.0f} examples/s, {busy:.1f} cores busy, {rows} rows written")
    speedup = results[1][0] / results[2][0]
    report.add("Beam speed-up (2 workers vs 1)", f"{speedup:.2f}×")
    report.target(f"Beam 2 workers ≥ {BEAM_SPEEDUP_TARGET:g}× 1 worker", speedup >= BEAM_SPEEDUP_TARGET,
                  f"{speedup:.2f}× on {os.cpu_count()} cores")


# ----------------------------------------------------------------


# ---------------------------------------------------------------- 4. LIME against the lime package

LIME_REPEATS = 5
LIME_TOP_K = 3


def lime_against_lime_package(inputs: Inputs, settings: Settings, report: Report) -> None:
    """Both LIMEs run LIME_REPEATS times with other seeds on the same examples. lime's coefficients are on its own
    representation (quartile bins of numerics, category indicators), ours on keep/replace switches, so only figures
    without units are compared: the spread of each attribution over the runs relative to the mean |attribution|,
    Visani et al.'s VSI of the top LIME_TOP_K features, and the correlation with exact Shapley values. The lime
    package is in the bench extra only, not in the locks: without it, this is skipped."""
    try:
        from lime.lime_tabular import LimeTabularExplainer
    except ImportError:
        report.add("LIME against the lime package", "skipped", "pip install lime==0.2.0.1 (pyproject's bench extra)")
        return
    model = inputs.model
    records = take_cycled(inputs.splits["eval"], settings.examples)
    dense, background_dense = model.dense(records), model.dense(inputs.background)
    config = ExplainerConfig()
    exact = exact_shapley(model.predict_fn, dense, background_dense, model.blocks).attributions

    def ours(seed: int):
        return lime(model.predict_fn, dense, background_dense, model.blocks, samples=config.lime_samples,
                    kernel_width=config.lime_kernel_width, ridge_alpha=config.lime_ridge_alpha,
                    seed=example_seeds(seed, dense, records))

    ours(0)  # warm-up
    ours_runs, ours_seconds = timed(lambda: [ours(seed) for seed in range(LIME_REPEATS)])
    ours_values = np.stack([run.attributions for run in ours_runs])
    ours_stability = repeated_seed_stability(ours_values, np.stack([run.standard_errors for run in ours_runs]),
                                             LIME_TOP_K)

    predict = ServingPredictor(inputs.saved_model.signatures["serving_default"], model.feature_names,
                               [r for split in SPLITS for r in inputs.splits[split]])
    x, background_raw = predict.encode(records), predict.encode(inputs.background)
    categorical = [j for j, feature in enumerate(model.features) if feature["kind"] == "categorical"]
    players = len(model.feature_names)

    def probabilities(matrix: np.ndarray) -> np.ndarray:
        positive = predict(matrix)
        return np.stack([1 - positive, positive], axis=1)

    def theirs(seed: int) -> np.ndarray:
        explainer = LimeTabularExplainer(background_raw, feature_names=model.feature_names,
                                         categorical_features=categorical, mode="classification", random_state=seed)
        values = np.zeros((len(x), players))
        for i, row in enumerate(x):
            for j, weight in explainer.explain_instance(row, probabilities, num_features=players,
                                                        labels=(1,)).local_exp[1]:
                values[i, j] = weight
        return values

    theirs_values, theirs_seconds = timed(lambda: np.stack([theirs(seed) for seed in range(LIME_REPEATS)]))
    theirs_stability = repeated_seed_stability(theirs_values, np.zeros_like(theirs_values), LIME_TOP_K)
    print(f"LIME: {len(records)} eval examples x {LIME_REPEATS} seeds", flush=True)
    for name, seconds, stability, values in (("ours", ours_seconds, ours_stability, ours_values),
                                             ("lime package", theirs_seconds, theirs_stability, theirs_values)):
        agreement = compare_with_reference(values[0], exact, LIME_TOP_K)
        report.add(f"LIME {name}: seconds per example", f"{seconds / (LIME_REPEATS * len(records)):.4f} s")
        report.add(f"LIME {name}: relative spread over seeds", f"{stability['relative_spread']:.4f}",
                   "mean standard deviation of an attribution over the runs / mean |attribution|")
        report.add(f"LIME {name}: VSI (top {LIME_TOP_K})", f"{stability['vsi']:.1f}",
                   f"min over examples {stability['vsi_min']:.1f}")
        report.add(f"LIME {name}: correlation with exact Shapley", f"{agreement['correlation']:.3f}",
                   f"precision@{LIME_TOP_K} {agreement['precision_at_k']:.2f}")
    report.add("LIME ours: CSI", f"{ours_stability['csi']:.1f}", "coefficient intervals that overlap between runs")


MEASURES = ("shapley_against_shap", "exact_shapley_bulk", "integrated_gradients", "beam_scaling",
            "lime_against_lime_package")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("outputs"),
                        help="the pipeline's output dir, holding metadata.sqlite (default: outputs)")
    parser.add_argument("--examples", type=int, default=0,
                        help="eval examples for the shap comparison (default 20, 3 with --quick)")
    parser.add_argument("--background", type=int, default=50, help="background rows from the train split")
    parser.add_argument("--mae-target", type=float, default=1e-3,
                        help="mean absolute error against exact Shapley at which speeds are compared")
    parser.add_argument("--beam-examples", type=int, default=0,
                        help="examples for the Beam scaling run (default 20000, 400 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: few examples, short sweeps")
    parser.add_argument("--only", choices=MEASURES, action="append", help="run only this measurement (repeatable)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    tf.get_logger().setLevel("ERROR")  # our methods build a tf.function per call: retracing warnings are expected
    settings = Settings.from_args(args)
    inputs = load_inputs(args.output, settings.background)
    print(f"Model {inputs.model_dir}; {os.cpu_count()} CPU cores; TF {tf.__version__}, shap {shap.__version__}, "
          f"Beam {beam.__version__}", flush=True)
    report = Report()
    for name in args.only or MEASURES:
        measure = globals()[name]
        print(f"\n== {measure.__name__}", flush=True)
        measure(inputs, settings, report)
    report.print_tables()


if __name__ == "__main__":
    main()
