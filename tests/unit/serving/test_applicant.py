"""A request's contract, without a model: the German-credit schema read back through its privacy policy, each kind of
bad field named with the item and the field (never the value), and the row as the policy releases it."""

import pytest
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from components.privacy.actions import pseudonymize
from components.privacy.examples import example_to_row
from components.privacy.policy import PseudonymKey, load_policy, parse_policy
from components.schema_import.component import load_schema
from pipeline.config import REPO_ROOT
from pipeline.serving.applicant import ApplicantContract, InvalidApplicantError, encode

SCHEMAS = REPO_ROOT / "schemas" / "german_credit"
KEY = PseudonymKey(b"unit-test-key-0123456789")
APPLICANT = {
    "sex": "female", "job": 2, "housing": "own", "saving_accounts": "little", "checking_account": "moderate",
    "credit_amount": 5951, "duration": 48, "purpose": "radio/TV", "age": 22, "applicant_name": "Halina Kruschwitz",
    "email": "halina.kruschwitz40@web.de", "phone": "0049-176-1653349", "iban": "DE76892480273312054689",
    "street_address": "Roskothgasse 1", "date_of_birth": "2001-01-08",
    "notes": "Reachable at 0049-176-1653349, asked about the radio/TV loan.",
}
PERSONAL = ("applicant_name", "email", "phone", "iban", "street_address", "date_of_birth")


@pytest.fixture(scope="module")
def contract():
    columns = list(APPLICANT) + ["risk"]
    policy = load_policy(SCHEMAS / "privacy_policy.yaml", columns)
    return ApplicantContract(load_schema(SCHEMAS / "schema.pbtxt"), policy, KEY, "risk")


def test_the_contract_is_the_schema_read_through_the_policy(contract):
    assert set(contract.raw_columns) == set(APPLICANT)
    required = {c.raw for c in contract.columns.values() if c.required}
    # The pseudonymized name is required (its pseudonym is, in the schema); dropped columns and free text are not.
    assert required == set(APPLICANT) - {"email", "phone", "iban", "street_address", "date_of_birth", "notes"}
    assert contract.columns["applicant_name"].released == "applicant_id"
    assert contract.columns["email"].released is None
    assert contract.domain(contract.columns["purpose"].feature)[:2] == ["business", "car"]


def test_the_released_row_holds_no_personal_data(contract):
    [row] = contract.checked([APPLICANT])
    assert set(row) == set(APPLICANT) - set(PERSONAL) | {"applicant_id"}
    assert row["applicant_id"] == pseudonymize("Halina Kruschwitz", KEY)
    assert row["notes"] == "Reachable at [PHONE], asked about the radio/TV loan."
    for column in PERSONAL:
        assert APPLICANT[column] not in str(row)
    # Encoded in the schema's types, as the Privacy step writes them.
    assert example_to_row(encode([row])[0]) == row
    assert isinstance(row["duration"], int) and isinstance(row["credit_amount"], int)


def test_optional_fields_may_be_absent_or_null_and_whole_floats_are_integers(contract):
    sent = {k: v for k, v in APPLICANT.items() if k not in ("email", "phone", "iban")}
    [row] = contract.checked([{**sent, "notes": None, "duration": 48.0}])
    assert row["notes"] is None and row["duration"] == 48 and isinstance(row["duration"], int)


@pytest.mark.parametrize("change, field, problem", [
    ({"age": None}, "age", "missing (required)"),
    ({"job": "2"}, "job", "expected an integer, got a string"),
    ({"job": True}, "job", "expected an integer, got a boolean"),
    ({"duration": float("nan")}, "duration", "expected a finite number"),
    ({"housing": "castle"}, "housing", "unknown category; expected one of free, own, rent"),
    ({"purpose": "halina.kruschwitz40@web.de"}, "purpose", "unknown category; expected one of "),
    ({"credit_amount": 0}, "credit_amount", "out of range; expected 1 to 100000"),
    ({"notes": {"text": "x"}}, "notes", "expected a string or a number, got an object"),
    ({"applicant_name": ["Halina"]}, "applicant_name", "expected a string or a number, got an array"),
    ({"nickname": "Hali"}, "nickname", "unknown field; the contract has "),
    ({"risk": 0}, "risk", "is the label, the outcome the model predicts"),
])
def test_each_problem_names_the_item_and_the_field_not_the_value(contract, change, field, problem):
    bad = {**APPLICANT, **change}
    with pytest.raises(InvalidApplicantError) as raised:
        contract.checked([APPLICANT, APPLICANT, bad])
    assert (raised.value.index, raised.value.field) == (2, field)
    assert str(raised.value).startswith(f"item 2, field '{field}': {problem}")
    assert "halina" not in str(raised.value).lower() and "Hali" not in str(raised.value)


def test_a_generalized_column_is_checked_as_released(tmp_path):
    """A policy that keeps only the birth year: a date it cannot place, or a year outside the schema's range, is refused
    under the raw field's name, and the released year is an integer. A schema feature the policy does not declare
    passes as Privacy passes it (PII redacted from text), checked as released."""
    schema = text_format.Parse("""
        default_environment: "TRAINING" default_environment: "SERVING"
        feature { name: "birth" type: INT int_domain { min: 1900 max: 2010 } presence { min_fraction: 1.0 } }
        feature { name: "ok" type: INT not_in_environment: "SERVING" presence { min_fraction: 1.0 } }
        feature { name: "count" type: INT int_domain { min: 0 max: 9 } presence { min_fraction: 0.0 } }
    """, schema_pb2.Schema())
    policy = parse_policy("""
        detector_rate_threshold: 0.01
        columns: {birth: {action: generalize, generalize: {date: year}}, ok: {action: keep}}
        quasi_identifiers: []
        k: 1
        on_k_violation: fail
    """, ["birth", "ok"])
    contract = ApplicantContract(schema, policy, None, "ok")
    assert contract.checked([{"birth": "1956-03-22"}]) == [{"birth": 1956, "count": None}]
    [row] = contract.checked([{"birth": "1956-03-22", "count": 3.0}])
    assert row == {"birth": 1956, "count": 3} and isinstance(row["count"], int)
    with pytest.raises(InvalidApplicantError, match=r"^item 0, field 'count': expected an integer, got a number with"):
        contract.checked([{"birth": "1956-03-22", "count": 2.5}])
    with pytest.raises(InvalidApplicantError, match=r"^item 0, field 'birth': value is not an ISO date") as raised:
        contract.checked([{"birth": "22.03.1956"}])
    assert "1956" not in str(raised.value)
    with pytest.raises(InvalidApplicantError, match=r"^item 1, field 'birth': out of range; expected 1900 to 2010$"):
        contract.checked([{"birth": "1956-03-22"}, {"birth": "2020-01-01"}])


def test_an_item_must_be_an_object(contract):
    with pytest.raises(InvalidApplicantError, match=r"^item 0: expected a JSON object of fields, got a string$"):
        contract.checked(["Halina"])
