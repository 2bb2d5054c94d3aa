"""`glassbox init`: a first configuration for a new tabular CSV, drafted from the data, for a person to review.

From the CSV alone it writes the data contract (the schema TFDV infers), a privacy policy drafted from the
PII detectors' findings (with the evidence), an audit policy for the named protected attributes, a model card
with the fields only a person can fill left empty, and the config that ties them together. Nothing downstream
is dataset-specific code: Transform and Trainer derive feature handling from the schema.

What cannot work fails here, before any pipeline step, with one sentence: a CSV that is empty, not UTF-8,
has rows of the wrong length or a field spanning lines; a label that is missing, has gaps, or has other than
two classes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from components.privacy.detectors import hits_by_kind
from pipeline.scratch import scratch_tempdir

# A string column is free text when most values are distinct and long; an identifier when (nearly) all values
# are distinct and short. Neither is a model input: one category per row teaches the model nothing.
FREE_TEXT_UNIQUE_RATIO = 0.5
FREE_TEXT_MEAN_LENGTH = 20
IDENTIFIER_UNIQUE_RATIO = 0.95
# A column whose values are mostly PII (an email column) is dropped; one where some are (notes) is redacted.
PII_DROP_RATE = 0.5
DETECTOR_RATE_THRESHOLD = 0.01
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
    """The CSV, checked for what CsvExampleGen or TFDV's CSV reader cannot read or would read wrongly."""
    path = Path(path)
    if not path.is_file():
        raise OnboardError(f"{path}: no such file")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise OnboardError(f"{path}: line {line} is not UTF-8 (byte 0x{data[error.start]:02x} at offset "
                           f"{error.start}); save the file as UTF-8") from None
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header or header == [""]:
        raise OnboardError(f"{path}: the file is empty; it needs a header line and at least one row")
    if len(set(header)) != len(header) or "" in header:
        raise OnboardError(f"{path}: line 1: column names must be unique and not empty, found {header}")
    rows, line = [], reader.line_num
    for row in reader:
        if reader.line_num != line + 1:
            raise OnboardError(f"{path}: line {line + 1}: a quoted field spans several lines, which TFDV's CSV "
                               f"reader (the schema inference) cannot read; replace the line breaks inside fields")
        line = reader.line_num
        if not row:
            continue
        if len(row) != len(header):
            raise OnboardError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
        rows.append(row)
    if not rows:
        raise OnboardError(f"{path}: the file has a header but no rows")
    return Table(path, header, rows)


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


def infer_schema(csv_path: Path, dropped: Sequence[str], unconstrained: Sequence[str]):
    """TFDV's schema of the CSV as CsvExampleGen reads it, without the dropped columns, and without a value
    domain for text the Privacy step rewrites (redacted notes must not violate a domain of their raw values)."""
    import tensorflow_data_validation as tfdv

    with scratch_tempdir():  # TFDV writes the statistics to a temporary file and leaves it there
        statistics = tfdv.generate_statistics_from_csv(str(csv_path))
    schema = tfdv.infer_schema(statistics, infer_feature_shape=True)
    for name in dropped:
        schema.feature.remove(tfdv.get_feature(schema, name))
    for name in unconstrained:
        feature = tfdv.get_feature(schema, name)
        if feature.HasField("domain"):
            domains = [d for d in schema.string_domain if d.name == feature.domain]
            for domain in domains:
                schema.string_domain.remove(domain)
        feature.ClearField("domain_info")
    return schema


def _yaml(value) -> str:
    """A scalar or flow-style list as YAML (JSON is valid YAML, and quotes what needs quoting)."""
    return json.dumps(value)


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())


