"""The de-identification actions as pure functions on values and rows, and the k-anonymity arithmetic.

The Beam pipeline applies them a batch at a time, column by column (frames.py: the same functions
mapped over pandas Series), counts equivalence classes, and between its two passes asks
`classes_to_suppress` what to do; the per-row forms here are the definition the batched one is
tested against. Nothing here does I/O, so all of it is tested without Beam or TFX. Missing values
(None or "") stay missing under every action: an empty cell identifies no one, and one token for ""
would make everyone without a name the same person. Error messages name columns and counts, never
values: the values are what is being protected. A value that a column's generalization cannot place (`abc`
where the policy bands numbers, `22.03.1956` where it wants an ISO date) is described by its shape instead,
letters as `a`, digits as `9` (`aaa`, `99.99.9999`): enough for its owner to find and correct it, nothing of
what it says (`check_placeable`).
"""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from datetime import date
from typing import Any, Dict, List, Mapping, Sequence, Tuple

from components.privacy.detectors import redact
from components.privacy.policy import Generalization, PrivacyPolicy, PseudonymKey


class PrivacyViolationError(RuntimeError):
    """The data does not meet the policy (PII in an undeclared column, classes below k or l, values that a
    generalization cannot place)."""


def _missing(value: Any) -> bool:
    return value is None or value == ""


def pseudonymize(value: Any, key: PseudonymKey) -> str | None:
    """HMAC-SHA256 of the NFC-normalized text as 64 hex digits: one token per value and key, irreversible without it.

    NFC first, so 'Zoë' typed with a combining diaeresis gets the same token as the precomposed one.
    """
    if _missing(value):
        return value
    text = unicodedata.normalize("NFC", str(value))
    return hmac.new(key.secret, text.encode("utf-8"), hashlib.sha256).hexdigest()


def to_band(value: Any, edges: Sequence[int]) -> str | None:
    """The band a number falls in, named like the pipeline's age bands: edges [25, 35] -> '<25', '25-34', '35+'."""
    if _missing(value):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("value is not a number") from None
    if number < edges[0]:
        return f"<{edges[0]}"
    for lower, upper in zip(edges, edges[1:]):
        if number < upper:
            return f"{lower}-{upper - 1}"
    return f"{edges[-1]}+"


def to_year(value: Any) -> int | None:
    """The year of an ISO date (YYYY-MM-DD)."""
    if _missing(value):
        return value
    if isinstance(value, date):
        return value.year
    try:
        return date.fromisoformat(str(value)).year
    except ValueError:
        raise ValueError("value is not an ISO date (YYYY-MM-DD)") from None


def truncate(value: Any, length: int) -> str | None:
    """The first `length` characters, counted after NFC normalization so a letter and its accent stay together."""
    if _missing(value):
        return value
    return unicodedata.normalize("NFC", str(value))[:length]


def generalize(value: Any, spec: Generalization) -> Any:
    """The value made coarser as the spec says: a band label, a year or a prefix."""
    if spec.bands:
        return to_band(value, spec.bands)
    if spec.date:
        return to_year(value)
    return truncate(value, spec.truncate)


def placeable(value: Any, spec: Generalization) -> bool:
    """Whether `generalize` can coarsen the value: a number for bands, an ISO date for a year, anything to cut."""
    try:
        generalize(value, spec)
    except ValueError:
        return False
    return True


def generalized_columns(policy: PrivacyPolicy) -> Dict[str, Tuple[str, Generalization]]:
    """The raw columns the policy generalizes, each with the policy field that says how: its action's, or the bands
    that measure k on a kept quasi-identifier (the two never meet: those bands are for kept columns only)."""
    columns = {column: (f"columns.{column}.generalize", rule.generalize)
               for column, rule in policy.columns.items() if rule.action == "generalize"}
    columns.update((column, (f"quasi_identifier_generalization.{column}", spec))
                   for column, spec in policy.quasi_identifier_generalization.items())
    return columns


SHAPE_CHARACTERS = 24


def value_shape(value: Any) -> str:
    """What an error message may show of a value: its letters as `a` (`A` upper case), its digits as `9`, the rest
    as it is, cut to 24 characters: `30 Jahre` -> `99 Aaaaa`."""
    shape = "".join("9" if c.isdigit() else ("A" if c.isupper() else "a") if c.isalpha() else c for c in str(value))
    return shape if len(shape) <= SHAPE_CHARACTERS else shape[:SHAPE_CHARACTERS] + "..."


