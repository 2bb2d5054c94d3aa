"""Writes the raw German-credit CSV: the UCI rows plus synthetic PII, to exercise de-identification.

The source rows are copied as they are (same columns, order and text); the PII columns after them
are invented with a seeded Faker (de_DE) and a seeded random generator, so two runs with the same
seed and Faker version write byte-identical files (Faker's name lists are data that can change).

`date_of_birth` agrees with `age`: age is the applicant's age in full years on AGE_REFERENCE_DATE.
About a fifth of the `notes` mention the applicant's email or phone inside a sentence; the rest
are plain text (some with amounts and durations, which must not look like PII) or empty.

    python scripts/make_raw_data.py [--rows N] [--seed S] [--source CSV] [--out CSV]

Without --rows every source row is written once, in order; with --rows N, N rows are drawn from
the source with replacement (seeded), for benchmarks on large data.

With --drift the drawn rows are shifted before their PII is invented, as a new span that monitoring must flag:
credit amounts are 2.5 times larger, applicants 12 years older (at most 100), and 60% of the radio/TV loans are
business loans; every other column keeps the source's distribution.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import unicodedata
from datetime import date, timedelta
from pathlib import Path
from typing import Iterator

from faker import Faker

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "data" / "source" / "german_credit.csv"
DEFAULT_OUT = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"
DEFAULT_SEED = 1994
AGE_REFERENCE_DATE = date(2024, 1, 1)
PII_COLUMNS = ["applicant_name", "email", "phone", "iban", "street_address", "date_of_birth", "notes"]

# German city and mobile codes, then Vienna and Zurich (grouped 3-2-2, as the Swiss write them),
# in the ways people actually write them.
PHONE_FORMATS = [
    "+49 {area} {local}",
    "+49 (0){area} {local}",
    "0049-{area}-{local}",
    "(0{area}) {local}",
    "0{area}/{local}",
    "+43 1 {local}",
    "+41 44 {local:.3} {local[3]}{local[4]} {local[5]}{local[6]}",
]
GERMAN_AREA_CODES = ["30", "40", "89", "221", "69", "711", "151", "160", "170", "176"]

CONTACT_NOTE_SHARE = 0.2
EMPTY_NOTE_SHARE = 0.1
CONTACT_NOTES = [
    "Prefers contact by email: {email}.",
    "Call back on {phone} after 5 pm.",
    "Sent the signed contract to {email} on request.",
    "Reachable at {phone}, asked about the {purpose} loan.",
]
PLAIN_NOTES = [
    "Asked about early repayment of the {credit_amount} DM.",
    "Documents complete.",
    "Wants the credit for {purpose}, {duration} months.",
    "Fee of 12.50 DM explained; no objections.",
    "Second appointment needed, payslips missing.",
]

_ASCII_SPELLING = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


def email_local_part(name: str) -> str:
    """'Jürgen Müller-Lüdenscheidt' -> 'juergen.mueller-luedenscheidt', as German mail providers spell it."""
    ascii_name = unicodedata.normalize("NFKD", name.translate(_ASCII_SPELLING)).encode("ascii", "ignore").decode()
    return ".".join(part for part in ascii_name.lower().split() if part)


def date_of_birth(age: int, rng: random.Random) -> date:
    """A birthday on which the applicant is exactly `age` full years old on AGE_REFERENCE_DATE."""
    latest = AGE_REFERENCE_DATE.replace(year=AGE_REFERENCE_DATE.year - age)
    earliest = AGE_REFERENCE_DATE.replace(year=AGE_REFERENCE_DATE.year - age - 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randrange((latest - earliest).days + 1))


def phone_number(rng: random.Random) -> str:
    local = str(rng.randrange(1_000_000, 10_000_000))
    return rng.choice(PHONE_FORMATS).format(area=rng.choice(GERMAN_AREA_CODES), local=local)


def grouped_by_four(iban: str) -> str:
    """The printed form of an IBAN: 'DE89 3704 0044 0532 0130 00'."""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def note(row: dict[str, str], rng: random.Random) -> str:
    draw = rng.random()
    if draw < CONTACT_NOTE_SHARE:
        return rng.choice(CONTACT_NOTES).format(**row)
    if draw < CONTACT_NOTE_SHARE + EMPTY_NOTE_SHARE:
        return ""
    return rng.choice(PLAIN_NOTES).format(**row)


def with_pii(row: dict[str, str], fake: Faker, rng: random.Random) -> dict[str, str]:
    """The source row followed by one invented applicant's PII."""
    first_name = fake.first_name_female() if row["sex"] == "female" else fake.first_name_male()
    name = f"{first_name} {fake.last_name()}"
    suffix = str(rng.randrange(1, 100)) if rng.random() < 0.5 else ""
    iban = fake.iban()
    out = dict(row)
    out["applicant_name"] = name
    out["email"] = f"{email_local_part(name)}{suffix}@{fake.free_email_domain()}"
    out["phone"] = phone_number(rng)
    out["iban"] = grouped_by_four(iban) if rng.random() < 0.5 else iban
    out["street_address"] = fake.street_address()
    out["date_of_birth"] = date_of_birth(int(row["age"]), rng).isoformat()
    out["notes"] = note(out, rng)
    return out


def drifted(row: dict[str, str], rng: random.Random) -> dict[str, str]:
    """The row with the --drift shifts: larger credit, older applicant, radio/TV loans turned business loans."""
    out = dict(row)
    out["credit_amount"] = str(round(int(row["credit_amount"]) * 2.5))
    out["age"] = str(min(int(row["age"]) + 12, 100))
    if row["purpose"] == "radio/TV" and rng.random() < 0.6:
        out["purpose"] = "business"
    return out


def raw_rows(source: list[dict[str, str]], seed: int, rows: int | None = None, drift: bool = False
             ) -> Iterator[dict[str, str]]:
    """Every source row once (rows=None) or `rows` rows drawn with replacement, each with its PII."""
    fake = Faker("de_DE")
    fake.seed_instance(seed)
    rng = random.Random(seed)
    base_rows = source if rows is None else (rng.choice(source) for _ in range(rows))
    for row in base_rows:
        yield with_pii(drifted(row, rng) if drift else row, fake, rng)


def write_raw_csv(source_path: Path, out_path: Path, seed: int, rows: int | None = None, drift: bool = False
                  ) -> None:
    """Writes to a temporary name first, so an interrupted run never leaves a complete-looking file."""
    with open(source_path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        columns = list(reader.fieldnames or [])
        source = list(reader)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(out_path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns + PII_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(raw_rows(source, seed, rows, drift))
    os.replace(partial, out_path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="rows to draw with replacement (default: each source row once)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--drift", action="store_true", help="shift credit amount, age and purpose (a drifted span)")
    args = parser.parse_args(argv)
    write_raw_csv(args.source, args.out, args.seed, args.rows, args.drift)


if __name__ == "__main__":
    main()
