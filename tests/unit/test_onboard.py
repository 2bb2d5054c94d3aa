"""`glassbox init` on bad input: one clear sentence, before any pipeline work; and what it drafts from good input."""

import re
import shutil
from pathlib import Path

import pytest
import yaml

from components.model_audit.checks.documentation import missing_fields
from components.model_audit.inputs import AuditInputError, read_model_card
from components.model_audit.policy import AuditPolicyError
from components.model_audit.policy import load_policy as load_audit_policy
from components.model_audit.policy import parse_policy as parse_audit_policy
from components.privacy.policy import PrivacyPolicyError
from components.privacy.policy import load_policy as load_privacy_policy
from components.privacy.policy import parse_policy as parse_privacy_policy
from components.schema_import.component import load_schema
from pipeline.config import ConfigError, load_config
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
from pipeline.onboard.yaml_out import Note, commented_yaml


def _csv(tmp_path, content, name="data.csv"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


@pytest.mark.parametrize("content, message", [
    ("", r"data.csv: the file is empty"),
    ("a,b,label\n", r"data.csv: the file has a header but no rows"),
    ("a,b,label\n1,2,x\n3,4\n5,6,y\n", r"data.csv: line 3: 2 fields where the header names 3"),
    ("a,a,label\n1,2,x\n", r"data.csv: line 1: columns 1 and 2 are both named 'a'; column names must be unique"),
    ('a;b,c\n1;2,3\n', r"data.csv: line 1"),
    (b"a,b,label\n1,2,x\n1,caf\xe9,y\n", r"data.csv: line 3 is not UTF-8 \(byte 0xe9 at offset 21\)"),
])
def test_unreadable_csvs_are_refused_naming_the_line(tmp_path, content, message):
    with pytest.raises(OnboardError, match=message):
        read_table(_csv(tmp_path, content))


def test_init_reads_every_dialect_as_the_pipeline_does(tmp_path):
    """BOM, CRLF, ';' and quoted names (Excel, R) give the plain file's table; a quoted line break is a value."""
    plain = read_table(_csv(tmp_path, 'a,b,label\n1,"two\nlines",x\n3,four,y\n', "plain.csv"))
    assert plain.header == ["a", "b", "label"] and plain.rows == [["1", "two\nlines", "x"], ["3", "four", "y"]]
    excel = _csv(tmp_path, b'\xef\xbb\xbf"a";"b";"label"\r\n1;"two\r\nlines";x\r\n3;four;y\r\n', "excel.csv")
    assert (read_table(excel).header, read_table(excel).rows) == (plain.header, plain.rows)


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


def _onboard_toy(tmp_path, monkeypatch, protected, **options):
    """`glassbox init` on 40 rows of a numeric x, a categorical kind with missing values and a yes/no label."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    rows = "\n".join(f"{i % 7 + 0.5},{['u', 'v', ''][i % 3]},{['no', 'yes'][i % 2]}" for i in range(40))
    csv_path = _csv(tmp_path / "data", "x,kind,label\n" + rows + "\n")
    return onboard(csv_path, "label", tmp_path / "configs" / "toy.yaml", protected=protected, positive_label="yes",
                   schemas_root=tmp_path / "schemas", **options)


def test_onboard_writes_a_config_that_loads(tmp_path, monkeypatch):
    done = _onboard_toy(tmp_path, monkeypatch, ["x"])
    csv_path = tmp_path / "data" / "data.csv"
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


def test_a_config_no_pipeline_could_load_is_refused_before_anything_is_written(tmp_path):
    (tmp_path / "data").mkdir()
    csv_path = _csv(tmp_path / "data", "x,label\n" + "".join(f"{i},{i % 2}\n" for i in range(30)))
    with pytest.raises(OnboardError, match=r"my toy.yaml: field 'pipeline_name': String should match pattern"):
        onboard(csv_path, "label", tmp_path / "configs" / "my toy.yaml", schemas_root=tmp_path / "schemas")
    assert not (tmp_path / "configs").exists() and not (tmp_path / "schemas").exists()


# name -> (header, a row's values from its number, label, --protected, --positive-label)
SHAPES = {
    "numeric_only": ("a,b,c,label", lambda i: (i % 13, i * 0.25, (i * 7) % 11 / 3, i % 2), "label", [], None),
    "with_pii": ("id,email,notes,amount,kind,label",
                 # Long, all-distinct emails: free text by shape and dropped as PII (once a crash in init).
                 lambda i: (f"k{i:04d}", f"firstname{i}.lastname@company.example.org",
                            f"Note number {i} about the case" + (" call +49 30 1234567" if i % 9 == 0 else ""),
                            i * 1.5, "uv"[i % 2], ["no", "yes"][i % 3 == 0]), "label", [], "yes"),
    "protected_in_bands": ("age,sex,income,notes,label",
                           lambda i: (18 + i % 50, "fm"[i % 2], 1000 + 37 * i % 900,
                                      f"Case {i} seen by the branch" + (" mail x@example.org" if i % 8 == 0 else ""),
                                      i % 2), "label", ["age", "sex"], None),
    # Names YAML reads as something else unless quoted: booleans (yes, on), null, a mapping (a: b), a comment (#x).
    "names_yaml_would_misread": ("yes,null,a: b,#x,on", lambda i: ("fm"[i % 2], i % 5, i * 1.5, "uv"[i % 2],
                                                                   ["no", "yes"][i % 3 == 0]), "on", ["yes"], "yes"),
}


def test_onboard_drafts_a_scorecard_that_leaves_the_protected_attributes_unscored(tmp_path, monkeypatch):
    done = _onboard_toy(tmp_path, monkeypatch, ["kind"], model="scorecard")
    config = load_config(done.config)
    assert config.training.model == "scorecard" and config.training.scorecard.unscored == ["kind"]
    assert "# A points scorecard" in done.config.read_text()


@pytest.fixture(scope="module")
def onboarded(tmp_path_factory):
    """The config `glassbox init` drafts for a shape of data, each shape onboarded once, when first asked for."""
    configs = {}

    def config(shape):
        if shape not in configs:
            header, row, label, protected, positive = SHAPES[shape]
            root = tmp_path_factory.mktemp(shape)
            (root / "data").mkdir()
            rows = "".join(",".join(str(value) for value in row(i)) + "\n" for i in range(120))
            csv_path = _csv(root / "data", header + "\n" + rows)
            configs[shape] = onboard(csv_path, label, root / "configs" / f"{shape}.yaml", protected=protected,
                                     positive_label=positive, schemas_root=root / "schemas").config
        return configs[shape]
    return config


def _load_drafts(config_path):
    """Every drafted file through the loader the pipeline reads it with."""
    config = load_config(config_path)
    columns = read_table(next(config.data_dir.iterdir())).header
    privacy = load_privacy_policy(config.privacy_policy, columns) if config.privacy_policy else None
    return config, privacy, load_audit_policy(config.audit_policy), read_model_card(config.model_card)


@pytest.mark.parametrize("shape", SHAPES)
def test_drafts_load_through_the_pipelines_own_loaders(onboarded, shape):
    _, _, label, protected, positive = SHAPES[shape]
    config, privacy, audit, card = _load_drafts(onboarded(shape))
    assert (config.label, config.positive_label) == (label, positive or "1") and config.schema_file.is_file()
    # A production span without the label is expected in the SERVING environment (the monitoring pipeline's).
    schema = load_schema(config.schema_file)
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    assert [list(f.not_in_environment) for f in schema.feature if f.name == label] == [["SERVING"]]
    slices = [f"{p}_band" if p in config.band_features else p for p in protected]
    assert config.evaluation.slice_features == config.explainer.slice_features == slices
    assert list(audit.protected_attributes) == slices and card["data"][0]["sensitive"] == protected
    assert (audit.checks.disparate_impact_ratio is None) == (not protected)
    # The unreviewed card lacks exactly the fields the drafted documentation check requires: it blocks the audit.
    required = audit.checks.model_card.required_fields
    assert missing_fields(card, required) == required
    if shape in ("numeric_only", "names_yaml_would_misread"):
        assert privacy is None and audit.checks.k_anonymity is None and "privacy" in audit.not_applicable
    if shape == "with_pii":
        assert {name: rule.action for name, rule in privacy.columns.items() if rule.action != "keep"} == {
            "email": "drop", "notes": "redact_pii"}
        assert config.non_features == ["id", "notes"] and audit.checks.k_anonymity.threshold == privacy.k
    if shape == "protected_in_bands":
        assert list(config.band_features) == ["age"] and privacy.quasi_identifiers == ["age", "sex"]
        assert privacy.quasi_identifier_generalization["age"].bands == config.band_features["age"]


@pytest.mark.parametrize("file, breaking, error", [
    ("configs/protected_in_bands.yaml", lambda d: {**d, "labels": d.pop("label")}, ConfigError),
    ("schemas/protected_in_bands/privacy_policy.yaml",
     lambda d: {**d, "columns": {**d["columns"], "notes": {"action": "redact"}}}, PrivacyPolicyError),
    ("schemas/protected_in_bands/audit_policy.yaml",
     lambda d: {**d, "checks": {**d["checks"], "overall_auc": {**d["checks"]["overall_auc"], "threshold": "0.7"}}},
     AuditPolicyError),
    ("schemas/protected_in_bands/model_card.yaml", lambda d: [d], AuditInputError),
])
def test_a_broken_draft_would_not_load(onboarded, tmp_path, file, breaking, error):
    """The loaders above are strict enough to catch a drafting mistake: the same files, each broken once, fail."""
    root = shutil.copytree(onboarded("protected_in_bands").parent.parent, tmp_path / "copy")
    _load_drafts(root / "configs" / "protected_in_bands.yaml")
    path = root / file
    path.write_text(yaml.safe_dump(breaking(yaml.safe_load(path.read_text()))))
    with pytest.raises(error, match=re.escape(path.name)):
        _load_drafts(root / "configs" / "protected_in_bands.yaml")


def test_review_notes_cannot_change_what_a_draft_says():
    """Names and values YAML would misread, comments holding line breaks (U+2028 is one too) and a control character."""
    content = {"columns": {"a\nb: 1": {"action": "keep"}, "no": {"action": "drop"}}, "k": 5,
               "names": ["x", "on\u2028off"]}
    text = commented_yaml(content, header=["from x.csv\nk: 6"], notes={
        "columns": Note(inner={"no": Note(above=["evidence\n- injected: 1"], beside="why")}),
        "k": Note(beside="two\nlines: 7"), "names": Note(inner={1: Note(beside="a bell \a is no YAML")})})
    assert yaml.safe_load(text) == content
    assert "  'no': {action: drop}  # why" in text and "# a bell \\x07 is no YAML" in text


def test_an_excel_csv_drafts_what_its_plain_version_drafts(onboarded, tmp_path):
    """The same data saved by Excel (BOM, ';', CRLF, quoted names and text): the same contract and policies. The
    schema is inferred from the examples CsvExampleGen makes of the file, so it reads the file as the pipeline does."""
    header, row, label, protected, positive = SHAPES["with_pii"]
    lines = [";".join(f'"{name}"' for name in header.split(","))]
    lines += [";".join(f'"{value}"' if isinstance(value, str) else str(value) for value in row(i)) for i in range(120)]
    (tmp_path / "data").mkdir()
    excel = _csv(tmp_path / "data", b"\xef\xbb\xbf" + "\r\n".join(lines + [""]).encode("utf-8"))
    drafted = onboard(excel, label, tmp_path / "configs" / "with_pii.yaml", protected=protected,
                      positive_label=positive, schemas_root=tmp_path / "schemas")
    plain = load_config(onboarded("with_pii")).schema_file.parent
    for name in ("schema.pbtxt", "privacy_policy.yaml", "audit_policy.yaml"):
        assert (drafted.schema_dir / name).read_text() == (plain / name).read_text(), name
