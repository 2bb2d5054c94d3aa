"""The CSV `glassbox init` is given, read and checked, and what each of its columns is.

What cannot work fails here, before any pipeline step, with one sentence: a CSV that is empty, not UTF-8, or
cannot be read as CsvExampleGen reads it (components/csv_example_gen/dialect.py); a label that is missing, has
gaps, or has other than two classes. Each column is told apart (numeric, categorical, free text, identifier) and
the PII detectors' findings decide its privacy action.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from components.csv_example_gen.dialect import CsvFormatError, read_csv
from components.privacy.detectors import hits_by_kind

# A string column is free text when most values are distinct and long; an identifier when (nearly) all values
# are distinct and short. Neither is a model input: one category per row teaches the model nothing.
FREE_TEXT_UNIQUE_RATIO = 0.5
FREE_TEXT_MEAN_LENGTH = 20
IDENTIFIER_UNIQUE_RATIO = 0.95
# A column whose values are mostly PII (an email column) is dropped; one where some are (notes) is redacted.
PII_DROP_RATE = 0.5
BAND_QUANTILES = (0.25, 0.5, 0.75)
BAND_MIN_DISTINCT = 10  # a numeric protected attribute with fewer values is sliced by value, not in bands


class OnboardError(ValueError):
    """Data that the pipeline cannot take; the message names the file (and line or column) and what is wrong."""


@dataclass
class Table:
    """The CSV as text: the header and each row's fields ('' where a value is missing)."""

    path: Path
    header: List[str]
    rows: List[List[str]]

    def column(self, name: str) -> List[str]:
        index = self.header.index(name)
        return [row[index] for row in self.rows]


@dataclass
class Column:
    """What onboarding concluded about one column, and why."""

    name: str
    kind: str  # numeric | categorical | free_text | identifier | label
    missing: int
    distinct: int
    pii: Dict[str, int] = field(default_factory=dict)  # detector kind -> values it fired on
    pii_values: int = 0  # values on which any detector fired
    action: str = "keep"  # the privacy policy's action

    @property
    def is_feature(self) -> bool:
        return self.kind in ("numeric", "categorical") and self.action != "drop"


def read_table(path: Path) -> Table:
    """The CSV as CsvExampleGen reads it (components/csv_example_gen/dialect.py: the dialects users' tools write);
    what it cannot read fails naming the file and line."""
    path = Path(path)
    if not path.is_file():
        raise OnboardError(f"{path}: no such file")
    try:
        csv_file = read_csv(str(path))
        rows = [cells for _, cells in csv_file.rows()]
    except CsvFormatError as error:
        raise OnboardError(str(error)) from None
    if not rows:
        raise OnboardError(f"{path}: the file has a header but no rows")
    return Table(path, list(csv_file.names), rows)


def binary_classes(table: Table, label: str, positive: str | None) -> str:
    """The label's positive value, after checking the label holds exactly two classes and no gaps."""
    if label not in table.header:
        raise OnboardError(f"{table.path}: no column '{label}' to use as the label; the columns are "
                           f"{', '.join(table.header)}")
    values = table.column(label)
    missing = sum(1 for v in values if v == "")
    if missing:
        raise OnboardError(f"{table.path}: the label '{label}' is missing in {missing} rows; every row needs one")
    classes = sorted(set(values))
    if len(classes) < 2:
        raise OnboardError(f"{table.path}: the label '{label}' has one class ({classes[0]}); a classifier needs two")
    if len(classes) > 2:
        raise OnboardError(f"{table.path}: the label '{label}' has {len(classes)} classes ({', '.join(classes[:10])}"
                           f"{', ...' if len(classes) > 10 else ''}); a tabular model is a binary classifier")
    if positive is None:
        if classes != ["0", "1"]:
            raise OnboardError(f"{table.path}: the label '{label}' has the classes {classes[0]} and {classes[1]}; "
                               f"name the favourable one with --positive-label")
        return "1"
    if positive not in classes:
        raise OnboardError(f"{table.path}: --positive-label {positive} is not a class of '{label}' "
                           f"({classes[0]}, {classes[1]})")
    return positive


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False


def profile(table: Table, label: str) -> List[Column]:
    """Each column's kind (numeric, categorical, free text, identifier) and PII detector findings."""
    columns = []
    for name in table.header:
        present = [v for v in table.column(name) if v != ""]
        distinct = len(set(present))
        column = Column(name, "label", len(table.rows) - len(present), distinct)
        if name != label:
            unique_ratio = distinct / max(len(present), 1)
            if present and all(_is_number(v) for v in present):
                whole = all(float(v).is_integer() and "." not in v for v in present)
                column.kind = "identifier" if whole and unique_ratio == 1 and len(present) > 20 else "numeric"
            elif unique_ratio >= FREE_TEXT_UNIQUE_RATIO and np.mean([len(v) for v in present]) >= FREE_TEXT_MEAN_LENGTH:
                column.kind = "free_text"
            elif unique_ratio >= IDENTIFIER_UNIQUE_RATIO and len(present) > 20:
                column.kind = "identifier"
            else:
                column.kind = "categorical"
            hits = hits_by_kind(present)
            column.pii = dict(sorted(hits.items()))
            column.pii_values = sum(1 for v in present if hits_by_kind([v]))
            rate = column.pii_values / max(len(present), 1)
            if rate >= PII_DROP_RATE:
                column.action = "drop"
            elif rate > 0:
                column.action = "redact_pii"
        columns.append(column)
    return columns


def band_edges(values: Sequence[str]) -> List[float]:
    """Interior edges at the quartiles, whole numbers for whole-numbered data (ages), else 3 significant digits."""
    numbers = np.array([float(v) for v in values if v != ""])
    whole = bool(np.all(numbers == np.round(numbers)))
    edges = np.quantile(numbers, BAND_QUANTILES)
    rounded = [int(round(e)) if whole else float(f"{e:.3g}") for e in edges]
    return [e for i, e in enumerate(rounded) if e > numbers.min() and (i == 0 or e > rounded[i - 1])]