def check_placeable(unplaceable: Mapping[Tuple[str, str], Tuple[int, str]], policy: PrivacyPolicy,
                    splits: List[str]) -> None:
    """Fails closed when a generalized column holds values its generalization cannot place. `unplaceable`: (split,
    column) -> rows holding such a value, and the first such value's shape (`value_shape`)."""
    if not unplaceable:
        return
    columns = generalized_columns(policy)
    found = []
    for (split, column), (rows, shape) in sorted(unplaceable.items(), key=lambda i: (splits.index(i[0][0]), i[0][1])):
        field, spec = columns[column]
        wanted = "a number" if spec.bands else "an ISO date (YYYY-MM-DD)"
        found.append(f"field '{field}' needs {wanted}, and split '{split}' has {rows} {'rows' if rows > 1 else 'row'} "
                     f"without one in column '{column}' (shaped like '{shape}': letters as a, digits as 9)")
    raise PrivacyViolationError(f"{policy.source}: {'; '.join(found)}; nothing was released")


def apply_policy_to_row(row: Mapping[str, Any], policy: PrivacyPolicy, key: PseudonymKey | None) -> dict[str, Any]:
    """The de-identified row, in the input's column order, under the output names the policy gives.

    Columns the policy does not declare pass through, with PII redacted from their text; whether
    such a column may pass at all is `check_detector_rate`'s decision, made over the whole data.
    """
    out: dict[str, Any] = {}
    for column, value in row.items():
        rule = policy.columns.get(column)
        action = rule.action if rule else "redact_pii"
        if action == "drop":
            continue
        try:
            out[policy.output_name(column)] = apply_action(action, value, rule.generalize if rule else None, key)
        except ValueError as error:
            raise ValueError(f"column {column}: {error}") from None
    return out


def apply_action(action: str, value: Any, spec: Generalization | None, key: PseudonymKey | None) -> Any:
    """One value under one column's action (not `drop`, which removes the column)."""
    if action == "keep":
        return value
    if action == "redact_pii":
        return redact(value) if isinstance(value, str) else value
    if action == "generalize":
        return generalize(value, spec)
    # pseudonymize, the one action left: an action added to ACTIONS but not here would be pseudonymized, not leaked
    if key is None:
        raise ValueError("pseudonymize needs the key from load_key()")
    return pseudonymize(value, key)


def undeclared_text(row: Mapping[str, Any], policy: PrivacyPolicy) -> dict[str, str]:
    """The row's non-empty text in columns the policy does not declare: what the detector-rate check scans."""
    return {
        column: value
        for column, value in row.items()
        if column not in policy.columns and isinstance(value, str) and value
    }


def check_detector_rate(column: str, non_empty: int, values_with_pii: int, policy: PrivacyPolicy) -> None:
    """Fails closed: an undeclared text column in which PII shows up too often is an identifier nobody declared."""
    rate = values_with_pii / non_empty if non_empty else 0.0
    if rate > policy.detector_rate_threshold:
        raise PrivacyViolationError(
            f"column '{column}' is not declared in {policy.source}, and PII detectors fire on {values_with_pii} of "
            f"its {non_empty} values ({rate:.1%} > detector_rate_threshold {policy.detector_rate_threshold:.1%}); "
            f"declare it under columns"
        )


def quasi_identifier_tuple(row: Mapping[str, Any], policy: PrivacyPolicy) -> tuple:
    """A de-identified row's equivalence class: its quasi-identifiers as released, coarsened where the policy says."""
    values = []
    for column in policy.quasi_identifiers:
        value = row[policy.output_name(column)]
        spec = policy.quasi_identifier_generalization.get(column)
        values.append(generalize(value, spec) if spec else value)
    return tuple(values)


def k_anonymity(counts: Mapping[tuple, int]) -> int:
    """The size of the smallest equivalence class; 0 for no rows, so an empty release never passes by accident."""
    return min(counts.values(), default=0)


def l_diversity(label_sets: Mapping[tuple, set]) -> int:
    """Distinct l-diversity: the fewest distinct sensitive labels in any equivalence class (0 for no rows)."""
    return min((len(labels) for labels in label_sets.values()), default=0)


def classes_to_suppress(
    counts: Mapping[tuple, int], label_sets: Mapping[tuple, set], policy: PrivacyPolicy
) -> set[tuple]:
    """The equivalence classes below k (or below l, when l-diversity is asked for), to be removed whole.

    Raises PrivacyViolationError instead when the policy says `on_k_violation: fail` and any class falls short.
    """
    violating = {group for group, count in counts.items() if count < policy.k}
    if policy.l_diversity:
        violating |= {group for group, labels in label_sets.items() if len(labels) < policy.l_diversity.distinct}
    if violating and policy.on_k_violation == "fail":
        rows = sum(counts.get(group, 0) for group in violating)
        measured = f"k={k_anonymity(counts)} (policy: {policy.k})"
        if policy.l_diversity:
            measured += f", l={l_diversity(label_sets)} (policy: {policy.l_diversity.distinct})"
        raise PrivacyViolationError(
            f"{policy.source}: {measured} on quasi-identifiers {', '.join(policy.quasi_identifiers)}: "
            f"{len(violating)} equivalence classes with {rows} rows fall short"
        )
    return violating
