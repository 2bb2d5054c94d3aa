"""The ModelAudit executor through `Do`, on the Explainer's and the Privacy executor's outputs: the three report files,
the verdict and figures in MLMD, the seal, a previous audit as baseline, and a check the policy lists but the inputs
cannot feed failing before anything is written."""

import json
import os
import re

import pytest

from components.artifacts import AuditReport
from components.digests import directory_digest
from components.model_audit import executor as model_audit
from components.model_audit.inputs import read_model_card
from components.model_audit.policy import AuditPolicyError, load_policy, policy_digest, policy_json
from components.validation import canonical_json
from pipeline.config import REPO_ROOT
from tests.unit.executors.builders import MODEL_ID, artifact, assert_sealed, files_under

# The session's chain of executor outputs (conftest.py) is made once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("executors")

SCHEMAS = REPO_ROOT / "schemas" / "german_credit"
DEFAULT_POLICY = load_policy(SCHEMAS / "audit_policy.yaml")
# The default policy without its challenger check, whose inputs (the Transform output) these tests do not make.
WITHOUT_CHALLENGER = DEFAULT_POLICY.model_copy(update={"checks": DEFAULT_POLICY.checks.model_copy(
    update={"challenger_margin": None})})
# ... and saying so, as schemas/digits/audit_policy.yaml does for its model.
POLICY = WITHOUT_CHALLENGER.model_copy(update={"not_applicable": {"challenger": "no Transform output in these tests"}})


def _properties(policy):
    """ModelAudit's execution parameters, as the component makes them from its files."""
    card = SCHEMAS / "model_card.yaml"
    return {"policy": policy_json(policy), "policy_source": policy.source,
            "model_card": canonical_json(read_model_card(card)), "model_card_source": str(card),
            "decision_threshold": 0.5}


@pytest.fixture
def inputs(model, examples, evaluation, blessing, explanations, statistics, anomalies, schema, privacy_run):
    """ModelAudit's inputs as pipeline/pipeline.py wires them, less the Transform output and a baseline audit."""
    return {"model": [model], "examples": [examples], "evaluation": [evaluation], "blessing": [blessing],
            "explanations": [explanations], "statistics": [statistics], "anomalies": [anomalies],
            "schema": [schema], "privacy_report": privacy_run["privacy_report"]}


def _audit(inputs, directory, policy=POLICY):
    report = artifact(AuditReport, directory, artifact_id=21)
    model_audit.Executor().Do(inputs, {"audit_report": [report]}, _properties(policy))
    return report


def _read_audit(report):
    with open(os.path.join(report.uri, model_audit.AUDIT_FILE)) as f:
        return json.load(f)


def test_audits_the_evidence_records_the_verdict_and_seals_the_report(inputs, privacy_run, tmp_path):
    report = _audit(inputs, tmp_path / "audit_report")
    audit = _read_audit(report)

    assert files_under(report.uri) == sorted([model_audit.AUDIT_FILE, model_audit.MODEL_CARD_FILE,
                                              model_audit.REPORT_FILE])
    assert report.get_string_custom_property("verdict") == audit["verdict"]
    assert report.get_string_custom_property("blocking_checks") == ",".join(audit["blocking_failures"])
    assert report.get_string_custom_property("undecided_blocking_checks") == ",".join(
        c["id"] for c in audit["checks"] if c["severity"] == "block" and c["status"] == "inconclusive")
    assert report.get_int_custom_property("blocking_failures") == len(audit["blocking_failures"])
    assert report.get_string_custom_property("policy_digest") == audit["policy"]["digest"] == policy_digest(POLICY)
    assert report.get_int_custom_property("audited_model_id") == MODEL_ID
    assert not report.has_custom_property("best_challenger")
    assert {entry["role"]: entry["sha256"] for entry in audit["lineage"]} == {
        key: directory_digest(artifacts[0].uri) for key, artifacts in inputs.items()}

    checks = {check["id"]: check for check in audit["checks"]}
    with open(os.path.join(privacy_run["privacy_report"][0].uri, "privacy_report.json")) as f:
        assert checks["k_anonymity"]["measured"] == json.load(f)["anonymity"]["k"]
    assert checks["anomalies"]["measured"] == 0 and checks["model_card"]["status"] == "pass"
    assert checks["auc_regression"]["status"] == "not_applicable"
    assert_sealed(report)

    again = _audit({**inputs, "baseline_audit": [report]}, tmp_path / "second_audit_report")
    checks = {check["id"]: check for check in _read_audit(again)["checks"]}
    assert checks["auc_regression"]["measured"] == 0 and checks["auc_regression"]["status"] == "pass"


def test_a_check_without_its_inputs_fails_before_anything_is_written(inputs, tmp_path):
    report = artifact(AuditReport, tmp_path / "audit_report")
    with pytest.raises(AuditPolicyError, match=rf"^{re.escape(DEFAULT_POLICY.source)}: field "
                                               r"'checks\.challenger_margin': needs the Transform output .*, which the "
                                               r"audit was not given$"):
        model_audit.Executor().Do(inputs, {"audit_report": [report]}, _properties(DEFAULT_POLICY))
    assert files_under(report.uri) == []


def test_a_policy_without_a_check_family_gets_a_whole_report(inputs, tmp_path):
    """A valid policy that neither lists nor excuses a family (here: challenger) once left audit.json and
    model_card.json without report.html, unsealed: the template read every family."""
    report = _audit(inputs, tmp_path / "audit_report", WITHOUT_CHALLENGER)
    assert files_under(report.uri) == sorted([model_audit.AUDIT_FILE, model_audit.MODEL_CARD_FILE,
                                              model_audit.REPORT_FILE])


@pytest.mark.parametrize("inconclusive_blocks", [False, True])
def test_block_checks_too_small_a_sample_left_undecided_are_named(inputs, tmp_path, inconclusive_blocks):
    policy = POLICY.model_copy(update={"min_group_examples": 100_000, "inconclusive_blocks": inconclusive_blocks})
    report = _audit(inputs, tmp_path / "audit_report", policy)
    audit = _read_audit(report)
    undecided = [c["id"] for c in audit["checks"] if c["severity"] == "block" and c["status"] == "inconclusive"]
    assert {"disparate_impact_ratio.sex", "disparate_impact_ratio.age_band"} <= set(undecided)
    named = report.get_string_custom_property("undecided_blocking_checks")
    if inconclusive_blocks:
        assert named == "" and set(undecided) <= set(audit["blocking_failures"]) and audit["verdict"] == "fail"
    else:
        assert named == ",".join(undecided) and not set(undecided) & set(audit["blocking_failures"])
