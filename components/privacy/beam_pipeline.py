"""The Privacy component's Beam work: two passes over the splits, and the decision between them.

Pass 1 (`build_measure_pipeline`) reads every split and keeps no row: it combines per-column counts
and, per equivalence class, its size and labels. Between the passes the aggregates are checked
against the policy (report.py), which fails closed before anything is written, or names the classes
to suppress. Pass 2 (`build_release_pipeline`) reads the splits again, de-identifies, drops those
classes (a set handed to the DoFn: a side input computed from the same rows would make the runner
hold every row until it is complete) and writes. Both passes stream batches of examples through
tfx_bsl's C++ coders and pandas (frames.py); memory depends on the batch, not on the data.

A value that a generalization cannot place (`abc` in a column whose bands measure k, because ExampleGen
typed the column as text; a date that is not ISO where the policy keeps the year) fails the run between the
passes, naming the policy field, the column, the split, how many rows and the value's shape, never the value
(actions.py). Privacy runs before the data contract, so it meets such values first, and it does not pass them
on: a stand-in (missing, or a marker) would hide the value, but would form an equivalence class of its own,
too small, whose rows suppression would remove without a word, so that bad data left the release disguised as
a privacy measure and k would be measured on values the policy does not describe. Pass 1 counts these values
instead of raising, so the run fails with one sentence whichever Beam runner, and nothing is written.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from typing import Callable, Dict, Set

import apache_beam as beam

from components.privacy.frames import (
    ClassStats,
    class_stats,
    column_counts,
    deidentify_frame,
    examples_to_frame,
    frame_to_examples,
    unplaceable_values,
    without_classes,
)
from components.privacy.policy import PrivacyPolicy, load_key, pseudonymizes
from components.privacy.report import check_aggregates

CLASSES_FILE = "classes.jsonl"
COLUMNS_FILE = "columns.jsonl"
UNPLACEABLE_FILE = "unplaceable.jsonl"
# Examples per batch: enough that the per-batch costs of Arrow and pandas vanish (both passes take 10-15% less
# time per row than with 1,000), few enough to stay small: about 2 MiB of records and 3.5 MiB per frame here.
BATCH_SIZE = 4000


def _read_batches(pipeline: beam.Pipeline, inputs: Dict[str, str]) -> Dict[str, beam.PCollection]:
    return {
        split: pipeline
        | f"Read[{split}]" >> beam.io.ReadFromTFRecord(pattern)
        | f"Batch[{split}]" >> beam.BatchElements(min_batch_size=BATCH_SIZE, max_batch_size=BATCH_SIZE)
        for split, pattern in sorted(inputs.items())
    }


class _Deidentify(beam.DoFn):
    """Applies the policy to batches of serialized examples. The key is read on the worker."""

    def __init__(self, policy: PrivacyPolicy):
        self._policy = policy

    def setup(self):
        self._key = load_key(self._policy) if pseudonymizes(self._policy) else None


class _Measure(_Deidentify):
    """(split, a batch) -> (column counts, class stats, unplaceable values by (split, column)); a batch holding
    values a generalization cannot place yields only those, and the check between the passes fails the run."""

    def process(self, element):
        split, records = element
        raw = examples_to_frame(records)
        unplaceable = unplaceable_values(raw, self._policy)
        if unplaceable:
            yield Counter(), {}, {(split, column): found for column, found in unplaceable.items()}
            return
        released = deidentify_frame(raw, self._policy, self._key)
        yield column_counts(raw, released, self._policy), class_stats(released, self._policy), {}


class _Release(_Deidentify):
    def __init__(self, policy: PrivacyPolicy, suppressed: Set[tuple]):
        super().__init__(policy)
        self._suppressed = suppressed

    def process(self, records):
        released = deidentify_frame(examples_to_frame(records), self._policy, self._key)
        yield from frame_to_examples(without_classes(released, self._policy, self._suppressed))


class _SumCounters(beam.CombineFn):
    def create_accumulator(self):
        return Counter()

    def add_input(self, accumulator, counts):
        accumulator.update(counts)
        return accumulator

    def merge_accumulators(self, accumulators):
        total = Counter()
        for counts in accumulators:
            total.update(counts)
        return total

    def extract_output(self, accumulator):
        return accumulator


class _ClassStats(beam.CombineFn):
    """Size and set of labels of one equivalence class, from the (size, labels) of each batch."""

    def create_accumulator(self):
        return 0, set()

    def add_input(self, accumulator, stats):
        return self.merge_accumulators([accumulator, stats])

    def merge_accumulators(self, accumulators):
        count, labels = 0, set()
        for other_count, other_labels in accumulators:
            count, labels = count + other_count, labels | other_labels
        return count, labels

    def extract_output(self, accumulator):
        return accumulator


def _rows_and_least_shape(found):
    """(rows, shape) pairs of one split and column, from its batches: the rows added up, the least shape."""
    rows, shapes = zip(*found)
    return sum(rows), min(shapes)


def build_measure_pipeline(pipeline: beam.Pipeline, *, inputs: Dict[str, str], policy: PrivacyPolicy,
                           work_dir: str) -> None:
    """Pass 1. `inputs`: split name -> file pattern (gzipped TFRecords); writes the aggregates of all splits."""
    measured = (
        [batches | f"Tag[{split}]" >> beam.Map(lambda records, split=split: (split, records))
         for split, batches in _read_batches(pipeline, inputs).items()]
        | "AllSplits" >> beam.Flatten()
        | "Measure" >> beam.ParDo(_Measure(policy))
    )
    _ = (
        measured
        | "ColumnCounts" >> beam.MapTuple(lambda counts, *_: counts)
        | "SumColumns" >> beam.CombineGlobally(_SumCounters())
        | "ColumnsToJson" >> beam.FlatMap(
            lambda counts: [json.dumps({"column": c, "measure": m, "value": v}) for (c, m), v in sorted(counts.items())]
        )
        | "WriteColumns" >> beam.io.WriteToText(os.path.join(work_dir, COLUMNS_FILE), shard_name_template="")
    )
    _ = (
        measured
        | "ClassesOfBatch" >> beam.FlatMapTuple(lambda _, stats, __: stats.items())
        | "ClassStats" >> beam.CombinePerKey(_ClassStats())
        | "ClassesToJson" >> beam.MapTuple(
            lambda group, stats: json.dumps({"class": list(group), "rows": stats[0],
                                             "labels": sorted(map(str, stats[1]))})
        )
        | "WriteClasses" >> beam.io.WriteToText(os.path.join(work_dir, CLASSES_FILE), shard_name_template="")
    )
    _ = (
        measured
        | "UnplaceableOfBatch" >> beam.FlatMapTuple(lambda _, __, unplaceable: unplaceable.items())
        | "Unplaceable" >> beam.CombinePerKey(_rows_and_least_shape)
        | "UnplaceableToJson" >> beam.MapTuple(
            lambda key, found: json.dumps({"split": key[0], "column": key[1], "rows": found[0], "shape": found[1]})
        )
        | "WriteUnplaceable" >> beam.io.WriteToText(os.path.join(work_dir, UNPLACEABLE_FILE), shard_name_template="")
    )


def build_release_pipeline(pipeline: beam.Pipeline, *, inputs: Dict[str, str], outputs: Dict[str, str],
                           policy: PrivacyPolicy, suppressed: Set[tuple]) -> None:
    """Pass 2. `outputs`: split name -> file prefix to write (gzipped TFRecords); `suppressed`: classes to drop."""
    for split, batches in _read_batches(pipeline, inputs).items():
        _ = (
            batches
            | f"Release[{split}]" >> beam.ParDo(_Release(policy, suppressed))
            | f"Write[{split}]" >> beam.io.WriteToTFRecord(outputs[split], file_name_suffix=".gz")
        )


def _read_lines(path: str) -> list:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_aggregates(work_dir: str) -> tuple[Counter, ClassStats, Dict]:
    """Pass 1's output: column counts keyed (column, measure), class stats keyed by the class tuple, and the
    values generalizations cannot place, (rows, shape) keyed (split, column)."""
    counts = Counter({(line["column"], line["measure"]): line["value"]
                      for line in _read_lines(os.path.join(work_dir, COLUMNS_FILE))})
    classes = {tuple(line["class"]): (line["rows"], set(line["labels"]))
               for line in _read_lines(os.path.join(work_dir, CLASSES_FILE))}
    unplaceable = {(line["split"], line["column"]): (line["rows"], line["shape"])
                   for line in _read_lines(os.path.join(work_dir, UNPLACEABLE_FILE))}
    return counts, classes, unplaceable


def deidentify_splits(make_pipeline: Callable[[], beam.Pipeline], *, inputs: Dict[str, str],
                      outputs: Dict[str, str], policy: PrivacyPolicy, work_dir: str) -> Dict:
    """Measures, checks, then releases: returns the privacy report, or raises PrivacyViolationError with nothing
    written (the aggregates in `work_dir` are removed before the checks). Splits are reported in `inputs`' order."""
    os.makedirs(work_dir, exist_ok=True)
    with make_pipeline() as pipeline:
        build_measure_pipeline(pipeline, inputs=inputs, policy=policy, work_dir=work_dir)
    counts, classes, unplaceable = read_aggregates(work_dir)
    shutil.rmtree(work_dir)
    report, suppressed = check_aggregates(counts, classes, policy, list(inputs), unplaceable)
    with make_pipeline() as pipeline:
        build_release_pipeline(pipeline, inputs=inputs, outputs=outputs, policy=policy, suppressed=suppressed)
    return report
