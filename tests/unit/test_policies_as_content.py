"""Policies travel into Privacy, ModelAudit and Monitor as validated content, not as paths: TFX's cache key hashes
execution parameters, so a file edited in place must change them, and an unchanged file must leave them as they were.
"""

import shutil

import pytest
from tfx import types
from tfx.types import standard_artifacts

from components.artifacts import Explanations
from components.model_audit.component import ModelAudit
from components.model_audit.inputs import AuditInputError
from components.model_audit.policy import load_policy, policy_digest, policy_from_json, policy_json
from components.monitor.component import Monitor
from components.monitor.policy import load_monitor_policy, monitor_policy_from_json, monitor_policy_json
from components.privacy import policy as privacy
from components.privacy.component import Privacy
from pipeline.config import REPO_ROOT, load_config
from pipeline.pipeline import create_pipeline

SCHEMAS = REPO_ROOT / "schemas" / "german_credit"
RAW_COLUMNS = (REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv").read_text().splitlines()[0].split(",")


def _copy(tmp_path, name):
    return shutil.copy(SCHEMAS / name, tmp_path / name)


def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _channel(artifact_type):
    return types.Channel(type=artifact_type)


def _privacy(policy):
    return Privacy(examples=_channel(standard_artifacts.Examples), policy_file=str(policy)).exec_properties


def _model_audit(policy, model_card):
    return ModelAudit(
        model=_channel(standard_artifacts.Model), examples=_channel(standard_artifacts.Examples),
        evaluation=_channel(standard_artifacts.ModelEvaluation), blessing=_channel(standard_artifacts.ModelBlessing),
        explanations=_channel(Explanations), statistics=_channel(standard_artifacts.ExampleStatistics),
        anomalies=_channel(standard_artifacts.ExampleAnomalies), schema=_channel(standard_artifacts.Schema),
        policy_file=str(policy), model_card_file=str(model_card),
    ).exec_properties


def _monitor(policy, audit_policy=None):
    return Monitor(
        model=_channel(standard_artifacts.Model), baseline_statistics=_channel(standard_artifacts.ExampleStatistics),
        baseline_explanations=_channel(Explanations), examples=_channel(standard_artifacts.Examples),
        anomalies=_channel(standard_artifacts.ExampleAnomalies),
        inference_result=_channel(standard_artifacts.InferenceResult), explanations=_channel(Explanations),
        policy_file=str(policy), audit_policy_file=audit_policy and str(audit_policy),
    ).exec_properties


# Per component: how to build it from its files, and per content parameter the file it comes from and an edit of it.
EDITS = {
    "Privacy": (_privacy, {"policy": ("privacy_policy.yaml", "notes: {action: redact_pii}", "notes: {action: drop}")}),
    "ModelAudit": (_model_audit, {"policy": ("audit_policy.yaml", "seed: ", "seed: 1"),
                                  "model_card": ("model_card.yaml", "name: german-credit-risk", "name: credit-v2")}),
    "Monitor": (_monitor, {"policy": ("monitor_policy.yaml", "score_bins: ", "score_bins: 1"),
                           "audit_policy": ("audit_policy.yaml", "seed: ", "seed: 1")}),
}


@pytest.mark.parametrize("component", sorted(EDITS))
def test_an_edit_in_place_changes_exactly_the_content_parameter_of_that_file(component, tmp_path):
    build, edits = EDITS[component]
    files = {parameter: _copy(tmp_path, name) for parameter, (name, _, _) in edits.items()}
    before = build(**files)
    assert build(**files) == before  # unchanged files, identical parameters: the cache still hits
    assert {parameter: before[f"{parameter}_source"] for parameter in files} == {p: str(f) for p, f in files.items()}
    for parameter, (_, old, new) in edits.items():
        unchanged = build(**files)
        _edit(files[parameter], old, new)
        edited = build(**files)
        assert {name for name in edited if edited[name] != unchanged[name]} == {parameter}


def test_comments_and_layout_are_no_content(tmp_path):
    path = _copy(tmp_path, "privacy_policy.yaml")
    before = _privacy(path)
    _edit(path, "# Free text:", "# A comment changes no content, and so no parameter.\n  # Free text:")
    _edit(path, "k: 5", "k:    5")
    assert _privacy(path) == before


def test_a_monitor_without_audit_policy_carries_empty_ones():
    parameters = _monitor(SCHEMAS / "monitor_policy.yaml")
    assert (parameters["audit_policy"], parameters["audit_policy_source"]) == ("", "")


def test_the_pipeline_reruns_privacy_after_an_edit_in_place(tmp_path):
    path = _copy(tmp_path, "privacy_policy.yaml")

    def privacy_parameters():
        pipeline = create_pipeline(load_config(output_dir=tmp_path / "outputs", privacy_policy=path))
        return next(node for node in pipeline.components if node.id == "Privacy").exec_properties

    before = privacy_parameters()
    assert privacy_parameters() == before
    _edit(path, "notes: {action: redact_pii}", "notes: {action: drop}")
    assert privacy_parameters()["policy"] != before["policy"]


def test_a_malformed_file_fails_at_construction_naming_file_and_field(tmp_path):
    path = _copy(tmp_path, "privacy_policy.yaml")
    _edit(path, "notes: {action: redact_pii}", "notes: {action: hash}")
    with pytest.raises(privacy.PrivacyPolicyError,
                       match=rf"^{path}: field 'columns\.notes\.action': unknown action 'hash'"):
        _privacy(path)
    with pytest.raises(AuditInputError, match=rf"^{tmp_path / 'card.yaml'}: cannot read the model card"):
        _model_audit(SCHEMAS / "audit_policy.yaml", tmp_path / "card.yaml")
    (tmp_path / "card.yaml").write_text("- a list\n")
    with pytest.raises(AuditInputError, match="the model card must be a YAML mapping"):
        _model_audit(SCHEMAS / "audit_policy.yaml", tmp_path / "card.yaml")


def test_privacy_executor_reads_the_content_against_the_data_columns(tmp_path):
    path = _copy(tmp_path, "privacy_policy.yaml")
    _edit(path, "key_file: /run/secrets/glassbox_pseudonym_key", "key_file: secrets/key")
    parameters = _privacy(path)
    read = privacy.policy_from_json(parameters["policy"], RAW_COLUMNS, source=parameters["policy_source"])
    assert privacy.policy_digest(read) == privacy.policy_digest(privacy.load_policy(path, RAW_COLUMNS))
    assert read.source == str(path)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "key").write_text("k" * 32)
    # A relative key file still resolves from the policy's directory, not the executor's working directory.
    assert privacy.load_key(read, environ={}).secret == b"k" * 32
    with pytest.raises(privacy.PrivacyPolicyError, match=rf"^{path}: field 'columns.notes': unknown column 'notes'"):
        privacy.policy_from_json(parameters["policy"], [c for c in RAW_COLUMNS if c != "notes"], str(path))


def test_audit_and_monitor_executors_read_the_content():
    audit = load_policy(SCHEMAS / "audit_policy.yaml")
    read = policy_from_json(policy_json(audit), source="audit_policy.yaml")
    assert policy_digest(read) == policy_digest(audit) and read.source == "audit_policy.yaml"
    negative = policy_json(audit).replace('"min_group_examples":', '"min_group_examples":-')
    with pytest.raises(ValueError, match=r"^audit_policy.yaml: field 'min_group_examples'"):
        policy_from_json(negative, source="audit_policy.yaml")
    monitor = load_monitor_policy(SCHEMAS / "monitor_policy.yaml")
    assert monitor_policy_from_json(monitor_policy_json(monitor), source="monitor_policy.yaml") == monitor