def privacy_policy_text(columns: List[Column], table: Table, label: str, protected: Sequence[str],
                        bands: Dict[str, List[float]]) -> str:
    lines = [
        f"# Privacy policy drafted by `glassbox init` from {table.path.name} ({len(table.rows)} rows). REVIEW IT:",
        "# the PII detectors find emails, phones, IBANs, cards, national IDs and dates in text; names and street",
        "# addresses cannot be found by patterns, so check every column kept below for them.",
        "# Evidence: how many values of each column each detector fired on.",
        f"detector_rate_threshold: {DETECTOR_RATE_THRESHOLD}",
        "columns:",
    ]
    for column in columns:
        if column.pii:
            evidence = ", ".join(f"{kind} {count}" for kind, count in column.pii.items())
            lines.append(f"  # {column.pii_values} of {len(table.rows) - column.missing} values hold PII ({evidence})")
        lines.append(f"  {column.name}: {{action: {column.action}}}")
    quasi = [p for p in protected if next(c for c in columns if c.name == p).action == "keep"]
    whole_bands = {p: bands[p] for p in quasi if p in bands and all(float(e).is_integer() for e in bands[p])}
    quasi = [p for p in quasi if p not in bands or p in whole_bands]
    lines += [
        "# What an outsider could know about a person and link on: the protected attributes (numeric ones in the",
        "# bands the audit slices by). Add any other column a record could be recognised by.",
        f"quasi_identifiers: {_yaml(quasi)}",
    ]
    if whole_bands:
        lines.append("quasi_identifier_generalization:")
        lines += [f"  {name}: {{bands: {_yaml([int(e) for e in edges])}}}" for name, edges in whole_bands.items()]
    lines += [
        "k: 5",
        "# Every class must hold both label values, so membership alone does not reveal the label.",
        f"l_diversity: {{label: {label}, l: 2}}",
        "# Rows in classes below k or l are removed (the report counts them); `fail` stops the run instead.",
        "on_k_violation: suppress",
    ]
    return "\n".join(lines) + "\n"


AUDIT_HEADER = """\
# Audit policy drafted by `glassbox init`: what ModelAudit checks before the model may ship. REVIEW the
# thresholds against what this model is for (schemas/audit_policy.schema.json lists every check).
# severity: block (a failure fails the audit) or warn; rule: point (the estimate) or ci_bound (its interval).
version: 1
"""

PERFORMANCE_CHECKS = """\
  overall_auc:
    requirement: AUC on the eval split is at least 0.70 (the Evaluator's blessing threshold).
    threshold: 0.70
    rule: point
    severity: block
  calibration_ece:
    requirement: Expected calibration error (10 equal-width score bins) is at most 0.10.
    threshold: 0.10
    bins: 10
    rule: point
    severity: warn
  auc_regression:
    requirement: Overall AUC is at most 0.05 below the last audited model's.
    threshold: 0.05
    severity: block
  challenger_margin:
    requirement: The network's eval AUC beats the best interpretable challenger by at least 0.01.
    threshold: 0.01
    rule: point
    severity: warn
  completeness_error:
    requirement: The median completeness error of the attributions is at most 0.05.
    threshold: 0.05
    severity: block
  faithfulness:
    requirement: Deleting features in attribution order lowers the score faster than a random order.
    threshold: 1.0
    severity: warn
  anomalies:
    requirement: ExampleValidator found no anomalies against the data contract.
    threshold: 0
    severity: block
  categorical_drift:
    requirement: No categorical feature's frequencies differ between train and eval by more than 0.15 (L-infinity).
    threshold: 0.15
    severity: warn
  numeric_drift:
    requirement: No numeric feature's distribution differs between train and eval by more than 0.15 (JS divergence).
    threshold: 0.15
    severity: warn
  model_card:
    requirement: The model card states the intended use, out-of-scope uses, limitations and owners.
    required_fields: [intended_use, out_of_scope_uses, limitations, owners]
    severity: block
"""

FAIRNESS_CHECKS = """\
  worst_slice_auc:
    requirement: AUC in every slice of a protected attribute is at least 0.60.
    threshold: 0.60
    rule: point
    severity: warn
  disparate_impact_ratio:
    requirement: The lowest group's acceptance rate is at least 4/5 of the highest group's (four-fifths rule).
    threshold: 0.80
    rule: point
    severity: block
  equal_opportunity_difference:
    requirement: True positive rates differ by at most 0.20 between groups.
    threshold: 0.20
    rule: point
    severity: warn
  equalized_odds_difference:
    requirement: True and false positive rates each differ by at most 0.25 between groups.
    threshold: 0.25
    rule: point
    severity: warn
  protected_attribution_share:
    requirement: Protected attributes carry at most 20% of the total mean absolute attribution.
    threshold: 0.20
    severity: warn
  proxy_features:
    requirement: None of the 5 most attributed features is associated with a protected attribute above 0.30.
    threshold: 0.30
    top_k: 5
    severity: warn
"""

