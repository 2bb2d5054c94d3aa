"""PII detectors: each kind found where it is, and the look-alikes that fail a check left alone."""

import dataclasses
import re
import time

import pytest

from components.privacy import detectors
from components.privacy.detectors import (
    CARD,
    DATE_OF_BIRTH,
    EMAIL,
    IBAN,
    NATIONAL_ID,
    PHONE,
    detect,
    hits_by_kind,
    iban_checksum_ok,
    luhn_ok,
    redact,
)


def kinds(text):
    return [span.kind for span in detect(text)]


PII = [
    ("jane.doe@example.com", EMAIL),
    ("juergen.mueller-luedenscheidt83@web.de", EMAIL),
    ("zoë.müller@gmx.de", EMAIL),
    ("+49 30 1234567", PHONE),
    ("+49 (0)30 1234567", PHONE),
    ("0049-176-1653349", PHONE),
    ("(030) 1234567", PHONE),
    ("030/6565378", PHONE),
    ("+4915112345678", PHONE),
    ("+43 1 5946757", PHONE),
    ("+41 44 969 34 02", PHONE),
    ("+1 212 555 0147", PHONE),
    ("DE89 3704 0044 0532 0130 00", IBAN),
    ("DE89370400440532013000", IBAN),
    ("GB82 WEST 1234 5698 7654 32", IBAN),
    ("4111 1111 1111 1111", CARD),
    ("4111-1111-1111-1111", CARD),
    ("5500000000000004", CARD),
    ("3782 822463 10005", CARD),
    ("078-05-1120", NATIONAL_ID),
    ("65929970489", NATIONAL_ID),
    ("86 095 742 719", NATIONAL_ID),
    ("1956-03-22", DATE_OF_BIRTH),
    ("22.03.1956", DATE_OF_BIRTH),
    ("1.3.1956", DATE_OF_BIRTH),
]
LOOK_ALIKES = [
    "Credit amount 1169 DM over 6 months.",
    "Fee of 12.50 DM explained.",
    "0.50 EUR per statement",
    "PLZ 01067 Dresden",
    "Year 2024, 36 months, 4 instalments.",
    "Call back after 5 pm",
    "DE89 3704 0044 0532 0130 01",  # IBAN with a wrong check digit
    "DE89370400440532013001",
    "4111 1111 1111 1112",  # fails Luhn
    "4111111111111112",
    "12345678901",  # 11 digits, but not a valid tax ID
    "000-12-3456",  # SSN area numbers that are never issued
    "666-12-3456",
    "912-12-3456",
    "31.02.1990",  # no such day
    "1990-13-01",
    "order 123456789012345678901234",  # too long for any card
    "an email is written like name at domain",
    "",
]


def sentence(pii: str) -> str:
    return f"Kunde meldet: {pii}, bitte vormerken."


@pytest.mark.parametrize("pii, kind", PII)
def test_finds_pii_inside_a_sentence(pii, kind):
    text = sentence(pii)
    start = text.index(pii)
    assert detect(text) == [(kind, start, start + len(pii))]
    assert redact(text) == f"Kunde meldet: [{kind}], bitte vormerken."


@pytest.mark.parametrize("text", LOOK_ALIKES)
def test_look_alikes_are_not_pii(text):
    assert detect(text) == []
    assert redact(text) == text


def test_unicode_text_without_pii_is_left_as_is():
    text = "Jürgen Müller-Lüdenscheidt und Zoë wünschen Rückruf."
    assert redact(text) == text


def test_missing_text_has_no_spans():
    assert detect(None) == []
    assert redact(None) is None


SEVERAL_KINDS = "Mail a.b@web.de or call +49 30 1234567; IBAN DE89 3704 0044 0532 0130 00, born 01.02.1990."


def test_several_kinds_in_one_text_do_not_overlap():
    assert kinds(SEVERAL_KINDS) == [EMAIL, PHONE, IBAN, DATE_OF_BIRTH]
    assert redact(SEVERAL_KINDS) == "Mail [EMAIL] or call [PHONE]; IBAN [IBAN], born [DATE_OF_BIRTH]."


def test_a_number_glued_to_an_iban_does_not_hide_it():
    assert redact("DE89 3704 0044 0532 0130 00 2024") == "[IBAN] 2024"


def test_checksums():
    assert iban_checksum_ok("DE89 3704 0044 0532 0130 00")
    assert not iban_checksum_ok("DE88 3704 0044 0532 0130 00")
    assert luhn_ok("4111111111111111")
    assert not luhn_ok("4111111111111121")
    assert not luhn_ok("4111")


def test_hits_by_kind_counts_values_not_spans():
    counts = hits_by_kind(["a@b.de and c@d.de", "+49 30 1234567", "nothing", "", None, "e@f.de"])
    assert counts == {EMAIL: 2, PHONE: 1}


def _best_seconds(text: str) -> float:
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        detect(text)
        timings.append(time.perf_counter() - started)
    return min(timings)


@pytest.mark.parametrize("adversarial", [
    lambda n: "0" + "1" * n + "x", lambda n: "+49 " + "12 " * n + "x", lambda n: "4" + "1 " * n,
    lambda n: "DE12 " * n, lambda n: "a." * n + "@x",
], ids=["digits", "phone", "card", "iban", "email"])
def test_long_adversarial_text_is_scanned_in_linear_time(adversarial):
    # Eight times the text takes about eight times as long (a backtracking pattern would take 64 times or more).
    # A ratio, measured on one machine at one time, holds on a slow or busy machine where a bound in seconds fails.
    ratio = _best_seconds(adversarial(32_000)) / _best_seconds(adversarial(4_000))
    assert ratio < 24, ratio


def corpus(raw_rows) -> list:
    """Every text the tests know: PII in sentences, look-alikes, and each text value of the generated raw data."""
    texts = [sentence(pii) for pii, _ in PII] + LOOK_ALIKES + [SEVERAL_KINDS, "DE89 3704 0044 0532 0130 00 2024"]
    return texts + sorted({value for row in raw_rows for value in row.values() if value})


def test_skipping_detectors_for_want_of_digits_or_an_at_changes_no_result(raw_rows, monkeypatch):
    texts = corpus(raw_rows)
    assert sum(not re.search(r"[\d@]", text) for text in texts) > 1000  # names, categories, plain notes
    with_skips = [detect(text) for text in texts]
    every_scan = [dataclasses.replace(detector, min_digits=0, needs="") for detector in detectors._DETECTORS]
    monkeypatch.setattr(detectors, "_DETECTORS", every_scan)
    assert [detect(text) for text in texts] == with_skips
    assert sum(map(bool, with_skips)) > 4000


def test_redact_changes_exactly_the_texts_with_pii(raw_rows):
    """Why the column counts take a redacted column's changed values as its PII before, without scanning it again."""
    assert [text for text in corpus(raw_rows) if (redact(text) != text) != bool(detect(text))] == []
