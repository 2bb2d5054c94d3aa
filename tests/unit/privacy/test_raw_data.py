"""The raw data generator: deterministic, the source rows untouched, the synthetic PII consistent and valid."""

from datetime import date

from components.privacy.detectors import EMAIL, PHONE, detect, iban_checksum_ok
from tests.unit.privacy.helpers import SOURCE_CSV, make_raw_data, read_csv

AGE_REFERENCE_DATE = date(2024, 1, 1)  # as documented in scripts/make_raw_data.py


def test_two_runs_write_byte_identical_files(raw_csv, tmp_path):
    again = tmp_path / "again.csv"
    make_raw_data(again)
    assert again.read_bytes() == raw_csv.read_bytes()


def test_source_rows_and_columns_come_first_and_unchanged(raw_rows):
    source = read_csv(SOURCE_CSV)
    assert len(raw_rows) == len(source)
    assert [{column: row[column] for column in source[0]} for row in raw_rows] == source
    assert list(raw_rows[0])[: len(source[0])] == list(source[0])
    assert list(raw_rows[0])[len(source[0]) :] == [
        "applicant_name", "email", "phone", "iban", "street_address", "date_of_birth", "notes",
    ]


def full_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_date_of_birth_agrees_with_age(raw_rows):
    for row in raw_rows:
        assert full_years(date.fromisoformat(row["date_of_birth"]), AGE_REFERENCE_DATE) == int(row["age"]), row


def test_every_iban_is_german_and_passes_its_checksum(raw_rows):
    assert all(row["iban"].startswith("DE") and iban_checksum_ok(row["iban"]) for row in raw_rows)
    assert any(" " in row["iban"] for row in raw_rows) and any(" " not in row["iban"] for row in raw_rows)


def test_every_contact_detail_in_the_notes_is_detected(raw_rows):
    mentions = 0
    for row in raw_rows:
        for column, kind in (("email", EMAIL), ("phone", PHONE)):
            if row[column] in row["notes"]:
                mentions += 1
                start = row["notes"].index(row[column])
                assert (kind, start, start + len(row[column])) in detect(row["notes"]), row["notes"]
    assert 0.15 < mentions / len(raw_rows) < 0.25
    assert any(row["notes"] == "" for row in raw_rows)


def test_every_email_and_phone_column_value_is_detected_as_such(raw_rows):
    for row in raw_rows:
        assert detect(row["email"]) == [(EMAIL, 0, len(row["email"]))]
        assert detect(row["phone"]) == [(PHONE, 0, len(row["phone"]))]


def test_rows_and_seed_draw_source_rows_with_replacement(tmp_path):
    source = read_csv(SOURCE_CSV)
    make_raw_data(tmp_path / "a.csv", "--rows", "1500", "--seed", "7")
    make_raw_data(tmp_path / "b.csv", "--rows", "1500", "--seed", "8")
    drawn, other_seed = read_csv(tmp_path / "a.csv"), read_csv(tmp_path / "b.csv")
    assert len(drawn) == 1500
    source_rows = {tuple(row.values()) for row in source}
    assert all(tuple(row[column] for column in source[0]) in source_rows for row in drawn)
    assert [row["applicant_name"] for row in drawn] != [row["applicant_name"] for row in other_seed]
