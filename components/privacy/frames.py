"""The policy on batches: serialized tf.Examples <-> pandas frames, and the per-row functions a column at a time.

A frame holds one example per row and one feature per column, with the values `example_to_row`
reads: an int, float or str, or None for an empty feature. tfx_bsl's C++ coders turn records into
Arrow and back, so no Python touches a tf.Example. Every function here maps the pure functions of
actions.py and detectors.py over a column, calling them once per distinct value in the batch
(categorical columns repeat a handful of values, and detection is most of the cost): the per-row
functions stay the one definition of the policy, and the tests hold both forms to the same results.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any, Callable, Dict, List, Set, Tuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tfx_bsl.coders import example_coder

from components.privacy.actions import apply_action, generalize, generalized_columns, placeable, value_shape
from components.privacy.detectors import detect
from components.privacy.policy import PrivacyPolicy, PseudonymKey

# equivalence class -> (rows, sensitive labels); the labels are {None} without l-diversity
ClassStats = Dict[tuple, Tuple[int, Set]]


def examples_to_frame(records: List[bytes]) -> pd.DataFrame:
    """Serialized tf.Examples as a frame of scalars. A feature with several values in one example is refused:
    the detectors and actions read single values, and a list would pass them unread."""
    batch = example_coder.ExamplesToRecordBatchDecoder().DecodeBatch(records)
    return pd.DataFrame({name: _scalars(name, column) for name, column in zip(batch.schema.names, batch.columns)})


def _scalars(name: str, column: pa.Array) -> pd.Series:
    if pa.types.is_null(column.type):  # no example in the batch has a value
        return pd.Series([None] * len(column), dtype=object)
    if pa.types.is_large_binary(column.type.value_type):
        column = column.cast(pa.large_list(pa.large_string()))  # UTF-8, as example_to_row decodes bytes
    lengths = pc.list_value_length(column).fill_null(0).to_numpy(zero_copy_only=False)
    if (lengths > 1).any():
        raise ValueError(f"column {name}: {(lengths > 1).sum()} examples have several values; "
                         f"the policy applies to single values")
    values = column.flatten()
    present = lengths == 1
    if present.all():
        return values.to_pandas()  # numbers stay a numpy array
    scalars = np.full(len(column), None, dtype=object)
    scalars[present] = values.to_pylist()
    return pd.Series(scalars)


def frame_to_examples(frame: pd.DataFrame) -> List[bytes]:
    """The frame as serialized tf.Examples: ints as int64, floats as float32, strings as UTF-8 bytes, None as an
    empty feature (as `row_to_example` writes them)."""
    arrays = [_feature_column(column, frame[column]) for column in frame.columns]
    return example_coder.RecordBatchToExamplesEncoder().encode(pa.RecordBatch.from_arrays(arrays, list(frame.columns)))


def _feature_column(name: str, values: pd.Series) -> pa.Array:
    missing = values.isna().to_numpy() if values.dtype == object else np.zeros(len(values), dtype=bool)
    try:
        flat = pa.array(values.to_numpy()[~missing])  # numbers straight from numpy, objects converted in C++
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # pyarrow's message shows a value: name only the column
        raise ValueError(f"column {name}: its values mix types (numbers and text)") from None
    if pa.types.is_floating(flat.type):
        flat = flat.cast(pa.float32())
    elif pa.types.is_integer(flat.type) or pa.types.is_boolean(flat.type):
        flat = flat.cast(pa.int64())
    else:  # text, or no value at all in this batch
        flat = flat.cast(pa.large_binary())
    offsets = np.concatenate([[0], np.cumsum(~missing)])
    return pa.LargeListArray.from_arrays(pa.array(offsets, type=pa.int64()), flat, mask=pa.array(missing))


def _per_distinct(values: pd.Series, function: Callable[[Any], Any], missing: Any = None) -> np.ndarray:
    """function(value) for every value, called once per distinct value; `missing` where the value is None."""
    codes, distinct = pd.factorize(values)
    results = pd.Series([function(value) for value in distinct.tolist()] + [missing], dtype=object).to_numpy()
    return results[codes]  # code -1, a missing value, is the last entry


def unplaceable_values(raw: pd.DataFrame, policy: PrivacyPolicy) -> Dict[str, Tuple[int, str]]:
    """Per generalized column (`generalized_columns`) holding values its generalization cannot place: how many rows
    hold one, and the least of their shapes (`value_shape`). Empty when every value can be placed."""
    found = {}
    for column, (_, spec) in generalized_columns(policy).items():
        values = raw[column]
        bad = ~_per_distinct(values, partial(placeable, spec=spec), missing=True).astype(bool)
        if bad.any():
            found[column] = (int(bad.sum()), min(map(value_shape, values[bad])))
    return found


def deidentify_frame(frame: pd.DataFrame, policy: PrivacyPolicy, key: PseudonymKey | None) -> pd.DataFrame:
    """`apply_policy_to_row` on every row: the released columns, in the input's order, under their output names."""
    released = {}
    for column in frame.columns:
        rule = policy.columns.get(column)
        action = rule.action if rule else "redact_pii"
        if action == "drop":
            continue
        values = frame[column]
        if action == "keep" or (action == "redact_pii" and values.dtype != object):  # numbers hold no text
            released[policy.output_name(column)] = values
            continue
        try:
            function = partial(apply_action, action, spec=rule.generalize if rule else None, key=key)
            released[policy.output_name(column)] = pd.Series(_per_distinct(values, function), index=frame.index)
        except ValueError as error:
            raise ValueError(f"column {column}: {error}") from None
    return pd.DataFrame(released, index=frame.index)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _text_mask(values: pd.Series) -> np.ndarray:
    """Where the values are non-empty strings, the only values the detectors read."""
    if values.dtype != object:  # a numpy array of numbers
        return np.zeros(len(values), dtype=bool)
    return _per_distinct(values, _is_text, missing=False).astype(bool)


