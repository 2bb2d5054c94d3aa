"""The audit policy: which checks a model must pass, against which thresholds, and which failures block it.

A policy is a YAML file validated twice before any evidence is read: against the published JSON Schema
(`schemas/audit_policy.schema.json`, what editors and other tools see) and against the typed model below
(what the checks read). Either rejection is one sentence naming the file and the field, so a typo in a
check's name or a threshold written as text fails the audit instead of silently dropping a check.
The validated content travels into a component as canonical JSON (`policy_json`); `policy_from_json` reads it back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from components.digests import text_digest
from components.validation import PolicyError, canonical_json, describe_validation_error, read_text, yaml_mapping

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "audit_policy.schema.json"


class AuditPolicyError(PolicyError):
    """An audit policy that cannot be applied; the message names the policy file and the field."""


class _Strict(BaseModel):
    # strict: a threshold written as "0.8" is a mistake, as the JSON Schema says, not a number to coerce
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Check(_Strict):
    requirement: str = Field(min_length=1)
    severity: Literal["block", "warn"]


class ThresholdCheck(Check):
    """Each family's code knows whether the threshold is a minimum or a maximum; the requirement says it in words."""

    threshold: float


class EstimatedCheck(ThresholdCheck):
    """A check whose measurement comes with a bootstrap confidence interval, judged on the point or the bound."""

    rule: Literal["point", "ci_bound"]


class CalibrationCheck(EstimatedCheck):
    bins: int = Field(10, ge=2)


class ProxyCheck(ThresholdCheck):
    """`threshold` is the association above which a highly attributed feature is reported as a proxy."""

    top_k: int = Field(ge=1)


class ChallengerCheck(EstimatedCheck):
    """`threshold` is the AUC margin by which the network must beat the best interpretable challenger."""

    tree_depth: int = Field(3, ge=1, le=8)
    # Depth of the global surrogate tree fitted to the network's scores (its fidelity is reported).
    surrogate_depth: int = Field(3, ge=1, le=8)


class GroundTruthCheck(ThresholdCheck):
    """`threshold` is the least correlation of each method's attributions with a known truth, `min_precision_at_k`
    the least share of the truth's top features among the method's (quality.json's ground_truth)."""

    min_precision_at_k: float = Field(ge=0, le=1)


class DocumentationCheck(Check):
    required_fields: list[str] = Field(min_length=1)


class Checks(_Strict):
    """Every known check; a policy lists those it requires, and an unknown name is an error."""

    overall_auc: EstimatedCheck | None = None
    worst_slice_auc: EstimatedCheck | None = None
    calibration_ece: CalibrationCheck | None = None
    auc_regression: ThresholdCheck | None = None
    challenger_margin: ChallengerCheck | None = None
    disparate_impact_ratio: EstimatedCheck | None = None
    equal_opportunity_difference: EstimatedCheck | None = None
    equalized_odds_difference: EstimatedCheck | None = None
    completeness_error: ThresholdCheck | None = None
    faithfulness: ThresholdCheck | None = None
    lime_stability: ThresholdCheck | None = None
    ground_truth_challenger: GroundTruthCheck | None = None
    ground_truth_planted: GroundTruthCheck | None = None
    protected_attribution_share: ThresholdCheck | None = None
    proxy_features: ProxyCheck | None = None
    anomalies: ThresholdCheck | None = None
    categorical_drift: ThresholdCheck | None = None
    numeric_drift: ThresholdCheck | None = None
    pii_after_deidentification: ThresholdCheck | None = None
    k_anonymity: ThresholdCheck | None = None
    model_card: DocumentationCheck | None = None
    # Multi-class (image) models
    accuracy: EstimatedCheck | None = None
    worst_class_accuracy: EstimatedCheck | None = None
    randomization_sanity: ThresholdCheck | None = None
    ground_truth_marker: ThresholdCheck | None = None


class ProtectedAttribute(_Strict):
    """A slicing column the fairness checks compare groups on, and the model features that carry it."""

    features: list[str]


