"""The privacy policy: what happens to each column, and how anonymous the result must be.

A policy is a YAML file validated in full before any data is read, against the columns the data
actually has, so a typo fails the run with one sentence naming the file and the field instead of
silently passing a column through. Its structure is validated when the pipeline is built (`read_policy`),
and the validated content travels into the Privacy component as canonical JSON (`policy_json`), where
`policy_from_json` validates it again, now against the data's columns. The pseudonymization key is
never part of the policy: the policy names where the key lives (an environment variable or a secret
file), and the key itself stays out of reprs, logs and error messages.

The data comes from an environment, as in a TFDV schema: TRAINING data has every column the policy declares,
SERVING data (a span that monitoring watches) may lack the sensitive label that l-diversity protects. There, and
only there, l-diversity is skipped, and the policy says why (`l_diversity_skipped`): with no label in the data, no
equivalence class can reveal one. Training data without the label still fails closed, naming the column.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from components.digests import text_digest
from components.validation import PolicyError, canonical_json, describe_validation_error, read_text, yaml_mapping

ACTIONS = ("drop", "keep", "pseudonymize", "generalize", "redact_pii")
ENVIRONMENTS = ("TRAINING", "SERVING")
MIN_KEY_BYTES = 16  # 128 bits: a shorter, password-like key can be found by guessing it against known tokens


class PrivacyPolicyError(PolicyError):
    """A privacy policy that cannot be applied; the message names the policy file and the field."""


@dataclass(frozen=True)
class PseudonymKey:
    """The HMAC key; its repr shows no bytes, so a logged object or a traceback cannot leak it."""

    secret: bytes = field(repr=False)

    @property
    def key_id(self) -> str:
        """Names the key without revealing it (an HMAC of a fixed label under the key): which key made a run's
        pseudonyms, for lineage and for the cache key, so a rotated key reruns Privacy."""
        return hmac.new(self.secret, b"glassbox pseudonymization key id", hashlib.sha256).hexdigest()[:16]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Generalization(_Strict):
    """Exactly one of: numeric bands between interior edges, a date reduced to its year, a string cut short."""

    bands: list[int] | None = Field(None, min_length=1)
    date: Literal["year"] | None = None
    truncate: int | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _exactly_one(self) -> Generalization:
        chosen = [name for name in ("bands", "date", "truncate") if getattr(self, name) is not None]
        if len(chosen) != 1:
            raise PydanticCustomError("one_of", "give exactly one of bands, date, truncate")
        if self.bands and any(lo >= hi for lo, hi in zip(self.bands, self.bands[1:])):
            raise PydanticCustomError("increasing", "bands must be strictly increasing")
        return self


class ColumnRule(_Strict):
    """What happens to one column; `rename` gives its output name (a pseudonym is no longer a name)."""

    action: str
    rename: str | None = Field(None, min_length=1)
    generalize: Generalization | None = None

    @field_validator("action")
    @classmethod
    def _known_action(cls, action: str) -> str:
        if action not in ACTIONS:
            raise PydanticCustomError(
                "unknown_action", "unknown action '{action}'; expected one of {expected}",
                {"action": action, "expected": ", ".join(ACTIONS)},
            )
        return action

    @model_validator(mode="after")
    def _generalize_iff_generalizing(self) -> ColumnRule:
        if (self.action == "generalize") != (self.generalize is not None):
            raise PydanticCustomError("generalize", "the generalize action, and only it, needs a generalize: block")
        if self.action == "drop" and self.rename:
            raise PydanticCustomError("rename", "a dropped column has no output to rename")
        return self


class LDiversity(_Strict):
    """Each equivalence class must hold at least `l` distinct values of the sensitive `label`."""

    label: str
    distinct: int = Field(alias="l", ge=2)


class PrivacyPolicy(_Strict):
    """A validated policy; `source` (the file) is kept outside the content, so it names errors but not the digest."""

    columns: dict[str, ColumnRule]
    key_env: str | None = None
    key_file: str | None = None
    detector_rate_threshold: float = Field(ge=0, le=1)
    quasi_identifiers: list[str]
    # Coarser views of quasi-identifiers used only to measure k: the column itself is released as its rule says.
    quasi_identifier_generalization: dict[str, Generalization] = {}
    k: int = Field(ge=1)
    l_diversity: LDiversity | None = None
    on_k_violation: Literal["fail", "suppress"]

    _source: str = PrivateAttr("<policy>")
    _base_dir: Path = PrivateAttr(Path("."))
    # Set when the policy is fitted to SERVING data that lacks the sensitive label; not part of the content (digest).
    _l_diversity_skipped: str | None = PrivateAttr(None)

    @property
    def source(self) -> str:
        return self._source

    @property
    def l_diversity_skipped(self) -> str | None:
        """Why l_diversity does not apply to the data at hand; None where it applies or none is asked for."""
        return self._l_diversity_skipped

    @property
    def applied_l_diversity(self) -> LDiversity | None:
        """l_diversity where it applies to the data at hand: what the de-identification checks."""
        return None if self._l_diversity_skipped else self.l_diversity

    def output_name(self, column: str) -> str:
        """The column's name in the de-identified data."""
        rule = self.columns.get(column)
        return rule.rename if rule and rule.rename else column

    def error(self, field_path: str, message: str) -> PrivacyPolicyError:
        """A PrivacyPolicyError in the project's one-sentence form: file, field, what is wrong."""
        return PrivacyPolicyError(f"{self._source}: field '{field_path}': {message}")


