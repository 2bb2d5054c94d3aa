"""Each drafted file as the content the pipeline validates: the privacy and audit policies and the config are built
as the pydantic models the pipeline validates those files with, so a draft those models refuse is never written
(tests/unit/test_onboard.py loads every drafted file through the pipeline's own loaders, which add the audit
policy's JSON Schema and the privacy policy's fit to the data's columns). The model card has no model: its reader
takes any mapping, and the audit's documentation check names what is missing. Its draft is a mapping of fields
that the audit's model_card.json reads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, List, Sequence

from pydantic import ValidationError

from components.model_audit.policy import AuditPolicy, Bootstrap, Checks, ProtectedAttribute
from components.privacy.policy import ColumnRule, Generalization, LDiversity, PrivacyPolicy
from components.validation import describe_validation_error
from pipeline.config import PipelineConfig
from pipeline.onboard.audit_checks import FAIRNESS, PERFORMANCE, PRIVACY
from pipeline.onboard.profile import Column, OnboardError, Table

DETECTOR_RATE_THRESHOLD = 0.01
# Reasons a column is not a model input, said in the config next to it.
NON_FEATURE_REASONS = {
    "free_text": "free text: one value per row teaches a 1,000-row model nothing, and it is where personal data hides",
    "identifier": "an identifier: distinct in every row",
}


def privacy_policy(columns: List[Column], label: str, protected: Sequence[str],
                   bands: Dict[str, List[float]]) -> PrivacyPolicy:
    """Each column's action from the PII detectors; k-anonymity on the protected attributes the Privacy step keeps
    (a numeric one measured in the audit's bands, or left out where those are not whole numbers, as the policy's
    bands must be); 2-diversity of the label."""
    kept = [p for p in protected if next(c for c in columns if c.name == p).action == "keep"]
    whole_bands = {p: [int(e) for e in bands[p]] for p in kept
                   if p in bands and all(float(e).is_integer() for e in bands[p])}
    return PrivacyPolicy(
        columns={c.name: ColumnRule(action=c.action) for c in columns},
        detector_rate_threshold=DETECTOR_RATE_THRESHOLD,
        quasi_identifiers=[p for p in kept if p not in bands or p in whole_bands],
        quasi_identifier_generalization={p: Generalization(bands=edges) for p, edges in whole_bands.items()},
        k=int(PRIVACY["k_anonymity"].threshold),  # the k the audit's k-anonymity check asks for
        l_diversity=LDiversity(label=label, l=2),
        on_k_violation="suppress",
    )


def audit_policy(slices: Dict[str, str], with_privacy: bool) -> AuditPolicy:
    """`slices` maps each protected attribute's slicing column to the feature that carries it."""
    not_applicable = {}
    if not slices:
        not_applicable["fairness"] = "No protected attribute was named when the data was onboarded."
    if not with_privacy:
        not_applicable["privacy"] = "No PII detector fired on the data, so the config skips the Privacy step."
    checks = {**PERFORMANCE, **(FAIRNESS if slices else {}), **(PRIVACY if with_privacy else {})}
    return AuditPolicy(
        version=1,
        protected_attributes={name: ProtectedAttribute(features=[feature]) for name, feature in slices.items()},
        min_group_examples=20,
        bootstrap=Bootstrap(resamples=1000, confidence=0.95, seed=20240611),
        inconclusive_blocks=False,
        checks=Checks(**checks),
        not_applicable=not_applicable,
    )


def model_card(name: str, table: Table, label: str, positive: str, features: Sequence[str],
               protected: Sequence[str]) -> dict:
    """What the data says about the model; the fields only its owners can fill are left empty."""
    return {
        "name": name,
        "overview": f"A small neural network that predicts the probability that '{label}' is {positive}, trained on "
                    f"{table.path.name} ({len(table.rows)} rows). TODO: say what the data describes and where it "
                    f"comes from.",
        "model_architecture": "Feed-forward Keras network on tf.Transform features (z-scored numerics, one-hot "
                              "categoricals).",
        "input_format": f"Serialized tf.Example with the raw columns {', '.join(features)} (serving_default "
                        f"signature).",
        "output_format": f"probability: float in [0, 1] that {label} is {positive}.",
        "intended_use": "",
        "intended_users": [],
        "out_of_scope_uses": [],
        "limitations": [],
        "owners": [],
        "data": [{"name": f"{name}, eval split",
                  "description": f"About 20% of the rows of {table.path.name}; all audit figures are measured on it.",
                  "sensitive": list(protected)}],
    }


def pipeline_config(name: str, out: Path, table: Table, schema_dir: Path, label: str, positive: str,
                    columns: List[Column], bands: Dict[str, List[float]], slices: Sequence[str],
                    with_privacy: bool, key_feature: str | None, model: str = "network",
                    protected: Sequence[str] = ()) -> PipelineConfig:
    """The config that ties the drafts together, its paths relative to the config file as `load_config` reads them.
    A scorecard (`model`) leaves the protected attributes unscored. Refused here, naming the field, when no config
    could hold it (a name with a space in `--out`)."""
    base = out.parent
    values = {
        "pipeline_name": f"glassbox-{name}",
        "data_dir": _relative(table.path.parent, base),
        "schema_file": _relative(schema_dir / "schema.pbtxt", base),
        "output_dir": _relative(Path("outputs") / name, base),
        "privacy_policy": _relative(schema_dir / "privacy_policy.yaml", base) if with_privacy else None,
        "audit_policy": _relative(schema_dir / "audit_policy.yaml", base),
        "model_card": _relative(schema_dir / "model_card.yaml", base),
        "label": label,
        "positive_label": positive,
        "non_features": [c.name for c in non_features(columns)],
        "band_features": bands,
        "evaluation": {"slice_features": list(slices)},
        "explainer": {"slice_features": list(slices), "key_feature": key_feature},
    }
    if model == "scorecard":
        values["training"] = {"model": model, "scorecard": {"unscored": list(protected)}}
    elif model != "network":
        values["training"] = {"model": model}
    try:
        return PipelineConfig.model_validate(values)
    except ValidationError as error:
        raise OnboardError(describe_validation_error(error, str(out))) from None


def non_features(columns: List[Column]) -> List[Column]:
    """Columns the Privacy step keeps but the model must not read: free text and identifiers."""
    return [c for c in columns if c.kind in NON_FEATURE_REASONS and c.action != "drop"]


def _relative(path: Path, start: Path) -> str:
    return os.path.relpath(Path(path).resolve(), Path(start).resolve())
