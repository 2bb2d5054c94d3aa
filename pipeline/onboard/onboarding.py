"""`glassbox init`: a first configuration for a new tabular CSV, drafted from the data, for a person to review.

From the CSV alone it writes the data contract (the schema TFDV infers), a privacy policy drafted from the
PII detectors' findings (with the evidence), an audit policy for the named protected attributes, a model card
with the fields only a person can fill left empty, and the config that ties them together. Nothing downstream
is dataset-specific code: Transform and Trainer derive feature handling from the schema. Every draft is built
and validated before any file is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

from pipeline.onboard.documents import audit_policy_text, config_text, model_card_text, privacy_policy_text
from pipeline.onboard.profile import (
    BAND_MIN_DISTINCT,
    Column,
    OnboardError,
    band_edges,
    binary_classes,
    profile,
    read_table,
)
from pipeline.onboard.schema import infer_schema


@dataclass
class Onboarded:
    config: Path
    schema_dir: Path
    columns: List[Column]
    positive_label: str


def onboard(csv_path: Path, label: str, out: Path, protected: Sequence[str] = (), positive_label: str | None = None,
            schemas_root: Path = Path("schemas"), model: str = "network") -> Onboarded:
    """Checks the CSV and writes the config (for a `model` of that kind: network, scorecard or rules), schema and
    drafted policies; returns what it concluded."""
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
    features = [c.name for c in columns if c.is_feature]

    schema_dir = Path(schemas_root) / name
    texts = {
        schema_dir / "audit_policy.yaml": audit_policy_text(slices, with_privacy),
        schema_dir / "model_card.yaml": model_card_text(name, table, label, positive, features, protected),
        out: config_text(name, out, table, schema_dir, label, positive, columns, bands, list(slices), with_privacy,
                         identifiers[0] if identifiers else None, model, protected),
    }
    if with_privacy:
        texts[schema_dir / "privacy_policy.yaml"] = privacy_policy_text(columns, table, label, protected, bands)
    schema_dir.mkdir(parents=True, exist_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    schema = infer_schema(table.path, label, dropped=[c.name for c in columns if c.action == "drop"],
                          unconstrained=[c.name for c in columns if c.action == "redact_pii" or c.kind == "free_text"])
    from tensorflow_data_validation.utils.schema_util import write_schema_text

    write_schema_text(schema, str(schema_dir / "schema.pbtxt"))
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return Onboarded(out, schema_dir, columns, positive)
