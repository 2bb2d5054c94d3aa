"""Policy validation: every mistake is one PrivacyPolicyError naming the file and the field; the key stays secret."""

import copy

import pytest
import yaml

from components.privacy.policy import (
    PrivacyPolicyError,
    PseudonymKey,
    load_key,
    load_policy,
    policy_digest,
    policy_from_json,
    policy_json,
    read_policy,
)

COLUMNS = ["name", "email", "age", "risk", "notes"]
SECRET = "s3cret-pseudonym-key-never-shown"
VALID = {
    "key_env": "TEST_PSEUDONYM_KEY",
    "detector_rate_threshold": 0.01,
    "columns": {
        "name": {"action": "pseudonymize", "rename": "applicant_id"},
        "email": {"action": "drop"},
        "age": {"action": "keep"},
        "risk": {"action": "keep"},
        "notes": {"action": "redact_pii"},
    },
    "quasi_identifiers": ["age"],
    "quasi_identifier_generalization": {"age": {"bands": [25, 35, 50]}},
    "k": 5,
    "l_diversity": {"label": "risk", "l": 2},
    "on_k_violation": "fail",
}


def write_policy(tmp_path, policy=None, text=None):
    path = tmp_path / "privacy_policy.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(policy if policy is not None else VALID))
    return path


def edited(edit):
    policy = copy.deepcopy(VALID)
    edit(policy)
    return policy


def policy_error(tmp_path, policy=None, text=None):
    path = write_policy(tmp_path, policy, text)
    with pytest.raises(PrivacyPolicyError) as error:
        load_policy(path, COLUMNS)
    message = str(error.value)
    assert message.startswith(f"{path}: ")
    return message.removeprefix(f"{path}: ")


def test_valid_policy_loads(tmp_path):
    policy = load_policy(write_policy(tmp_path), COLUMNS)
    assert policy.output_name("name") == "applicant_id"
    assert policy.output_name("age") == "age"
    assert policy.l_diversity.distinct == 2


@pytest.mark.parametrize(
    "edit, field, message",
    [
        (
            lambda p: p["columns"].update(emial={"action": "drop"}),
            "columns.emial",
            "unknown column 'emial'; the data has name, email, age, risk, notes",
        ),
        (
            lambda p: p["columns"]["email"].update(action="hash"),
            "columns.email.action",
            "unknown action 'hash'; expected one of drop, keep, pseudonymize, generalize, redact_pii",
        ),
        (lambda p: p.update(k="five"), "k", "Input should be a valid integer"),
        (lambda p: p.update(k=0), "k", "Input should be greater than or equal to 1"),
        (lambda p: p.update(detector_rate_threshold=2), "detector_rate_threshold", "Input should be less than or"),
        (lambda p: p.update(quasi_identifiers="age"), "quasi_identifiers", "Input should be a valid list"),
        (lambda p: p.update(on_k_violation="warn"), "on_k_violation", "Input should be 'fail' or 'suppress'"),
        (lambda p: p.update(salt="x"), "salt", "Extra inputs are not permitted"),
        (lambda p: p["columns"]["age"].update(bands=[1]), "columns.age.bands", "Extra inputs are not permitted"),
        (lambda p: p.pop("k"), "k", "Field required"),
        (
            lambda p: p["quasi_identifier_generalization"]["age"].update(bands=[35, 25]),
            "quasi_identifier_generalization.age",
            "bands must be strictly increasing",
        ),
        (
            lambda p: p["quasi_identifier_generalization"]["age"].update(truncate=2),
            "quasi_identifier_generalization.age",
            "give exactly one of bands, date, truncate",
        ),
        (
            lambda p: p["columns"]["age"].update(action="generalize"),
            "columns.age",
            "the generalize action, and only it, needs a generalize: block",
        ),
        (lambda p: p["columns"]["email"].update(rename="mail"), "columns.email", "a dropped column has no output"),
        (lambda p: p["columns"]["name"].update(rename="age"), "columns.name.rename", "'age' is already the output of"),
        (lambda p: p.pop("key_env"), "key_env", "the pseudonymize action needs a key: name key_env or key_file"),
        (
            lambda p: p.update(quasi_identifiers=["email"]),
            "quasi_identifiers.0",
            "column 'email' must have action keep or generalize, but its action is drop",
        ),
        (
            lambda p: p["l_diversity"].update(label="notes"),
            "l_diversity.label",
            "column 'notes' must have action keep, but its action is redact_pii",
        ),
        (lambda p: p["l_diversity"].update(l=1), "l_diversity.l", "Input should be greater than or equal to 2"),
    ],
)
def test_each_mistake_names_its_field(tmp_path, edit, field, message):
    assert policy_error(tmp_path, edited(edit)).startswith(f"field '{field}': {message}")


@pytest.mark.parametrize(
    "text, expected",
    [("columns: [unclosed", "not valid YAML"), ("- a list\n", "the policy must be a YAML mapping"), ("", "mapping")],
)
def test_unreadable_policies(tmp_path, text, expected):
    assert expected in policy_error(tmp_path, text=text)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PrivacyPolicyError, match="nowhere.yaml: cannot read the policy"):
        load_policy(tmp_path / "nowhere.yaml", COLUMNS)


