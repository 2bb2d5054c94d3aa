"""The actions on single values and rows, and the k-anonymity / l-diversity arithmetic."""

import hashlib
import hmac
import re
from collections import Counter, defaultdict

import pytest
import yaml

from components.privacy.actions import (
    PrivacyViolationError,
    apply_policy_to_row,
    check_detector_rate,
    classes_to_suppress,
    generalize,
    k_anonymity,
    l_diversity,
    pseudonymize,
    quasi_identifier_tuple,
    to_band,
    to_year,
    truncate,
    undeclared_text,
    value_shape,
)
from components.privacy.policy import Generalization, PseudonymKey, parse_policy

NAMES = ["Jürgen Müller-Lüdenscheidt", "Zoë", "Anna Schmidt", "李小龙", "Ørjan Øverby"]
KEY = PseudonymKey(b"first-key-0123456789")
OTHER_KEY = PseudonymKey(b"second-key-0123456789")

POLICY = parse_policy(
    yaml.safe_dump(
        {
            "key_env": "UNUSED",
            "detector_rate_threshold": 0.1,
            "columns": {
                "name": {"action": "pseudonymize", "rename": "person_id"},
                "email": {"action": "drop"},
                "born": {"action": "generalize", "generalize": {"date": "year"}},
                "postcode": {"action": "generalize", "generalize": {"truncate": 2}},
                "age": {"action": "keep"},
                "sex": {"action": "keep"},
                "risk": {"action": "keep"},
                "notes": {"action": "redact_pii"},
            },
            "quasi_identifiers": ["sex", "age", "postcode"],
            "quasi_identifier_generalization": {"age": {"bands": [30, 50]}},
            "k": 2,
            "l_diversity": {"label": "risk", "l": 2},
            "on_k_violation": "suppress",
        }
    ),
    ["name", "email", "born", "postcode", "age", "sex", "risk", "notes", "comment"],
    source="test_policy.yaml",
)
ROW = {
    "name": "Zoë Müller",
    "email": "zoe@example.de",
    "born": "1990-05-17",
    "postcode": "10115",
    "age": 33,
    "sex": "female",
    "risk": 1,
    "notes": "Call +49 30 1234567 please.",
    "comment": "mail zoe@example.de",
}


