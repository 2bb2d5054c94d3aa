"""The audit of a multi-class (image) model: accuracy, the worst class, randomisation sanity, families that do not
apply, and the digits policy."""

from dataclasses import replace

import numpy as np
import pytest

from components.model_audit.audit import run_checks, verdict
from components.model_audit.inputs import AuditedExplanations, ClassPredictions
from components.model_audit.policy import AuditPolicyError, load_policy
from components.model_audit.report.audit_json import audit_report, validate_audit_report
from tests.unit.model_audit.builders import LINEAGE, REPO_ROOT, audit_inputs

DIGITS_POLICY = REPO_ROOT / "schemas" / "digits" / "audit_policy.yaml"


def _classes(per_class=40, wrong=None):
    """10 classes of `per_class` examples; `wrong[c]` of class c's examples are predicted as (c + 1) % 10."""
    labels = np.repeat(np.arange(10), per_class)
    predicted = labels.copy()
    for c, count in (wrong or {}).items():
        predicted[np.flatnonzero(labels == c)[:count]] = (c + 1) % 10
    return ClassPredictions(labels=labels, probabilities=np.eye(10)[predicted])


def _quality(spearman):
    return {"methods": {method: {
        "completeness": {"median": 0.002} if method.startswith("integrated") else None,
        "faithfulness": {"deletion_auc": 0.1, "random_deletion_auc": 0.5},
        "randomization": {"examples": 50, "spearman_mean": value}} for method, value in spearman.items()}}


def _inputs(classes, spearman=None):
    spearman = spearman or {"integrated_gradients_blurred": 0.4, "smoothgrad": 0.1}
    explained = AuditedExplanations(global_importance={"integrated_gradients_blurred": {"overall": {"mean_abs": {}}}},
                             quality=_quality(spearman), method="integrated_gradients_blurred", features={})
    return replace(audit_inputs(), predictions=None, classes=classes, explanations=explained)


def _by_id(results):
    return {r.id: r for r in results}


def test_the_digits_policy_passes_a_good_model_and_says_why_privacy_and_fairness_do_not_apply():
    policy = load_policy(DIGITS_POLICY)
    results = _by_id(run_checks(policy, _inputs(_classes(wrong={3: 2}))))
    assert results["accuracy"].measured == pytest.approx(398 / 400)
    assert results["accuracy"].ci.lower <= results["accuracy"].measured <= results["accuracy"].ci.upper
    assert results["worst_class_accuracy"].measured == pytest.approx(38 / 40)
    assert results["worst_class_accuracy"].details["worst_class"] == "3"
    for family in ("privacy", "fairness", "challenger"):
        assert results[family].status == "not_applicable" and results[family].reason == policy.not_applicable[family]
        assert [e.role for e in results[family].evidence] == ["audit_policy"]
    validate_audit_report(audit_report(list(results.values()), policy, LINEAGE))
    assert results["completeness_error"].status == "pass" and results["faithfulness"].status == "pass"
    assert verdict(list(results.values())) == ("pass", [])


def test_a_class_the_model_misses_fails_the_audit():
    results = _by_id(run_checks(load_policy(DIGITS_POLICY), _inputs(_classes(wrong={7: 10}))))
    assert results["accuracy"].status == "pass"  # 390 / 400 overall
    assert results["worst_class_accuracy"].status == "fail"
    assert results["worst_class_accuracy"].details["classes"]["7"]["accuracy"] == pytest.approx(0.75)
    assert verdict(list(results.values()))[1] == ["worst_class_accuracy"]


def test_a_class_with_too_few_examples_is_inconclusive_not_passed():
    classes = _classes()
    keep = ~((classes.labels == 5) & (np.arange(len(classes.labels)) % 40 >= 10))
    few = ClassPredictions(labels=classes.labels[keep], probabilities=classes.probabilities[keep])
    result = _by_id(run_checks(load_policy(DIGITS_POLICY), _inputs(few)))["worst_class_accuracy"]
    assert result.status == "inconclusive" and "5" in result.reason


def test_randomization_sanity_judges_every_method():
    results = _by_id(run_checks(load_policy(DIGITS_POLICY), _inputs(
        _classes(), {"integrated_gradients_blurred": 0.4, "integrated_gradients_black": 0.9})))
    assert results["randomization_sanity.integrated_gradients_blurred"].status == "pass"
    assert results["randomization_sanity.integrated_gradients_black"].status == "fail"


def test_ground_truth_marker_judges_each_methods_pointing_game():
    inputs = _inputs(_classes())
    quality = {**inputs.explanations.quality, "ground_truth": {"planted_marker": {"examples": 90, "methods": {
        "occlusion": {"pointing_game": 0.97, "mass_in_marker": 0.6},
        "grad_cam": {"pointing_game": 0.4, "mass_in_marker": 0.2}}}}}
    inputs = replace(inputs, explanations=replace(inputs.explanations, quality=quality))
    results = _by_id(run_checks(load_policy(DIGITS_POLICY), inputs))
    assert results["ground_truth_marker.occlusion"].status == "pass"
    assert results["ground_truth_marker.grad_cam"].status == "fail"
    assert results["ground_truth_marker.grad_cam"].details["mass_in_marker"] == 0.2
    without = _by_id(run_checks(load_policy(DIGITS_POLICY), _inputs(_classes())))["ground_truth_marker"]
    assert without.status == "inconclusive"


def test_binary_checks_on_a_multiclass_model_fail_with_the_field_named():
    credit_policy = load_policy(REPO_ROOT / "schemas" / "german_credit" / "audit_policy.yaml")
    with pytest.raises(AuditPolicyError, match=r"field 'checks.overall_auc': applies to a binary classifier"):
        run_checks(credit_policy, _inputs(_classes()))


def test_not_applicable_names_only_check_families(tmp_path):
    text = DIGITS_POLICY.read_text().replace("  fairness: No person", "  people: No person")
    (tmp_path / "policy.yaml").write_text(text)
    with pytest.raises(AuditPolicyError, match=r"field 'not_applicable"):
        load_policy(tmp_path / "policy.yaml")