def policy_json(policy: PrivacyPolicy) -> str:
    """The policy's content as canonical JSON: how it travels into the Privacy component (and into its cache key)."""
    return canonical_json(policy.model_dump(mode="json", by_alias=True))


def policy_digest(policy: PrivacyPolicy) -> str:
    """sha256 of the policy's content, independent of YAML layout and comments: the policy's identity in lineage."""
    return text_digest(policy_json(policy))


def read_policy(path: Path | str) -> PrivacyPolicy:
    """Reads and validates a policy file's structure, before the data is at hand; relative key files resolve from it.

    Its fit to the data's columns is checked where they are known: `load_policy`, `policy_from_json`."""
    path = Path(path)
    text = read_text(path, "policy", PrivacyPolicyError)
    return _validated(yaml_mapping(text, str(path), PrivacyPolicyError), source=str(path), base_dir=path.parent)


def load_policy(path: Path | str, columns: Sequence[str]) -> PrivacyPolicy:
    """Reads and validates a policy file against the data's column names; relative key files resolve from it."""
    policy = read_policy(path)
    _fit_to_columns(policy, list(columns))
    return policy


def parse_policy(
    text: str, columns: Sequence[str], source: str = "<policy>", base_dir: Path | str = "."
) -> PrivacyPolicy:
    """Validates policy YAML text: structure and types first, then its fit to the data's columns."""
    policy = _validated(yaml_mapping(text, source, PrivacyPolicyError), source, base_dir)
    _fit_to_columns(policy, list(columns))
    return policy


def check_environment(environment: str) -> None:
    """Fails naming the known environments when `environment` is not one of them."""
    if environment not in ENVIRONMENTS:
        raise ValueError(f"Privacy: unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}")


def policy_from_json(content: str, columns: Sequence[str], source: str, environment: str = "TRAINING"
                     ) -> PrivacyPolicy:
    """The policy as the Privacy component carries it (`policy_json`), validated again and against the columns of
    the data, which comes from `environment` (ENVIRONMENTS; module docstring); errors name `source`, the file it was
    read from, and a relative key file resolves from that file."""
    check_environment(environment)
    policy = _validated(json.loads(content), source, Path(source).parent)
    _fit_to_columns(policy, list(columns), environment)
    return policy


def _validated(data: dict, source: str, base_dir: Path | str) -> PrivacyPolicy:
    try:
        policy = PrivacyPolicy.model_validate(data)
    except ValidationError as error:
        raise PrivacyPolicyError(describe_validation_error(error, source)) from None
    policy._source = source
    policy._base_dir = Path(base_dir)
    return policy


