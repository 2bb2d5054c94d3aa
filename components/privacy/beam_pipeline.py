"""The Privacy component's work: two passes over the splits, and the decision between them.

Pass 1 (`build_measure_pipeline`, the one Beam pipeline) reads every split once and keeps no row: it combines
per-column counts and, per equivalence class, its size and labels, and stages the released batches, encoded as they
will be written, in the work folder (staging.py). Between the passes the aggregates are checked against the policy
(report.py), which fails closed, or names the classes to suppress. Only then does pass 2 (`staging.release_staged`)
move the staged files into the outputs, leaving out the rows of those classes by the class index staged beside them:
no example is decoded or de-identified twice. The work folder lies in the report artifact, is cleared before pass 1
and removed after pass 2 or any failure, so a run that fails its checks leaves nothing where an artifact or a
downstream step could read it. Pass 1 reads each input file a batch at a time (components/tfrecords.py) and streams the
batches through tfx_bsl's C++ coders and pandas (frames.py); memory in either pass depends on the batch, not on the
data.

Pass 2 is file IO and gzip only, so it runs in the executor's process instead of a second Beam pipeline, which on
DirectRunner cost more to start (worker processes, imports) than the release itself. On a distributed runner the work
folder is under the artifact's URI, where the workers write and the executor reads (gs:// on Dataflow); a release
without suppression is then a server-side rename per staged file, and one with suppression streams the staged data
through the executor's machine once (decompress, drop rows, compress).

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
from collections import Counter
from typing import Callable, Dict

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindows

from components.privacy.frames import (
    ClassStats,
    class_stats,
    column_counts,
    deidentify_frame,
    equivalence_classes,
    examples_to_frame,
    frame_to_examples,
    unplaceable_values,
)
from components.privacy.policy import PrivacyPolicy, load_key, pseudonymizes
from components.privacy.report import check_aggregates
from components.privacy.staging import STAGED_DIR, StagedFile, release_staged, remove_folder
from components.tfrecords import ReadRecordBatches

CLASSES_FILE = "classes.jsonl"
COLUMNS_FILE = "columns.jsonl"
UNPLACEABLE_FILE = "unplaceable.jsonl"
MANIFEST_FILE = "staged.jsonl"
STAGED = "staged"  # the tag of pass 1's manifest lines
# Examples per batch: enough that the per-batch costs of Arrow and pandas vanish (both passes take 10-15% less
# time per row than with 1,000), few enough to stay small: about 2 MiB of records and 3.5 MiB per frame here.
BATCH_SIZE = 4000


class _Deidentify(beam.DoFn):
    """Applies the policy to batches of serialized examples. The key is read on the worker."""

    def __init__(self, policy: PrivacyPolicy):
        self._policy = policy

    def setup(self):
        self._key = load_key(self._policy) if pseudonymizes(self._policy) else None


class _Measure(_Deidentify):
    """(split, a batch) -> (column counts, class stats, unplaceable values by (split, column)), with the released
    batch appended to the bundle's staged file of its split; at the end of the bundle, the manifest line of each staged
    file (tagged STAGED). A batch holding values a generalization cannot place yields only those, and the check
    between the passes fails the run."""

    def __init__(self, policy: PrivacyPolicy, staged_dir: str):
        super().__init__(policy)
        self._staged_dir = staged_dir

    def start_bundle(self):
        self._staged: Dict[str, StagedFile] = {}

    def process(self, element):
        split, records = element
        raw = examples_to_frame(records)
        unplaceable = unplaceable_values(raw, self._policy)
        if unplaceable:
            yield Counter(), {}, {(split, column): found for column, found in unplaceable.items()}
            return
        released = deidentify_frame(raw, self._policy, self._key)
        classes = equivalence_classes(released, self._policy)
        if split not in self._staged:
            self._staged[split] = StagedFile(self._staged_dir, split)
        self._staged[split].write(frame_to_examples(released), classes)
        yield column_counts(raw, released, self._policy), class_stats(released, self._policy, classes), {}

    def finish_bundle(self):
        for staged in self._staged.values():
            yield beam.pvalue.TaggedOutput(STAGED, GlobalWindows.windowed_value(staged.close()))


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
    """Pass 1. `inputs`: split name -> file pattern (gzipped TFRecords); writes the aggregates of all splits, and the
    released batches with the manifest that names them (staging.py)."""
    measured, staged = (
        pipeline
        | "Read" >> ReadRecordBatches(inputs, BATCH_SIZE, "Privacy")
        | "Measure" >> beam.ParDo(_Measure(policy, FileSystems.join(work_dir, STAGED_DIR))).with_outputs(
            STAGED, main="measured")
    )
    _ = (
        staged
        | "StagedToJson" >> beam.Map(json.dumps)
        | "WriteManifest" >> beam.io.WriteToText(FileSystems.join(work_dir, MANIFEST_FILE), shard_name_template="")
    )
    _ = (
        measured
        | "ColumnCounts" >> beam.MapTuple(lambda counts, *_: counts)
        | "SumColumns" >> beam.CombineGlobally(_SumCounters())
        | "ColumnsToJson" >> beam.FlatMap(
            lambda counts: [json.dumps({"column": c, "measure": m, "value": v}) for (c, m), v in sorted(counts.items())]
        )
        | "WriteColumns" >> beam.io.WriteToText(FileSystems.join(work_dir, COLUMNS_FILE), shard_name_template="")
    )
    _ = (
        measured
        | "ClassesOfBatch" >> beam.FlatMapTuple(lambda _, stats, __: stats.items())
        | "ClassStats" >> beam.CombinePerKey(_ClassStats())
        | "ClassesToJson" >> beam.MapTuple(
            lambda group, stats: json.dumps({"class": list(group), "rows": stats[0],
                                             "labels": sorted(map(str, stats[1]))})
        )
        | "WriteClasses" >> beam.io.WriteToText(FileSystems.join(work_dir, CLASSES_FILE), shard_name_template="")
    )
    _ = (
        measured
        | "UnplaceableOfBatch" >> beam.FlatMapTuple(lambda _, __, unplaceable: unplaceable.items())
        | "Unplaceable" >> beam.CombinePerKey(_rows_and_least_shape)
        | "UnplaceableToJson" >> beam.MapTuple(
            lambda key, found: json.dumps({"split": key[0], "column": key[1], "rows": found[0], "shape": found[1]})
        )
        | "WriteUnplaceable" >> beam.io.WriteToText(FileSystems.join(work_dir, UNPLACEABLE_FILE),
                                                     shard_name_template="")
    )


def _read_lines(path: str) -> list:
    if not FileSystems.exists(path):
        return []
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_aggregates(work_dir: str) -> tuple[Counter, ClassStats, Dict]:
    """Pass 1's output: column counts keyed (column, measure), class stats keyed by the class tuple, and the
    values generalizations cannot place, (rows, shape) keyed (split, column)."""
    counts = Counter({(line["column"], line["measure"]): line["value"]
                      for line in _read_lines(FileSystems.join(work_dir, COLUMNS_FILE))})
    classes = {tuple(line["class"]): (line["rows"], set(line["labels"]))
               for line in _read_lines(FileSystems.join(work_dir, CLASSES_FILE))}
    unplaceable = {(line["split"], line["column"]): (line["rows"], line["shape"])
                   for line in _read_lines(FileSystems.join(work_dir, UNPLACEABLE_FILE))}
    return counts, classes, unplaceable


def deidentify_splits(make_pipeline: Callable[[], beam.Pipeline], *, inputs: Dict[str, str],
                      outputs: Dict[str, str], policy: PrivacyPolicy, work_dir: str) -> Dict:
    """Measures, checks, then releases: returns the privacy report, or raises PrivacyViolationError with nothing
    written (`work_dir`, holding the aggregates and the staged batches, is removed whatever happens). `outputs`: split
    name -> file prefix of its gzipped TFRecords. Splits are reported in `inputs`' order."""
    remove_folder(work_dir)  # what a killed run left is never released
    try:
        with make_pipeline() as pipeline:
            build_measure_pipeline(pipeline, inputs=inputs, policy=policy, work_dir=work_dir)
        counts, classes, unplaceable = read_aggregates(work_dir)
        report, suppressed = check_aggregates(counts, classes, policy, list(inputs), unplaceable)
        manifest = _read_lines(FileSystems.join(work_dir, MANIFEST_FILE))
        staged_rows = sum(line["rows"] for line in manifest)
        if staged_rows != report["rows_in"]:
            raise RuntimeError(f"Privacy: {report['rows_in']} rows measured, but {staged_rows} staged; "
                               f"nothing was released")
        release_staged(manifest, outputs, suppressed, work_dir, report["rows_out"])
    finally:
        remove_folder(work_dir)
    return report