PRIVACY_CHECKS = """\
  pii_after_deidentification:
    requirement: No PII detector fires on the de-identified data.
    threshold: 0
    severity: block
  k_anonymity:
    requirement: The released data is k-anonymous on its quasi-identifiers with k of at least 5.
    threshold: 5
    severity: block
"""


def audit_policy_text(slices: Dict[str, str], with_privacy: bool) -> str:
    """`slices` maps each protected attribute's slicing column to the feature that carries it."""
    lines = [AUDIT_HEADER]
    if slices:
        lines.append("protected_attributes:")
        lines += [f"  {slice_name}: {{features: [{feature}]}}" for slice_name, feature in slices.items()]
    else:
        lines.append("# No protected attribute was named (glassbox init --protected A,B): no fairness check applies.")
        lines.append("protected_attributes: {}")
    lines += [
        "# A slice smaller than this makes its checks inconclusive.",
        "min_group_examples: 20",
        "bootstrap: {resamples: 1000, confidence: 0.95, seed: 20240611}",
        "inconclusive_blocks: false",
    ]
    not_applicable = {}
    if not slices:
        not_applicable["fairness"] = "No protected attribute was named when the data was onboarded."
    if not with_privacy:
        not_applicable["privacy"] = "No PII detector fired on the data, so the config skips the Privacy step."
    if not_applicable:
        lines.append("not_applicable:")
        lines += [f"  {family}: {_yaml(reason)}" for family, reason in not_applicable.items()]
    lines.append("checks:")
    lines.append(PERFORMANCE_CHECKS.rstrip("\n"))
    if slices:
        lines.append(FAIRNESS_CHECKS.rstrip("\n"))
    if with_privacy:
        lines.append(PRIVACY_CHECKS.rstrip("\n"))
    return "\n".join(lines) + "\n"


def model_card_text(name: str, table: Table, label: str, positive: str, features: Sequence[str],
                    protected: Sequence[str]) -> str:
    return f"""\
# Model card drafted by `glassbox init`. The audit blocks the model until a person fills the empty fields
# (intended_use, out_of_scope_uses, limitations, owners): only its owners can say what it is for.
name: {name}
overview: >-
  A small neural network that predicts the probability that '{label}' is {positive}, trained on
  {table.path.name} ({len(table.rows)} rows). TODO: say what the data describes and where it comes from.
model_architecture: Feed-forward Keras network on tf.Transform features (z-scored numerics, one-hot categoricals).
input_format: "Serialized tf.Example with the raw columns {', '.join(features)} (serving_default signature)."
output_format: "probability: float in [0, 1] that {label} is {positive}."
intended_use: ""  # TODO
intended_users: []  # TODO
out_of_scope_uses: []  # TODO
limitations: []  # TODO: how much data, whose, from when; what the model cannot see
owners: []  # TODO: - {{name: ..., contact: ...}}
data:
  - name: {name}, eval split
    description: About 20% of the rows of {table.path.name}; all audit figures are measured on it.
    sensitive: {_yaml(list(protected))}
"""