def _fit_to_columns(policy: PrivacyPolicy, columns: list[str], environment: str = "TRAINING") -> None:
    """Checks the policy against the data's columns; in SERVING data without the sensitive label, records that
    l-diversity is skipped instead of failing on the absent column."""
    known = set(columns)
    sensitive = policy.l_diversity.label if policy.l_diversity else None
    if environment == "SERVING" and sensitive and sensitive not in known:
        policy._l_diversity_skipped = (f"the sensitive column '{sensitive}' is absent from this {environment} data "
                                       "(a span without labels): there is no label for a class to reveal")
        known.add(sensitive)
    for column in policy.columns:
        if column not in known:
            raise policy.error(f"columns.{column}", f"unknown column '{column}'; the data has {', '.join(columns)}")
    outputs: dict[str, str] = {}
    for column in columns:
        rule = policy.columns.get(column)
        if rule and rule.action == "drop":
            continue
        name = policy.output_name(column)
        if name in outputs:  # blame the column that was renamed onto another's name
            renamed, other = (column, outputs[name]) if rule and rule.rename else (outputs[name], column)
            raise policy.error(f"columns.{renamed}.rename", f"'{name}' is already the output of '{other}'")
        outputs[name] = column
    if pseudonymizes(policy) and not (policy.key_env or policy.key_file):
        raise policy.error("key_env", "the pseudonymize action needs a key: name key_env or key_file")
    for index, column in enumerate(policy.quasi_identifiers):
        _require_action(policy, f"quasi_identifiers.{index}", column, ("keep", "generalize"))
    for column in policy.quasi_identifier_generalization:
        if column not in policy.quasi_identifiers:
            raise policy.error(f"quasi_identifier_generalization.{column}", "not one of the quasi_identifiers")
        _require_action(policy, f"quasi_identifier_generalization.{column}", column, ("keep",))
    if policy.l_diversity:
        _require_action(policy, "l_diversity.label", policy.l_diversity.label, ("keep",))
        if policy.l_diversity.label in policy.quasi_identifiers:
            raise policy.error("l_diversity.label", "the sensitive label cannot also be a quasi-identifier")


def _require_action(policy: PrivacyPolicy, field_path: str, column: str, actions: Sequence[str]) -> None:
    rule = policy.columns.get(column)
    if rule is None or rule.action not in actions:
        found = f"its action is {rule.action}" if rule else "it is not in columns"
        raise policy.error(field_path, f"column '{column}' must have action {' or '.join(actions)}, but {found}")


def load_key(policy: PrivacyPolicy, environ: Mapping[str, str] | None = None) -> PseudonymKey:
    """The pseudonymization key from the policy's key_env, else its key_file; fails naming where it looked."""
    environ = os.environ if environ is None else environ
    if policy.key_env and environ.get(policy.key_env):
        return _checked_key(policy, "key_env", environ[policy.key_env].encode("utf-8"))
    key_path = _key_file_path(policy)
    if key_path and key_path.is_file():
        return _checked_key(policy, "key_file", key_path.read_bytes().strip())
    places = []
    if policy.key_env:
        places.append(f"environment variable {policy.key_env} is not set")
    if key_path:
        places.append(f"key file {key_path} does not exist")
    field_path = "key_env" if policy.key_env else "key_file"
    raise policy.error(field_path, f"no pseudonymization key: {' and '.join(places) or 'no key_env or key_file named'}")


def pseudonymizes(policy: PrivacyPolicy) -> bool:
    return any(rule.action == "pseudonymize" for rule in policy.columns.values())


def key_id_if_available(policy: PrivacyPolicy) -> str:
    """The key's id when the policy needs a key and it can be read now, else ''. A pipeline compiled for an
    orchestrator is built where the key is not (it lives in the cluster's secrets): there the id is recorded when
    the step runs, and a rotated key is seen in lineage, not in the cache key."""
    if not pseudonymizes(policy):
        return ""
    try:
        return load_key(policy).key_id
    except PrivacyPolicyError:
        return ""


def _key_file_path(policy: PrivacyPolicy) -> Path | None:
    """key_file as written, with ~ expanded; a relative path is relative to the policy file, not the working dir."""
    if not policy.key_file:
        return None
    path = Path(policy.key_file).expanduser()
    return path if path.is_absolute() else policy._base_dir / path


def _checked_key(policy: PrivacyPolicy, field_path: str, secret: bytes) -> PseudonymKey:
    if len(secret) < MIN_KEY_BYTES:
        raise policy.error(field_path, f"the key has {len(secret)} bytes; at least {MIN_KEY_BYTES} are needed")
    return PseudonymKey(secret)
