"""`glassbox init` on bad input: one clear sentence, before any pipeline work; and what it drafts from good input."""

from pathlib import Path

import pytest
import yaml

from components.model_audit.policy import parse_policy as parse_audit_policy
from components.privacy.policy import parse_policy as parse_privacy_policy
from pipeline.config import load_config
from pipeline.onboard import (
    OnboardError,
    Table,
    audit_policy_text,
    band_edges,
    binary_classes,
    onboard,
    privacy_policy_text,
    profile,
    read_table,
)


def _csv(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("content, message", [
    ("", r"data.csv: the file is empty"),
    ("a,b,label\n", r"data.csv: the file has a header but no rows"),
    ("a,b,label\n1,2,x\n3,4\n5,6,y\n", r"data.csv: line 3 has 2 fields, the header has 3"),
    ("a,a,label\n1,2,x\n", r"data.csv: line 1: column names must be unique"),
    ('a,b,label\n1,"two\nlines",x\n', r"data.csv: line 2: a quoted field spans several lines"),
    (b"a,b,label\n1,2,x\n1,caf\xe9,y\n", r"data.csv: line 3 is not UTF-8 \(byte 0xe9 at offset 21\)"),
])
def test_unreadable_csvs_are_refused_naming_the_line(tmp_path, content, message):
    with pytest.raises(OnboardError, match=message):
        read_table(_csv(tmp_path, content))


def _table(labels):
    return Table(path=Path("t.csv"), header=["x", "y"], rows=[[str(i), label] for i, label in enumerate(labels)])


@pytest.mark.parametrize("labels, positive, message", [
    (["a", "a", "a"], "a", r"the label 'y' has one class \(a\); a classifier needs two"),
    (["a", "b", "c"], "a", r"the label 'y' has 3 classes \(a, b, c\); a tabular model is a binary classifier"),
    (["a", "b", ""], "a", r"the label 'y' is missing in 1 rows"),
    (["yes", "no"], None, r"the label 'y' has the classes no and yes; name the favourable one with --positive-label"),
    (["yes", "no"], "maybe", r"--positive-label maybe is not a class of 'y' \(no, yes\)"),
])
def test_labels_that_cannot_train_a_binary_model_are_refused(labels, positive, message):
    with pytest.raises(OnboardError, match=message):
        binary_classes(_table(labels), "y", positive)


def test_a_0_1_label_needs_no_positive_value():
    assert binary_classes(_table(["0", "1", "1"]), "y", None) == "1"
    with pytest.raises(OnboardError, match="no column 'z' to use as the label; the columns are x, y"):
        binary_classes(_table(["0", "1"]), "z", None)


def test_columns_are_told_apart_and_pii_counted():
    rows = [[f"id{i}", str(20 + i % 50), f"{1.5 * i}", ["a", "b"][i % 2],
             f"Long note number {i} about the case" + (f" mail x{i}@example.org" if i % 10 == 0 else ""),
             f"p{i}@example.org", str(i % 2)] for i in range(100)]
    rows[3][1] = ""
    table = Table(Path("t.csv"), ["id", "age", "amount", "group", "notes", "email", "label"], rows)
    columns = {c.name: c for c in profile(table, "label")}
    assert {n: c.kind for n, c in columns.items()} == {
        "id": "identifier", "age": "numeric", "amount": "numeric", "group": "categorical", "notes": "free_text",
        "email": "identifier", "label": "label"}
    assert columns["age"].missing == 1
    assert (columns["notes"].action, columns["notes"].pii) == ("redact_pii", {"EMAIL": 10})
    assert (columns["email"].action, columns["email"].pii) == ("drop", {"EMAIL": 100})
    assert not columns["email"].is_feature and columns["group"].is_feature


def test_bands_cut_at_quartiles():
    assert band_edges([str(age) for age in range(20, 61)]) == [30, 40, 50]
    assert band_edges(["0.1", "0.2", "0.3", "0.4", "0.5"]) == [0.2, 0.3, 0.4]


def test_drafted_policies_pass_their_own_validation():
    rows = [[str(20 + i % 40), ["f", "m"][i % 3 == 0], "call +49 30 1234567" if i % 7 == 0 else "ok", "yn"[i % 2]]
            for i in range(200)]
    table = Table(Path("t.csv"), ["age", "sex", "notes", "label"], rows)
    columns = profile(table, "label")
    privacy = parse_privacy_policy(privacy_policy_text(columns, table, "label", ["sex", "age"], {"age": [30, 45]}),
                                   table.header)
    assert privacy.columns["notes"].action == "redact_pii" and privacy.quasi_identifiers == ["sex", "age"]
    audit = parse_audit_policy(audit_policy_text({"sex": "sex", "age_band": "age"}, with_privacy=True))
    assert set(audit.protected_attributes) == {"sex", "age_band"} and audit.checks.k_anonymity is not None
    unprotected = parse_audit_policy(audit_policy_text({}, with_privacy=False))
    assert unprotected.protected_attributes == {} and unprotected.checks.disparate_impact_ratio is None
    assert set(unprotected.not_applicable) == {"fairness", "privacy"}


def test_onboard_writes_a_config_that_loads(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"{i % 7 + 0.5},{['u', 'v', ''][i % 3]},{['no', 'yes'][i % 2]}" for i in range(40))
    csv_path = _csv(tmp_path / "data", "x,kind,label\n" + rows + "\n")
    done = onboard(csv_path, "label", tmp_path / "configs" / "toy.yaml", protected=["x"], positive_label="yes",
                   schemas_root=tmp_path / "schemas")
    config = load_config(done.config)
    assert (config.label, config.positive_label, config.non_features) == ("label", "yes", [])
    # x has 7 values: sliced by value, not in bands
    assert config.band_features == {} and config.evaluation.slice_features == config.explainer.slice_features == ["x"]
    assert config.schema_file.resolve() == tmp_path / "schemas" / "toy" / "schema.pbtxt"
    assert config.schema_file.is_file() and config.data_dir.resolve() == tmp_path / "data"
    assert config.privacy_policy is None
    card = yaml.safe_load(config.model_card.read_text())
    assert card["owners"] == [] and card["intended_use"] == ""  # for a person to fill
    (tmp_path / "data" / "other.csv").write_text("x\n1\n")
    with pytest.raises(OnboardError, match="CsvExampleGen reads every file in .*other.csv"):
        onboard(csv_path, "label", tmp_path / "configs" / "toy.yaml", positive_label="yes")
