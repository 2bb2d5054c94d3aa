"""The Privacy component's Beam graph: de-identify every split, streaming, and measure what was done.

Nothing is collected on one worker: column statistics and equivalence-class sizes are combined,
and the only side input is the (small) set of equivalence classes to suppress.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Any, Dict, Iterable, List, Tuple

import apache_beam as beam

from components.privacy.actions import apply_policy_to_row, classes_to_suppress, quasi_identifier_tuple
from components.privacy.detectors import detect
from components.privacy.examples import example_to_row, row_to_example
from components.privacy.policy import PrivacyPolicy, load_key

CLASSES_FILE = "classes.jsonl"
COLUMNS_FILE = "columns.jsonl"


class _Deidentify(beam.DoFn):
    """(split, raw row) -> (split, raw row, de-identified row). The key is read on the worker."""

    def __init__(self, policy: PrivacyPolicy):
        self._policy = policy

    def setup(self):
        needs_key = any(rule.action == "pseudonymize" for rule in self._policy.columns.values())
        self._key = load_key(self._policy) if needs_key else None

    def process(self, element: Tuple[str, Dict[str, Any]]):
        split, row = element
        yield split, row, apply_policy_to_row(row, self._policy, self._key)


def column_counts(raw: Dict[str, Any], deidentified: Dict[str, Any], policy: PrivacyPolicy) -> Counter:
    """Per column: non-empty text values, rows the action changed, rows with PII before and after."""
    counts: Counter = Counter()
    for column, value in raw.items():
        released = deidentified.get(policy.output_name(column))
        counts[(column, "rows")] += 1
        counts[(column, "affected")] += int(released != value)
        if isinstance(value, str) and value:
            counts[(column, "non_empty_text")] += 1
            counts[(column, "pii_before")] += int(bool(detect(value)))
            counts[(column, "pii_after")] += int(isinstance(released, str) and bool(detect(released)))
    return counts


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
    """Size and set of labels of one equivalence class."""

    def create_accumulator(self):
        return 0, set()

    def add_input(self, accumulator, label):
        count, labels = accumulator
        labels.add(label)
        return count + 1, labels

    def merge_accumulators(self, accumulators):
        count, labels = 0, set()
        for other_count, other_labels in accumulators:
            count, labels = count + other_count, labels | other_labels
        return count, labels

    def extract_output(self, accumulator):
        return accumulator


def _to_suppress(classes: List[Tuple[tuple, Tuple[int, set]]], policy: PrivacyPolicy) -> set:
    """The classes that leave the release. `on_k_violation: fail` is enforced by the executor after the
    pipeline, with the measured figures, so here classes below k are always listed."""
    counts = {group: count for group, (count, _) in classes}
    labels = {group: group_labels for group, (_, group_labels) in classes}
    return classes_to_suppress(counts, labels, policy.model_copy(update={"on_k_violation": "suppress"}))


def _label(row: Dict[str, Any], policy: PrivacyPolicy):
    return row.get(policy.output_name(policy.l_diversity.label)) if policy.l_diversity else None


def build_privacy_pipeline(
    pipeline: beam.Pipeline,
    *,
    inputs: Dict[str, str],
    outputs: Dict[str, str],
    policy: PrivacyPolicy,
    work_dir: str,
) -> None:
    """`inputs`/`outputs`: split name -> file pattern to read / file prefix to write (gzipped TFRecords)."""
    tagged = [
        pipeline
        | f"Read[{split}]" >> beam.io.ReadFromTFRecord(pattern)
        | f"Parse[{split}]" >> beam.Map(lambda record, s=split: (s, example_to_row(record)))
        for split, pattern in sorted(inputs.items())
    ]
    processed = tagged | "AllSplits" >> beam.Flatten() | "Deidentify" >> beam.ParDo(_Deidentify(policy))

    _ = (
        processed
        | "CountColumns" >> beam.MapTuple(lambda _, raw, out: column_counts(raw, out, policy))
        | "SumColumns" >> beam.CombineGlobally(_SumCounters())
        | "ColumnsToJson" >> beam.FlatMap(
            lambda counts: [json.dumps({"column": c, "measure": m, "value": v}) for (c, m), v in sorted(counts.items())]
        )
        | "WriteColumns" >> beam.io.WriteToText(os.path.join(work_dir, COLUMNS_FILE), shard_name_template="")
    )

    classes = (
        processed
        | "ClassOf" >> beam.MapTuple(lambda _, raw, out: (quasi_identifier_tuple(out, policy), _label(out, policy)))
        | "ClassStats" >> beam.CombinePerKey(_ClassStats())
    )
    _ = (
        classes
        | "ClassesToJson" >> beam.MapTuple(
            lambda group, stats: json.dumps({"class": list(group), "rows": stats[0],
                                             "labels": sorted(map(str, stats[1]))})
        )
        | "WriteClasses" >> beam.io.WriteToText(os.path.join(work_dir, CLASSES_FILE), shard_name_template="")
    )
    suppressed = (
        classes
        | "AllClasses" >> beam.combiners.ToList()
        | "ToSuppress" >> beam.Map(_to_suppress, policy)
    )
    released = processed | "Suppress" >> beam.Filter(
        lambda element, drop: quasi_identifier_tuple(element[2], policy) not in drop,
        drop=beam.pvalue.AsSingleton(suppressed),
    )
    for split, prefix in sorted(outputs.items()):
        _ = (
            released
            | f"Only[{split}]" >> beam.Filter(lambda element, s=split: element[0] == s)
            | f"Serialize[{split}]" >> beam.MapTuple(lambda _, raw, out: row_to_example(out))
            | f"Write[{split}]" >> beam.io.WriteToTFRecord(prefix, file_name_suffix=".gz")
        )


def read_lines(path: str) -> Iterable[Dict]:
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]
