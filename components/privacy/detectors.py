"""Pattern detectors for structured PII in free text: emails, phones, IBANs, cards, national IDs, dates.

A regular expression proposes candidates; where the format has a check, the check decides (IBAN
mod-97, Luhn for cards, the ISO 7064 check digit of the German tax ID, a real calendar date). The
checks keep order numbers, amounts and reference numbers that merely look like PII from being
redacted; a number that fails its check is not PII.

Detectors run in a fixed order, each on the text with the spans found before it masked out, so
spans never overlap and the more specific reading wins: an IBAN is not also read as a phone
number, a date written 01.02.1990 is not read as one either.

Limits, by design: a phone number needs an international prefix (+49, 0049) or a national trunk
zero (030 ..., (030) ...); national IDs are US social security numbers and German tax IDs; any
full calendar date is treated as a possible date of birth; names and street addresses cannot be
found by patterns and must be declared as columns in the policy.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Callable, Iterable, NamedTuple

EMAIL = "EMAIL"
PHONE = "PHONE"
IBAN = "IBAN"
CARD = "CARD"
NATIONAL_ID = "NATIONAL_ID"
DATE_OF_BIRTH = "DATE_OF_BIRTH"

_DIGIT = re.compile(r"\d")  # a decimal digit as the patterns read it
_MASK = "\x00"  # neither a word character nor a separator, so masked text ends every pattern
_SEPARATORS = " -./"


class Span(NamedTuple):
    """A detected PII kind at text[start:end]."""

    kind: str
    start: int
    end: int


def iban_checksum_ok(candidate: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to 10..35; the number mod 97 is 1."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    return int("".join(str(int(c, 36)) for c in compact[4:] + compact[:4])) % 97 == 1


def luhn_ok(candidate: str) -> bool:
    """Payment card numbers: 13 to 19 digits whose Luhn sum is a multiple of 10."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def german_tax_id_ok(candidate: str) -> bool:
    """Steuer-ID: 11 digits, no leading zero, one digit repeated in the first ten, ISO 7064 MOD 11,10 check."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if len(digits) != 11 or digits[0] == 0:
        return False
    repeats = [digits[:10].count(d) for d in set(digits[:10])]
    if sorted(n for n in repeats if n > 1) not in ([2], [3]):
        return False
    product = 10
    for digit in digits[:10]:
        total = (digit + product) % 10 or 10
        product = total * 2 % 11
    return (11 - product) % 10 == digits[10]


def us_ssn_ok(candidate: str) -> bool:
    """SSA rules: no area 000, 666 or 9xx, no group 00, no serial 0000."""
    area, group, serial = candidate.split("-")
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def national_id_ok(candidate: str) -> bool:
    return us_ssn_ok(candidate) if "-" in candidate else german_tax_id_ok(candidate)


def calendar_date_ok(candidate: str) -> bool:
    """A real date between 1900 and 2099, written YYYY-MM-DD or DD.MM.YYYY."""
    if "-" in candidate:
        year, month, day = candidate.split("-")
    else:
        day, month, year = candidate.split(".")
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return 1900 <= int(year) <= 2099


def phone_digits_ok(candidate: str) -> bool:
    """7 to 15 digits after an international 00 prefix: E.164 allows 15, and fewer than 7 is an amount or a code."""
    digits = "".join(c for c in candidate if c.isdigit())
    return 7 <= len(digits.removeprefix("00") if candidate.startswith("00") else digits) <= 15


@dataclass(frozen=True)
class _Detector:
    kind: str
    pattern: re.Pattern
    is_valid: Callable[[str], bool]
    # What every valid match holds: at least this many digits, and this text. A text without them is not
    # scanned, so names, categories and plain notes (no digit, no @) cost one search instead of six.
    min_digits: int = 0
    needs: str = ""


# Shared guard: a candidate number must not continue a number or word on its left ("12 4111 ...").
_NOT_INSIDE_NUMBER = r"(?<![\w+\-/(.])(?<!\d )"

_DETECTORS = [
    _Detector(
        EMAIL, re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])"), lambda _: True, needs="@"
    ),
    _Detector(
        IBAN,
        re.compile(r"(?<!\w)[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?!\w)", re.IGNORECASE),
        iban_checksum_ok,
        min_digits=2,  # the check digits
    ),
    _Detector(
        CARD, re.compile(_NOT_INSIDE_NUMBER + r"[1-9]\d{3}(?:[ -]?\d{2,6}){2,5}(?![\w-])"), luhn_ok, min_digits=13
    ),
    _Detector(
        NATIONAL_ID,
        re.compile(_NOT_INSIDE_NUMBER + r"(?:\d{3}-\d{2}-\d{4}|[1-9]\d{10}|[1-9]\d \d{3} \d{3} \d{3})(?![\w-])"),
        national_id_ok,
        min_digits=9,  # an SSN; a tax ID has 11
    ),
    _Detector(
        DATE_OF_BIRTH,
        re.compile(_NOT_INSIDE_NUMBER + r"(?:\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})(?![\w-]|\.\d)"),
        calendar_date_ok,
        min_digits=6,  # d.m.yyyy
    ),
    _Detector(
        PHONE,
        re.compile(
            _NOT_INSIDE_NUMBER
            # prefix: +49, 0049, +49 (0), (030), 030
            + r"(?:(?:\+|00)[1-9]\d{0,2}(?:[ ./-]?\(0\))?|\(0[1-9]\d{0,4}\)|0[1-9]\d{0,4})"
            # then digit groups: a separator before each later group, and no more groups than 15 digits
            # fill, keep matching linear; a later group of one digit is a word ("after 5 pm")
            + r"[ ./-]?\d{1,15}(?:[ ./-]\d{2,15}){0,7}(?!\w)"
        ),
        phone_digits_ok,
        min_digits=7,
    ),
]


def _confirmed(detector: _Detector, candidate: str) -> str | None:
    """The longest prefix of the candidate, cut at a separator, that still fits the pattern and passes the check.

    Greedy patterns can swallow a neighbouring number ("DE89 3704 0044 0532 0130 00 2024"), which
    fails the check; cutting trailing groups finds the PII inside.
    """
    while candidate:
        if detector.pattern.fullmatch(candidate) and detector.is_valid(candidate):
            return candidate
        cut = max(candidate.rfind(separator) for separator in _SEPARATORS)
        candidate = candidate[:cut].rstrip(_SEPARATORS) if cut > 0 else ""
    return None


def detect(text: str | None) -> list[Span]:
    """Non-overlapping PII spans in the text, in reading order."""
    if not text:
        return []
    masked, digits = text, len(_DIGIT.findall(text))  # the digits left unmasked
    spans = []
    for detector in _DETECTORS:
        if digits < detector.min_digits or detector.needs not in masked:
            continue
        for match in detector.pattern.finditer(masked):
            confirmed = _confirmed(detector, match.group())
            if confirmed:
                start, end = match.start(), match.start() + len(confirmed)
                spans.append(Span(detector.kind, start, end))
                masked = masked[:start] + _MASK * (end - start) + masked[end:]
                digits -= len(_DIGIT.findall(confirmed))
    return sorted(spans, key=lambda span: span.start)


def redact(text: str | None) -> str | None:
    """The text with each PII span replaced by its kind in brackets: 'mail me at [EMAIL]'."""
    if not text:
        return text
    for span in reversed(detect(text)):
        text = f"{text[: span.start]}[{span.kind}]{text[span.end :]}"
    return text


def hits_by_kind(values: Iterable[str | None]) -> Counter:
    """For each kind of PII, the number of values in which it was found at least once."""
    counts: Counter = Counter()
    for value in values:
        counts.update({span.kind for span in detect(value)})
    return counts
