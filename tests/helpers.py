"""Small helpers shared by the tests."""

import csv
from pathlib import Path

from pipeline.config import REPO_ROOT

GERMAN_CREDIT_CSV = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"


def read_rows(path: Path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows, columns):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: row[c] for c in columns} for row in rows)