def config_text(name: str, out: Path, table: Table, schema_dir: Path, label: str, positive: str,
                columns: List[Column], bands: Dict[str, List[float]], slices: Sequence[str],
                with_privacy: bool, key_feature: str | None) -> str:
    base = out.parent
    reasons = {"free_text": "free text: one value per row teaches a 1,000-row model nothing, and it is where "
                            "personal data hides", "identifier": "an identifier: distinct in every row"}
    lines = [
        f"# Generated by `glassbox init` from {table.path.name} on "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d')}. Review it and the files it names, then:",
        f"#   glassbox run --config {out}",
        f"pipeline_name: glassbox-{name}",
        f"data_dir: {_relative(table.path.parent, base)}",
        "# The data contract TFDV inferred: review types, domains and presence, then it is enforced on every run.",
        f"schema_file: {_relative(schema_dir / 'schema.pbtxt', base)}",
        f"output_dir: {_relative(Path('outputs') / name, base)}",
    ]
    if with_privacy:
        lines.append(f"privacy_policy: {_relative(schema_dir / 'privacy_policy.yaml', base)}")
    else:
        lines.append("privacy_policy: null  # no PII detector fired on any column; names cannot be detected: check")
    lines += [
        f"audit_policy: {_relative(schema_dir / 'audit_policy.yaml', base)}",
        f"model_card: {_relative(schema_dir / 'model_card.yaml', base)}",
        f"label: {label}",
        f"positive_label: {_yaml(positive)}  # becomes 1; the other class 0",
    ]
    excluded = [c for c in columns if c.kind in reasons and c.action != "drop"]
    lines.append("# Columns the model does not read, and why:" if excluded else "non_features: []")
    if excluded:
        lines.append("non_features:")
        lines += [f"  - {c.name}  # {reasons[c.kind]}" for c in excluded]
    imputed = [c.name for c in columns if c.is_feature and c.missing]
    if imputed:
        lines.append(f"# Missing values, imputed by Transform (numeric: the mean; text: its own category): "
                     f"{', '.join(imputed)}")
    lines.append("# Numeric protected attributes, sliced at their quartiles for the fairness checks:")
    lines.append(f"band_features: {_yaml(bands)}")
    lines += [
        "evaluation:",
        f"  slice_features: {_yaml(list(slices))}",
        "explainer:",
        f"  slice_features: {_yaml(list(slices))}",
        f"  key_feature: {_yaml(key_feature)}",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Onboarded:
    config: Path
    schema_dir: Path
    columns: List[Column]
    positive_label: str


def onboard(csv_path: Path, label: str, out: Path, protected: Sequence[str] = (), positive_label: str | None = None,
            schemas_root: Path = Path("schemas")) -> Onboarded:
    """Checks the CSV and writes the config, schema and drafted policies; returns what it concluded."""
    table = read_table(csv_path)
    positive = binary_classes(table, label, positive_label)
    others = [p for p in Path(csv_path).parent.iterdir() if p.name != Path(csv_path).name]
    if others:
        raise OnboardError(f"{csv_path}: CsvExampleGen reads every file in {Path(csv_path).parent}, which also holds "
                           f"{others[0].name}; give the CSV a directory of its own")
    out = Path(out)
    name = out.stem
    columns = profile(table, label)
    by_name = {c.name: c for c in columns}
    for attribute in protected:
        if attribute not in by_name or not by_name[attribute].is_feature:
            usable = ", ".join(c.name for c in columns if c.is_feature)
            raise OnboardError(f"{csv_path}: protected attribute '{attribute}' is not a model feature of the data "
                               f"({usable})")
    bands = {p: band_edges(table.column(p)) for p in protected
             if by_name[p].kind == "numeric" and by_name[p].distinct > BAND_MIN_DISTINCT}
    slices = {f"{p}_band" if p in bands else p: p for p in protected}
    with_privacy = any(c.action != "keep" for c in columns)
    identifiers = [c.name for c in columns if c.kind == "identifier" and c.action != "drop"]

    schema_dir = Path(schemas_root) / name
    schema_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    schema = infer_schema(table.path, dropped=[c.name for c in columns if c.action == "drop"],
                          unconstrained=[c.name for c in columns if c.action == "redact_pii" or c.kind == "free_text"])
    from tensorflow_data_validation.utils.schema_util import write_schema_text

    write_schema_text(schema, str(schema_dir / "schema.pbtxt"))
    if with_privacy:
        (schema_dir / "privacy_policy.yaml").write_text(privacy_policy_text(columns, table, label, protected, bands))
    (schema_dir / "audit_policy.yaml").write_text(audit_policy_text(slices, with_privacy))
    features = [c.name for c in columns if c.is_feature]
    (schema_dir / "model_card.yaml").write_text(model_card_text(name, table, label, positive, features, protected))
    out.write_text(config_text(name, out, table, schema_dir, label, positive, columns, bands, list(slices),
                               with_privacy, identifiers[0] if identifiers else None))
    return Onboarded(out, schema_dir, columns, positive)
