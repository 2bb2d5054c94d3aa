"""Privacy checks read the PrivacyReport; the documentation check reads the model card."""

import copy

import pytest
import yaml

from components.model_audit.checks import documentation, privacy
from tests.unit.model_audit.builders import MODEL_CARD, audit_inputs


def run(module, check_id, policy, **overrides):
    return module.CHECKS[check_id](getattr(policy.checks, check_id), policy, audit_inputs(**overrides))[0]


def report(hits=0, k=5, required_k=5):
    return {"detector_hits_after_total": hits, "anonymity": {"k": k, "required_k": required_k}}


def test_pii_left_after_deidentification_blocks(policy):
    assert run(privacy, "pii_after_deidentification", policy, privacy_report=report()).status == "pass"
    failed = run(privacy, "pii_after_deidentification", policy, privacy_report=report(hits=3))
    assert failed.status == "fail" and failed.severity == "block" and failed.measured == 3


@pytest.mark.parametrize("k, required_k, threshold, status", [
    (5, 5, 5, "pass"), (4, 3, 5, "fail"), (6, 8, 8, "fail"), (8, 8, 8, "pass"), (7, None, 5, "pass"),
])
def test_k_is_held_against_the_stricter_of_both_policies(policy, k, required_k, threshold, status):
    result = run(privacy, "k_anonymity", policy, privacy_report=report(k=k, required_k=required_k))
    assert (result.status, result.threshold, result.measured) == (status, threshold, k)
    assert result.details == {"audit_policy_k": 5, "privacy_policy_k": required_k}


def test_a_report_without_the_figures_is_inconclusive(policy):
    for check_id in ("pii_after_deidentification", "k_anonymity"):
        assert run(privacy, check_id, policy, privacy_report={}).status == "inconclusive"


def test_the_default_model_card_has_every_required_field(policy):
    result = run(documentation, "model_card", policy)
    assert result.status == "pass" and result.measured == 0 and result.details["missing"] == []


@pytest.mark.parametrize("edit, missing", [
    (lambda card: card.pop("limitations"), ["limitations"]),
    (lambda card: card.update(intended_use="  "), ["intended_use"]),
    (lambda card: card.update(owners=[], out_of_scope_uses=None), ["out_of_scope_uses", "owners"]),
])
def test_a_missing_or_empty_field_fails_the_block_check(policy, edit, missing):
    card = copy.deepcopy(yaml.safe_load(MODEL_CARD.read_text()))
    edit(card)
    result = run(documentation, "model_card", policy, model_card=card)
    assert result.status == "fail" and result.severity == "block"
    assert result.details["missing"] == [f for f in policy.checks.model_card.required_fields if f in missing]
    assert all(field in result.reason for field in missing)


def test_required_fields_may_be_dotted_paths():
    assert documentation.missing_fields({"a": {"b": "text"}}, ["a.b", "a.c", "x.y"]) == ["a.c", "x.y"]
