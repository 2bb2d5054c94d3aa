"""The batched path (frames.py) against the per-row functions: same released rows, column counts and classes."""

from collections import Counter

import pandas as pd
import pytest
import tensorflow as tf
import yaml

from components.privacy.actions import apply_policy_to_row, classes_to_suppress, quasi_identifier_tuple
from components.privacy.examples import example_to_row, row_to_example
from components.privacy.frames import (
    class_stats,
    column_counts,
    deidentify_frame,
    examples_to_frame,
    frame_to_examples,
    without_classes,
)
from components.privacy.policy import parse_policy
from tests.unit.privacy.helpers import (
    DEFAULT_POLICY,
    make_raw_data,
    per_row_class_stats,
    per_row_column_counts,
    read_csv,
    typed,
)

BATCH = 300  # uneven against the rows, so the last batch is short


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    """2,000 generated rows with an undeclared free-text column and an undeclared number, typed like ExampleGen's."""
    out = tmp_path_factory.mktemp("frames") / "raw.csv"
    make_raw_data(out, "--rows", "2000", "--seed", "5")
    return [{**row, "comment": f"{row['notes'] or ''} {row['iban'] if row['age'] % 3 == 0 else ''}".strip() or None,
             "visits": row["duration"] % 5 or None} for row in typed(read_csv(out))]


def _policy(columns, edit=None):
    """The default policy, optionally changed: every action, a rename, keep on PII and an undeclared column."""
    data = yaml.safe_load(DEFAULT_POLICY.read_text())
    if edit:
        data["columns"].update(
            phone={"action": "keep"},
            date_of_birth={"action": "generalize", "generalize": {"date": "year"}},
            street_address={"action": "generalize", "generalize": {"truncate": 6}, "rename": "street"},
            purpose={"action": "pseudonymize"},
            age={"action": "generalize", "generalize": {"bands": [30, 40]}},
        )
        data["quasi_identifiers"] = ["sex", "housing", "age"]
        data["quasi_identifier_generalization"] = {}
        data["l_diversity"] = None
    return parse_policy(yaml.safe_dump(data), columns, source="policy.yaml")


def _batched(rows, policy, key):
    """The frame path over batches: released rows (through the encoder), summed column counts, merged classes."""
    released, counts, stats = [], Counter(), {}
    for start in range(0, len(rows), BATCH):
        raw = examples_to_frame([row_to_example(row) for row in rows[start : start + BATCH]])
        out = deidentify_frame(raw, policy, key)
        released += [example_to_row(record) for record in frame_to_examples(out)]
        counts.update(column_counts(raw, out, policy))
        for group, (n, labels) in class_stats(out, policy).items():
            total, all_labels = stats.get(group, (0, set()))
            stats[group] = (total + n, all_labels | labels)
    return released, counts, stats


@pytest.mark.parametrize("edit", [False, True], ids=["default-policy", "every-action"])
def test_batches_give_what_the_per_row_functions_give(rows, key, edit):
    policy = _policy(list(rows[0]), edit)
    expected = [apply_policy_to_row(row, policy, key) for row in rows]
    expected_counts = Counter()
    for row, out in zip(rows, expected):
        expected_counts.update(per_row_column_counts(row, out, policy))

    released, counts, stats = _batched(rows, policy, key)

    # the encoder writes each value as row_to_example would, so reading it back gives the per-row result
    assert released == [example_to_row(row_to_example(row)) for row in expected]
    assert +counts == +expected_counts  # the same non-zero counts
    assert counts[("notes", "pii_before")] > 300 and counts[("comment", "pii_before")] > 300
    assert stats == per_row_class_stats(expected, policy)


def test_suppression_keeps_the_rows_the_per_row_filter_keeps(rows, key):
    policy = _policy(list(rows[0]))
    frame = deidentify_frame(examples_to_frame([row_to_example(row) for row in rows]), policy, key)
    stats = class_stats(frame, policy)
    suppressed = classes_to_suppress({g: n for g, (n, _) in stats.items()}, {g: s for g, (_, s) in stats.items()},
                                     policy)
    assert suppressed
    kept = [example_to_row(record) for record in frame_to_examples(without_classes(frame, policy, suppressed))]
    expected = [out for out in (apply_policy_to_row(row, policy, key) for row in rows)
                if quasi_identifier_tuple(out, policy) not in suppressed]
    assert kept == expected and 0 < len(rows) - len(kept) < 100


def test_detection_once_per_distinct_value_still_counts_every_row(key):
    policy = parse_policy(
        "columns: {email: {action: keep}, notes: {action: redact_pii}, sex: {action: keep}}\n"
        "detector_rate_threshold: 0.5\nquasi_identifiers: [sex]\nk: 1\non_k_violation: fail\n",
        ["email", "notes", "comment", "sex"],
    )
    raw = pd.DataFrame({
        "email": ["a@b.de", "a@b.de", None, "a@b.de", "plain"],
        "notes": ["call +49 30 1234567", "call +49 30 1234567", "", "ok", None],
        "comment": ["mail a@b.de", "mail a@b.de", "mail a@b.de", None, ""],
        "sex": ["female", "female", "male", "female", None],
    })
    released = deidentify_frame(raw, policy, key)
    expected = Counter()
    for row in raw.to_dict("records"):
        expected.update(per_row_column_counts(row, apply_policy_to_row(row, policy, key), policy))
    counts = column_counts(raw, released, policy)
    assert +counts == +expected
    assert (counts[("email", "pii_before")], counts[("notes", "pii_before")], counts[("comment", "pii_before")]) == (
        3, 2, 3)


def test_codec_reads_and_writes_what_the_per_row_codec_does():
    rows = [
        {"name": "Jürgen Müller-Lüdenscheidt", "age": 67, "amount": 12.5, "notes": None, "empty": None},
        {"name": "", "age": 3, "amount": None, "notes": "Zoë", "empty": None},
    ]
    frame = examples_to_frame([row_to_example(row) for row in rows])
    assert frame.to_dict("records") == rows
    parse = tf.train.Example.FromString
    assert [parse(r) for r in frame_to_examples(frame)] == [parse(row_to_example(row)) for row in rows]


def test_features_with_several_values_are_refused_without_showing_them():
    with pytest.raises(ValueError, match="^column tags: 1 examples have several values") as error:
        examples_to_frame([row_to_example({"tags": ["secret-a", "secret-b"]}), row_to_example({"tags": "x"})])
    assert "secret" not in str(error.value)


def test_a_column_of_numbers_and_text_is_refused_naming_only_the_column():
    with pytest.raises(ValueError, match="^column born: its values mix types") as error:
        frame_to_examples(pd.DataFrame({"born": [1990, "1990-05-17"]}, dtype=object))
    assert "1990" not in str(error.value)
