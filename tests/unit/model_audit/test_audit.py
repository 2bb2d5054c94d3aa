"""run_checks over the default policy, the evidence it attaches, inputs it refuses, and the verdict."""

import dataclasses

import numpy as np
import pytest

from components.model_audit.audit import CHECKS, run_checks, verdict
from components.model_audit.checks.result import CheckResult
from components.model_audit.inputs import AuditInputError, Predictions
from components.model_audit.policy import AuditPolicyError, Checks
from tests.unit.model_audit.builders import EVIDENCE, audit_inputs, predictions


def test_every_check_a_policy_can_name_has_code():
    assert set(CHECKS) == set(Checks.model_fields)


def test_the_default_audit_runs_every_check_once_per_attribute(results):
    ids = [r.id for r in results]
    assert len(ids) == len(set(ids)) == 26
    for check_id in ("disparate_impact_ratio", "equal_opportunity_difference", "equalized_odds_difference",
                     "proxy_features"):
        assert {f"{check_id}.sex", f"{check_id}.age_band"} <= set(ids)
    assert {r.family for r in results} == set(EVIDENCE)


def test_each_result_carries_its_familys_evidence(results):
    for result in results:
        assert result.evidence == tuple(EVIDENCE[result.family])


def test_the_hand_made_model_fails_only_where_expected(results):
    failed = {r.id for r in results if r.status == "fail"}
    # challenger_margin: the hand-made challenger data's 'network' is the logistic model itself (builders.py).
    assert failed == {"disparate_impact_ratio.sex", "equal_opportunity_difference.age_band", "proxy_features.age_band",
                      "challenger_margin"}
    assert next(r for r in results if r.id == "auc_regression").status == "not_applicable"


def result(status, severity):
    return CheckResult(id=f"{status}_{severity}", family="data", requirement="r", severity=severity, status=status)


@pytest.mark.parametrize("statuses, inconclusive_blocks, expected", [
    ([("pass", "block"), ("fail", "warn"), ("inconclusive", "block")], False, ("pass", [])),
    ([("pass", "block"), ("fail", "block"), ("fail", "warn")], False, ("fail", ["fail_block"])),
    ([("inconclusive", "block"), ("inconclusive", "warn")], True, ("fail", ["inconclusive_block"])),
    ([("not_applicable", "block")], True, ("pass", [])),
])
def test_verdict(statuses, inconclusive_blocks, expected):
    assert verdict([result(*s) for s in statuses], inconclusive_blocks) == expected


def test_inputs_that_do_not_fit_fail_before_any_check(policy):
    prediction = predictions()
    short = dataclasses.replace(prediction, scores=prediction.scores[:-1])
    with pytest.raises(AuditInputError, match="scores has 179 values for 180 eval labels"):
        run_checks(policy, audit_inputs(predictions=short))
    no_age = Predictions(prediction.labels, prediction.scores, {"sex": prediction.groups["sex"]})
    with pytest.raises(AuditPolicyError, match=r"audit_policy.yaml: field 'protected_attributes.age_band': "):
        run_checks(policy, dataclasses.replace(audit_inputs(predictions=prediction), predictions=no_age))
    bad_labels = dataclasses.replace(prediction, labels=np.full(180, 2))
    with pytest.raises(AuditInputError, match="must be 0 or 1"):
        run_checks(policy, audit_inputs(predictions=bad_labels))
    bad_scores = dataclasses.replace(prediction, scores=np.where(prediction.labels == 1, np.nan, 0.2))
    with pytest.raises(AuditInputError, match=r"probabilities in \[0, 1\]"):
        run_checks(policy, audit_inputs(predictions=bad_scores))


def test_explanations_of_another_method_are_refused(policy):
    inputs = audit_inputs()
    other = dataclasses.replace(inputs.explanations, method="integrated_gradients")
    with pytest.raises(AuditInputError, match="no attributions of the primary method 'integrated_gradients'"):
        run_checks(policy, dataclasses.replace(inputs, explanations=other))


def test_a_protected_feature_the_model_was_not_explained_on_is_a_policy_error(policy):
    renamed = policy.model_copy(update={"protected_attributes": {
        "sex": policy.protected_attributes["sex"].model_copy(update={"features": ["gender"]}),
        "age_band": policy.protected_attributes["age_band"]}})
    with pytest.raises(AuditPolicyError, match=r"field 'protected_attributes.sex.features': 'gender' is not among"):
        run_checks(renamed, audit_inputs())
