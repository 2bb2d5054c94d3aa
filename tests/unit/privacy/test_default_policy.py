"""The default policy on the generated raw data: nothing identifying survives, and k and l are met after suppression."""

from collections import Counter, defaultdict

import pytest

from components.privacy.actions import (
    apply_policy_to_row,
    classes_to_suppress,
    k_anonymity,
    l_diversity,
    quasi_identifier_tuple,
)
from components.privacy.detectors import detect

PII_COLUMNS = ["applicant_name", "email", "phone", "iban", "street_address", "date_of_birth"]


@pytest.fixture(scope="module")
def deidentified(raw_rows, default_policy, key):
    return [apply_policy_to_row(row, default_policy, key) for row in raw_rows]


def test_no_detector_fires_on_any_output_value(deidentified):
    hits = [(column, value) for row in deidentified for column, value in row.items() if detect(str(value))]
    assert hits == []


def test_no_original_pii_value_appears_anywhere_in_the_output(raw_rows, deidentified):
    released = "\n".join("\t".join(str(value) for value in row.values()) for row in deidentified)
    originals = {row[column] for row in raw_rows for column in PII_COLUMNS}
    originals |= {row["iban"].replace(" ", "") for row in raw_rows}
    assert [value for value in originals if value in released] == []


def test_notes_without_contact_details_pass_unchanged(raw_rows, deidentified):
    plain = [(row["notes"], out["notes"]) for row, out in zip(raw_rows, deidentified)
             if row["email"] not in row["notes"] and row["phone"] not in row["notes"]]
    assert len(plain) > 700
    assert [raw for raw, released in plain if raw != released] == []


def test_output_columns(deidentified, raw_rows):
    source_columns = list(raw_rows[0])[: list(raw_rows[0]).index("applicant_name")]
    assert list(deidentified[0]) == source_columns + ["applicant_id", "notes"]
    assert all(len(row["applicant_id"]) == 64 for row in deidentified)


def test_k_and_l_hold_after_suppressing_a_few_rows(deidentified, default_policy):
    def measure(rows):
        counts, labels = Counter(), defaultdict(set)
        for row in rows:
            group = quasi_identifier_tuple(row, default_policy)
            counts[group] += 1
            labels[group].add(row["risk"])
        return counts, labels

    counts, labels = measure(deidentified)
    assert (k_anonymity(counts), l_diversity(labels)) == (1, 1)
    suppressed = classes_to_suppress(counts, labels, default_policy)
    released = [row for row in deidentified if quasi_identifier_tuple(row, default_policy) not in suppressed]
    assert len(deidentified) - len(released) == 6
    counts, labels = measure(released)
    assert (k_anonymity(counts), l_diversity(labels)) == (5, 2)
