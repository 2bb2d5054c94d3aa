"""Running the raw-data script, reading CSVs, writing rows as ExampleGen does, and the per-row forms of the
aggregates the batched path must match."""

import csv
import os
import re
import subprocess
import sys
from collections import Counter

import tensorflow as tf

from components.privacy.actions import quasi_identifier_tuple
from components.privacy.detectors import detect
from components.privacy.examples import row_to_example
from pipeline.config import REPO_ROOT

MAKE_RAW_DATA = REPO_ROOT / "scripts" / "make_raw_data.py"
SOURCE_CSV = REPO_ROOT / "data" / "source" / "german_credit.csv"
DEFAULT_POLICY = REPO_ROOT / "schemas" / "german_credit" / "privacy_policy.yaml"


def make_raw_data(out, *args: str) -> None:
    """Runs the script as a user would, so its command line is tested too."""
    subprocess.run([sys.executable, str(MAKE_RAW_DATA), "--out", str(out), *args], check=True)


def read_csv(path) -> list:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def typed(rows: list) -> list:
    """CSV rows as CsvExampleGen types them: a column whose every cell is an integer as ints, an empty cell as None."""
    integers = {column for column in rows[0] if all(re.fullmatch(r"-?\d+", row[column] or "0") for row in rows)}
    return [{c: (int(v) if c in integers else v) if v != "" else None for c, v in row.items()} for row in rows]


def write_splits(split_rows: dict, root) -> dict:
    """Each split as ExampleGen writes it: Split-<name>/ with a gzipped TFRecord of tf.Examples; returns each split's
    file pattern."""
    patterns = {}
    for split, rows in split_rows.items():
        os.makedirs(root / f"Split-{split}")
        with tf.io.TFRecordWriter(str(root / f"Split-{split}" / "data_tfrecord-00000-of-00001.gz"), "GZIP") as f:
            for row in rows:
                f.write(row_to_example(row))
        patterns[split] = str(root / f"Split-{split}" / "*")
    return patterns


def per_row_column_counts(raw: dict, released: dict, policy) -> Counter:
    """The per-row definition of the column counts (the Beam pipeline's before it worked on batches)."""
    counts: Counter = Counter()
    for column, value in raw.items():
        out = released.get(policy.output_name(column))
        counts[(column, "rows")] += 1
        counts[(column, "affected")] += int(out != value)
        if isinstance(value, str) and value:
            counts[(column, "non_empty_text")] += 1
            counts[(column, "pii_before")] += int(bool(detect(value)))
            counts[(column, "pii_after")] += int(isinstance(out, str) and bool(detect(out)))
    return counts


def per_row_class_stats(released_rows: list, policy) -> dict:
    """Per equivalence class (`quasi_identifier_tuple`): its rows and the set of its sensitive labels."""
    label = policy.output_name(policy.l_diversity.label) if policy.l_diversity else None
    stats: dict = {}
    for row in released_rows:
        group = quasi_identifier_tuple(row, policy)
        count, labels = stats.get(group, (0, set()))
        stats[group] = (count + 1, labels | {row.get(label)})
    return stats