def test_key_from_environment_variable(tmp_path):
    policy = load_policy(write_policy(tmp_path), COLUMNS)
    assert load_key(policy, {"TEST_PSEUDONYM_KEY": SECRET}) == PseudonymKey(SECRET.encode())


def test_missing_key_environment_variable_is_named(tmp_path):
    path = write_policy(tmp_path)
    policy = load_policy(path, COLUMNS)
    with pytest.raises(PrivacyPolicyError) as error:
        load_key(policy, {})
    assert str(error.value) == (
        f"{path}: field 'key_env': no pseudonymization key: environment variable TEST_PSEUDONYM_KEY is not set"
    )


def test_key_file_is_relative_to_the_policy(tmp_path):
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key").write_text(SECRET + "\n")
    policy = load_policy(write_policy(tmp_path, edited(lambda p: p.update(key_file="secrets/key"))), COLUMNS)
    assert load_key(policy, {}) == PseudonymKey(SECRET.encode())
    assert load_key(policy, {"TEST_PSEUDONYM_KEY": "environment-wins-over-the-file"}).secret.startswith(b"environment")


def test_missing_key_file_is_named(tmp_path):
    policy = edited(lambda p: (p.pop("key_env"), p.update(key_file="secrets/missing")))
    path = write_policy(tmp_path, policy)
    with pytest.raises(PrivacyPolicyError) as error:
        load_key(load_policy(path, COLUMNS), {})
    assert str(error.value) == (
        f"{path}: field 'key_file': no pseudonymization key: key file {tmp_path / 'secrets' / 'missing'} does not exist"
    )


def test_short_key_is_refused_without_showing_it(tmp_path):
    policy = load_policy(write_policy(tmp_path), COLUMNS)
    with pytest.raises(PrivacyPolicyError) as error:
        load_key(policy, {"TEST_PSEUDONYM_KEY": "hunter2"})
    assert "field 'key_env': the key has 7 bytes; at least 16 are needed" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_key_never_shows_in_reprs():
    key = PseudonymKey(SECRET.encode())
    assert SECRET not in repr(key)
    assert SECRET not in str(key)


def test_digest_ignores_layout_and_follows_content(tmp_path):
    digest = policy_digest(load_policy(write_policy(tmp_path), COLUMNS))
    reformatted = "# a comment\n" + yaml.safe_dump(VALID, default_flow_style=True, sort_keys=False)
    assert policy_digest(load_policy(write_policy(tmp_path, text=reformatted), COLUMNS)) == digest
    changed = load_policy(write_policy(tmp_path, edited(lambda p: p.update(k=6))), COLUMNS)
    assert policy_digest(changed) != digest
    assert len(digest) == 64


def test_default_policy_declares_every_raw_column(default_policy, raw_rows):
    assert set(default_policy.columns) == set(raw_rows[0])
    source_columns = list(raw_rows[0])[: list(raw_rows[0]).index("applicant_name")]
    assert all(default_policy.columns[column].action == "keep" for column in source_columns)
    assert default_policy.key_env == "GLASSBOX_PSEUDONYM_KEY"


def test_serving_data_without_the_sensitive_label_skips_l_diversity_and_training_data_fails_closed(tmp_path):
    path = write_policy(tmp_path)
    content, unlabelled = policy_json(read_policy(path)), [c for c in COLUMNS if c != "risk"]
    serving = policy_from_json(content, unlabelled, str(path), environment="SERVING")
    assert serving.applied_l_diversity is None and serving.l_diversity.label == "risk"
    assert serving.l_diversity_skipped == ("the sensitive column 'risk' is absent from this SERVING data (a span "
                                           "without labels): there is no label for a class to reveal")
    assert policy_digest(serving) == policy_digest(read_policy(path))  # the policy as written, in lineage
    with pytest.raises(PrivacyPolicyError, match=r"field 'columns\.risk': unknown column 'risk'"):
        policy_from_json(content, unlabelled, str(path), environment="TRAINING")


def test_serving_data_with_the_label_is_held_to_l_diversity_and_lacks_no_other_column(tmp_path):
    path = write_policy(tmp_path)
    content = policy_json(read_policy(path))
    labelled = policy_from_json(content, COLUMNS, str(path), environment="SERVING")
    assert labelled.applied_l_diversity == labelled.l_diversity and labelled.l_diversity_skipped is None
    with pytest.raises(PrivacyPolicyError, match=r"field 'columns\.notes': unknown column 'notes'"):
        policy_from_json(content, [c for c in COLUMNS if c not in ("risk", "notes")], str(path), environment="SERVING")
    with pytest.raises(ValueError, match=r"^Privacy: unknown environment 'PRODUCTION'; expected one of TRAINING, "
                                         r"SERVING$"):
        policy_from_json(content, COLUMNS, str(path), environment="PRODUCTION")