class Bootstrap(_Strict):
    resamples: int = Field(ge=100)
    confidence: float = Field(gt=0, lt=1)
    seed: int


class PreferInterpretable(_Strict):
    """Ship the run's interpretable model (config `training.challengers`) unless the candidate's eval AUC beats it by
    `within_auc`: on the point estimate, or on the lower end of the gain's bootstrap interval (`ci_bound`)."""

    within_auc: float = Field(ge=0, le=1)
    rule: Literal["point", "ci_bound"] = "ci_bound"


class AuditPolicy(_Strict):
    """A validated policy; `source` (the file) names errors but is not part of the content or its digest."""

    version: Literal[1]
    # Empty where no person is described (e.g. images of digits): then no fairness check can apply.
    protected_attributes: dict[str, ProtectedAttribute]
    min_group_examples: int = Field(ge=1)
    bootstrap: Bootstrap
    inconclusive_blocks: bool = False
    prefer_interpretable: PreferInterpretable | None = None
    checks: Checks
    # Check families that do not apply to this model, each with the reason; the report lists them as such.
    not_applicable: dict[Literal["performance", "challenger", "fairness", "explanation", "data", "privacy",
                                 "documentation"], str] = Field(default_factory=dict)

    _source: str = PrivateAttr("<policy>")

    @property
    def source(self) -> str:
        return self._source

    @property
    def protected_features(self) -> list[str]:
        return sorted({f for attribute in self.protected_attributes.values() for f in attribute.features})

    def error(self, field_path: str, message: str) -> AuditPolicyError:
        """An AuditPolicyError in the project's one-sentence form: file, field, what is wrong."""
        return AuditPolicyError(f"{self._source}: field '{field_path}': {message}")


def policy_json(policy: AuditPolicy) -> str:
    """The policy's content as canonical JSON: how it travels into a component (and into its cache key)."""
    return canonical_json(policy.model_dump(mode="json"))


def policy_digest(policy: AuditPolicy) -> str:
    """sha256 of the policy's content, independent of YAML layout and comments: the policy's identity in lineage."""
    return text_digest(policy_json(policy))


def load_policy(path: Path | str) -> AuditPolicy:
    path = Path(path)
    return parse_policy(read_text(path, "policy", AuditPolicyError), source=str(path))


def parse_policy(text: str, source: str = "<policy>") -> AuditPolicy:
    """Validates policy YAML text against the JSON Schema, then the typed model."""
    data = yaml_mapping(text, source, AuditPolicyError)
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    schema_error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if schema_error is not None:
        raise AuditPolicyError(describe_schema_error(schema_error, source))
    return _validated(data, source)


def policy_from_json(content: str, source: str) -> AuditPolicy:
    """The policy as a component carries it (`policy_json`), validated again by the typed model; errors name
    `source`, the file it was read from. Not by the JSON Schema: that judged the file, and the content written
    back from the model spells out every default (an absent check as null), which the schema is not about."""
    return _validated(json.loads(content), source)


def _validated(data: dict, source: str) -> AuditPolicy:
    try:
        policy = AuditPolicy.model_validate(data)
    except ValidationError as error:
        raise AuditPolicyError(describe_validation_error(error, source)) from None
    policy._source = source
    return policy


def describe_schema_error(error: jsonschema.ValidationError, source: str) -> str:
    """jsonschema's complaint in the form of describe_validation_error, with the offending field in the path."""
    path = [str(part) for part in error.absolute_path]
    if error.validator == "required":
        missing = next(name for name in error.validator_value if name not in error.instance)
        path, message = path + [missing], "required but missing"
    elif error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))[0]
        what = "check" if path == ["checks"] else "field"
        known = ", ".join(error.schema.get("properties", {}))
        path, message = path + [unknown], f"unknown {what} '{unknown}'; expected one of {known}"
    else:
        message = error.message
    return f"{source}: field '{'.'.join(path) or '(top level)'}': {message}"