def _has_pii(value: Any) -> bool:
    return isinstance(value, str) and bool(detect(value))


def _count_with_pii(values: pd.Series) -> int:
    return int(_per_distinct(values, _has_pii, missing=False).sum()) if len(values) else 0


def column_counts(raw: pd.DataFrame, released: pd.DataFrame, policy: PrivacyPolicy) -> Counter:
    """Per raw column: its rows, the rows its action changed, its non-empty text values, and how many of those
    hold PII before and after the action (after: in the released value of the same row).

    Each distinct value is scanned once, and only where the answer is not known already: a kept column's
    released values are its raw ones, and `redact` changes a value exactly when a detector fires on it, so a
    redacted column counts its changes as its PII before and rescans only the values it changed.
    """
    counts: Counter = Counter()
    for column in raw.columns:
        rule = policy.columns.get(column)
        action = rule.action if rule else "redact_pii"
        before = raw[column]
        text = _text_mask(before)
        if action == "drop":
            changed = before.notna().to_numpy()
            pii_before, pii_after = _count_with_pii(before[text]), 0
        else:
            after = released[policy.output_name(column)]
            changed = ((before != after) & (before.notna() | after.notna())).to_numpy()
            if action == "keep":
                pii_before = pii_after = _count_with_pii(before[text])
            elif action == "redact_pii":
                pii_before, pii_after = int((changed & text).sum()), _count_with_pii(after[changed & text])
            else:
                pii_before, pii_after = _count_with_pii(before[text]), _count_with_pii(after[text])
        counts.update({(column, "rows"): len(before), (column, "affected"): int(changed.sum()),
                       (column, "non_empty_text"): int(text.sum()), (column, "pii_before"): pii_before,
                       (column, "pii_after"): pii_after})
    return counts


def equivalence_classes(released: pd.DataFrame, policy: PrivacyPolicy) -> List[tuple]:
    """`quasi_identifier_tuple` of every row."""
    columns = []
    for column in policy.quasi_identifiers:
        values = released[policy.output_name(column)]
        spec = policy.quasi_identifier_generalization.get(column)
        columns.append(_per_distinct(values, partial(generalize, spec=spec)) if spec else values.tolist())
    return list(zip(*columns)) if columns else [()] * len(released)


def class_stats(released: pd.DataFrame, policy: PrivacyPolicy, classes: List[tuple] | None = None) -> ClassStats:
    """The rows and the set of sensitive labels of each equivalence class in the frame; `classes`: its rows'
    `equivalence_classes`, where the caller has them already."""
    label = policy.output_name(policy.applied_l_diversity.label) if policy.applied_l_diversity else None
    labels = released[label].tolist() if label else [None] * len(released)
    classes = equivalence_classes(released, policy) if classes is None else classes
    stats: ClassStats = {}
    for (group, value), rows in Counter(zip(classes, labels)).items():
        count, values = stats.get(group, (0, set()))
        stats[group] = (count + rows, values | {value})
    return stats


def without_classes(released: pd.DataFrame, policy: PrivacyPolicy, suppressed: Set[tuple]) -> pd.DataFrame:
    """The rows whose equivalence class is not suppressed."""
    if not suppressed:
        return released
    return released[np.array([group not in suppressed for group in equivalence_classes(released, policy)])]
