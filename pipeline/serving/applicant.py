"""What an applicant sent, checked against the training run's contract and de-identified before anything else reads it.

An applicant arrives as the training CSV's columns as JSON values, the label left out. The contract is the training
run's schema, which describes the data after the Privacy step, read back through the privacy policy: a column the
policy renames (`applicant_name` -> `applicant_id`) is checked under its raw name, a column it drops (`email`) may be
sent and is dropped unread, and a column neither knows is refused, as the data contract would refuse it in a run.
Each problem raises `InvalidApplicantError`, naming the item's index in the request and the field, never the value: a
value in the wrong field may be personal data. Then the policy is applied to the row as Privacy applies it to a
training row (`apply_policy_to_row`, the per-row definition its batched form is tested against), with the run's key,
and only the de-identified row goes on: the raw one is not kept.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from tensorflow_metadata.proto.v0 import schema_pb2

from components.example_validator.environments import in_environment
from components.privacy.actions import apply_policy_to_row
from components.privacy.examples import row_to_example
from components.privacy.policy import PrivacyPolicy, PseudonymKey

ENVIRONMENT = "SERVING"  # the schema's environment of a decision request: the label is not in it
INT, FLOAT, BYTES = schema_pb2.INT, schema_pb2.FLOAT, schema_pb2.BYTES
TYPE_NAMES = {INT: "an integer", FLOAT: "a number", BYTES: "a string"}


class InvalidApplicantError(ValueError):
    """One field of one item breaks the contract: `index` (the item's position in the request), `field` (the raw
    column, None for the item as a whole) and `problem`; the message says all three and never the value."""

    def __init__(self, index: int, field: str | None, problem: str):
        self.index, self.field, self.problem = index, field, problem
        where = f"item {index}, field '{field}'" if field else f"item {index}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Column:
    """A raw column of a request: its name as sent, its name after de-identification (None when dropped), and the
    schema feature that checks it there (None for a dropped column)."""

    raw: str
    released: str | None
    feature: schema_pb2.Feature | None
    action: str

    @property
    def required(self) -> bool:
        return self.feature is not None and self.feature.presence.min_fraction >= 1.0


def _string_domains(schema: schema_pb2.Schema) -> Dict[str, List[str]]:
    return {domain.name: list(domain.value) for domain in schema.string_domain}


class ApplicantContract:
    """The columns a request may send and how each is checked, de-identified and encoded for the model."""

    def __init__(self, schema: schema_pb2.Schema, policy: PrivacyPolicy | None, key: PseudonymKey | None, label: str):
        self.schema, self.policy, self.key, self.label = schema, policy, key, label
        features = {f.name: f for f in schema.feature if f.name != label and in_environment(f, ENVIRONMENT, schema)}
        columns: Dict[str, Column] = {}
        rules = policy.columns if policy else {}
        for raw, rule in rules.items():
            if raw == label:
                continue
            released = None if rule.action == "drop" else policy.output_name(raw)
            columns[raw] = Column(raw, released, features.get(released) if released else None, rule.action)
        produced = {c.released for c in columns.values()}
        for name, feature in features.items():  # a schema feature no policy column produces is sent as it is
            if name not in produced:
                columns[name] = Column(name, name, feature, "keep" if policy is None else "redact_pii")
        self.columns = columns
        self._domains = _string_domains(schema)

    @property
    def raw_columns(self) -> List[str]:
        return list(self.columns)

    def domain(self, feature: schema_pb2.Feature) -> List[str] | None:
        """The categories a string feature may take, when the schema closes its domain."""
        if feature.HasField("string_domain"):
            return list(feature.string_domain.value)
        return self._domains.get(feature.domain) if feature.domain else None

    def check(self, index: int, item: Any) -> None:
        """Raises InvalidApplicantError for the first problem of item `index` as sent: its fields, their presence and
        types, and the values of the columns released as they are (the others are checked once de-identified)."""
        if not isinstance(item, Mapping):
            raise InvalidApplicantError(index, None, f"expected a JSON object of fields, got {_json_type(item)}")
        for name in item:
            if name == self.label:
                raise InvalidApplicantError(index, name, "is the label, the outcome the model predicts; a decision "
                                                         "request cannot carry it")
            if name not in self.columns:
                raise InvalidApplicantError(index, name, f"unknown field; the contract has {', '.join(self.columns)}")
        for column in self.columns.values():
            value = item.get(column.raw)
            if value is None:
                if column.required:
                    raise InvalidApplicantError(index, column.raw, "missing (required)")
            elif column.action == "keep" and column.feature is not None:
                self._check_value(index, column.raw, column.feature, value)
            elif isinstance(value, bool) or not isinstance(value, (str, numbers.Real)):
                # Dropped, or changed by its action (pseudonymized, redacted, generalized): a scalar it can read.
                raise InvalidApplicantError(index, column.raw,
                                            f"expected a string or a number, got {_json_type(value)}")

    def _check_value(self, index: int, name: str, feature: schema_pb2.Feature, value: Any) -> None:
        kind = feature.type
        if kind == BYTES:
            if not isinstance(value, str):
                raise InvalidApplicantError(index, name, f"expected a string, got {_json_type(value)}")
            categories = self.domain(feature)
            if categories is not None and value not in categories:
                raise InvalidApplicantError(index, name, f"unknown category; expected one of {', '.join(categories)}")
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidApplicantError(index, name, f"expected {TYPE_NAMES[kind]}, got {_json_type(value)}")
        if not math.isfinite(value):
            raise InvalidApplicantError(index, name, "expected a finite number")
        if kind == INT and float(value) != int(value):
            raise InvalidApplicantError(index, name, "expected an integer, got a number with a fraction")
        bounds = _bounds(feature)
        if bounds is not None:
            low, high = bounds
            if (low is not None and value < low) or (high is not None and value > high):
                raise InvalidApplicantError(index, name, f"out of range; expected {_range(low, high)}")

    def deidentify(self, index: int, item: Mapping[str, Any]) -> Dict[str, Any]:
        """Checked item `index` as the policy releases it: under the released names, in the contract's column order,
        kept values typed as the schema says (integers as int, numbers as float); a released value the schema
        refuses (a generalization's output) raises InvalidApplicantError naming the raw field."""
        row = {column: _typed(self.columns[column], item.get(column)) for column in self.columns}
        if self.policy is None:
            return row
        try:
            released = apply_policy_to_row(row, self.policy, self.key)
        except ValueError as error:  # "column X: value is not a number": the column, never the value
            column, _, problem = str(error).partition(": ")
            raise InvalidApplicantError(index, column.removeprefix("column "), problem) from None
        for column in self.columns.values():
            value = released.get(column.released) if column.released else None
            if column.action != "keep" and column.feature is not None and value is not None:
                self._check_value(index, column.raw, column.feature, value)
        return released

    def checked(self, items: Sequence[Any]) -> List[Dict[str, Any]]:
        """Every item checked, the first problem raising before anything is de-identified; then each de-identified.
        The raw items are not kept."""
        for index, item in enumerate(items):
            self.check(index, item)
        return [self.deidentify(index, item) for index, item in enumerate(items)]


def encode(rows: Sequence[Mapping[str, Any]]) -> List[bytes]:
    """De-identified rows as serialized tf.Examples, each value in its schema type (as `row_to_example` writes it)."""
    return [row_to_example(dict(row)) for row in rows]


def _typed(column: Column, value: Any) -> Any:
    """A number in the type of the schema feature it is released as (12.0 for an INT feature becomes 12, which the
    model parses as int64); text, and the input of an action that changes a value's type, as they are."""
    if value is None or column.feature is None or column.action not in ("keep", "redact_pii"):
        return value
    if isinstance(value, str):
        return value
    if column.feature.type == INT:
        return int(value) if float(value).is_integer() else value  # 12.5 stays, for the check to refuse
    if column.feature.type == FLOAT:
        return float(value)
    return value


def _bounds(feature: schema_pb2.Feature) -> Tuple[float | None, float | None] | None:
    for name in ("int_domain", "float_domain"):
        if feature.HasField(name):
            domain = getattr(feature, name)
            low = domain.min if domain.HasField("min") else None
            high = domain.max if domain.HasField("max") else None
            return low, high
    return None


def _range(low, high) -> str:
    if low is not None and high is not None:
        return f"{low:g} to {high:g}"
    return f"at least {low:g}" if low is not None else f"at most {high:g}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, numbers.Integral):
        return "an integer"
    if isinstance(value, numbers.Real):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    return type(value).__name__