@pytest.mark.parametrize("name", NAMES)
def test_pseudonym_is_deterministic_fixed_length_hex_and_depends_on_the_key(name):
    token = pseudonymize(name, KEY)
    assert token == pseudonymize(name, KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    assert token != pseudonymize(name, OTHER_KEY)


def test_pseudonym_carries_nothing_of_the_input():
    for name in NAMES + ["abcdef", "0123456789"]:
        token = pseudonymize(name, KEY)
        windows = {name.casefold()[i : i + 4] for i in range(max(1, len(name) - 3))}
        assert not any(window in token for window in windows), name


def test_pseudonym_cannot_be_reversed_by_guessing_without_the_key():
    candidates = NAMES + [f"Applicant {i}" for i in range(1000)]
    target = pseudonymize("Zoë", KEY)
    attempts = [
        lambda c: hashlib.sha256(c.encode()).hexdigest(),
        lambda c: hmac.new(b"", c.encode(), hashlib.sha256).hexdigest(),
        lambda c: pseudonymize(c, OTHER_KEY),
    ]
    for attempt in attempts:
        assert not any(attempt(candidate) == target for candidate in candidates)
    # With the key, the same guessing succeeds: the key is the only thing protecting the names.
    assert [c for c in candidates if pseudonymize(c, KEY) == target] == ["Zoë"]


def test_pseudonym_of_composed_and_decomposed_unicode_is_the_same():
    assert pseudonymize("Zo\u00eb", KEY) == pseudonymize("Zoe\u0308", KEY)


@pytest.mark.parametrize("empty", [None, ""])
def test_missing_values_stay_missing(empty):
    assert pseudonymize(empty, KEY) == empty
    assert to_band(empty, [25]) == empty
    assert to_year(empty) == empty
    assert truncate(empty, 2) == empty


@pytest.mark.parametrize(
    "value, label",
    [(19, "<25"), ("24.9", "<25"), (25, "25-34"), (34, "25-34"), (35.0, "35-49"), (50, "50+"), (75, "50+")],
)
def test_bands(value, label):
    assert to_band(value, [25, 35, 50]) == label


def test_dates_become_years_and_strings_are_cut_by_characters():
    assert to_year("1956-03-22") == 1956
    assert truncate("Zoe\u0308 Müller", 3) == "Zoë"
    assert truncate("Jürgen", 10) == "Jürgen"
    assert generalize("10115", Generalization(truncate=2)) == "10"
    assert generalize(67, Generalization(bands=[25, 35, 50])) == "50+"
    assert generalize("2001-01-08", Generalization(date="year")) == 2001


def test_bad_values_fail_without_showing_the_value():
    for call in (lambda: to_year("22.03.1956"), lambda: to_band("Zoë", [25])):
        with pytest.raises(ValueError) as error:
            call()
        assert "1956" not in str(error.value) and "Zoë" not in str(error.value)


def test_a_value_is_shown_only_by_its_shape():
    assert value_shape("30 Jahre") == "99 Aaaaa"
    assert value_shape("Zoë.Müller@example.com") == "Aaa.Aaaaaa@aaaaaaa.aaa"
    assert value_shape("李小龙, 1956") == "aaa, 9999"
    assert value_shape("x" * 30) == "a" * 24 + "..."


def test_row_gets_each_columns_action_under_its_output_name():
    out = apply_policy_to_row(ROW, POLICY, KEY)
    assert out == {
        "person_id": pseudonymize("Zoë Müller", KEY),
        "born": 1990,
        "postcode": "10",
        "age": 33,
        "sex": "female",
        "risk": 1,
        "notes": "Call [PHONE] please.",
        "comment": "mail [EMAIL]",  # undeclared: passes, but never with PII in it
    }


def test_row_errors_name_the_column_not_the_value():
    with pytest.raises(ValueError, match="^column born: value is not an ISO date") as error:
        apply_policy_to_row({**ROW, "born": "17.05.1990"}, POLICY, KEY)
    assert "17.05.1990" not in str(error.value)


def test_pseudonymizing_without_a_key_fails():
    with pytest.raises(ValueError, match="column name: pseudonymize needs the key"):
        apply_policy_to_row(ROW, POLICY, None)


def test_undeclared_text_is_what_the_rate_check_scans():
    assert undeclared_text({**ROW, "extra": "", "count": 3}, POLICY) == {"comment": "mail zoe@example.de"}


def test_detector_rate_fails_closed_above_the_threshold():
    check_detector_rate("comment", non_empty=100, values_with_pii=10, policy=POLICY)
    check_detector_rate("comment", non_empty=0, values_with_pii=0, policy=POLICY)
    with pytest.raises(PrivacyViolationError) as error:
        check_detector_rate("comment", non_empty=100, values_with_pii=11, policy=POLICY)
    assert str(error.value) == (
        "column 'comment' is not declared in test_policy.yaml, and PII detectors fire on 11 of its 100 values "
        "(11.0% > detector_rate_threshold 10.0%); declare it under columns"
    )


def test_quasi_identifier_tuple_is_measured_on_the_released_row_with_coarser_bands():
    assert quasi_identifier_tuple(apply_policy_to_row(ROW, POLICY, KEY), POLICY) == ("female", "30-49", "10")


def test_k_and_l():
    counts = {("f", "<25"): 3, ("m", "<25"): 7}
    labels = {("f", "<25"): {0, 1}, ("m", "<25"): {1}}
    assert k_anonymity(counts) == 3
    assert l_diversity(labels) == 1
    assert k_anonymity({}) == 0
    assert l_diversity({}) == 0


def test_classes_below_k_or_l_are_suppressed_or_fail_the_run():
    rows = [("f", 0), ("f", 1), ("m", 1), ("m", 1), ("x", 0)]
    counts = Counter(group for group, _ in rows)
    labels = defaultdict(set)
    for group, label in rows:
        labels[group].add(label)
    assert classes_to_suppress(counts, labels, POLICY) == {"m", "x"}
    failing = POLICY.model_copy(update={"on_k_violation": "fail"})
    with pytest.raises(PrivacyViolationError) as error:
        classes_to_suppress(counts, labels, failing)
    assert str(error.value).endswith(
        "k=1 (policy: 2), l=1 (policy: 2) on quasi-identifiers sex, age, postcode: "
        "2 equivalence classes with 3 rows fall short"
    )
    assert classes_to_suppress({"f": 2}, {"f": {0, 1}}, failing) == set()
