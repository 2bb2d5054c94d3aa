"""Policy validation: each mistake is one AuditPolicyError naming file and field; schema and model agree."""

import copy
import json

import pytest
import yaml
from pydantic import ValidationError

from components.model_audit.inputs import MULTICLASS_CHECKS
from components.model_audit.policy import SCHEMA_PATH, AuditPolicy, AuditPolicyError, Checks, load_policy, policy_digest
from tests.unit.model_audit.builders import DEFAULT_POLICY


def default_data() -> dict:
    return yaml.safe_load(DEFAULT_POLICY.read_text())


def policy_error(tmp_path, data) -> str:
    path = tmp_path / "audit_policy.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(AuditPolicyError) as error:
        load_policy(path)
    message = str(error.value)
    assert message.startswith(f"{path}: field '"), message
    return message.removeprefix(f"{path}: ")


def edited(edit) -> dict:
    data = copy.deepcopy(default_data())
    edit(data)
    return data


def test_default_policy_lists_every_check(policy):
    # except those of multi-class (image) models, which the digits policy lists (test_image_checks.py)
    image_only = {*MULTICLASS_CHECKS, "randomization_sanity", "ground_truth_marker"}
    assert all(getattr(policy.checks, name) is not None for name in Checks.model_fields if name not in image_only)
    assert policy.protected_features == ["age", "sex"]
    assert policy.checks.disparate_impact_ratio.rule == "point"
    assert policy.checks.disparate_impact_ratio.severity == "block"


@pytest.mark.parametrize(
    "edit, field, words",
    [
        (lambda d: d["checks"].update(overall_accuracy=d["checks"]["overall_auc"]), "checks.overall_accuracy",
         "unknown check 'overall_accuracy'"),
        (lambda d: d["checks"]["overall_auc"].update(threshold="high"), "checks.overall_auc.threshold",
         "not of type 'number'"),
        (lambda d: d["checks"]["overall_auc"].update(threshold="0.7"), "checks.overall_auc.threshold",
         "not of type 'number'"),
        (lambda d: d["checks"]["calibration_ece"].pop("threshold"), "checks.calibration_ece.threshold",
         "required but missing"),
        (lambda d: d["checks"]["disparate_impact_ratio"].pop("rule"), "checks.disparate_impact_ratio.rule",
         "required but missing"),
        (lambda d: d["checks"]["anomalies"].update(severity="blocker"), "checks.anomalies.severity", "'blocker'"),
        (lambda d: d["checks"]["faithfulness"].update(tolerance=1), "checks.faithfulness.tolerance",
         "unknown field 'tolerance'"),
        (lambda d: d["bootstrap"].update(resamples=10), "bootstrap.resamples", "less than the minimum of 100"),
        (lambda d: d.pop("protected_attributes"), "protected_attributes", "required but missing"),
    ],
)
def test_policy_errors_name_file_and_field(tmp_path, edit, field, words):
    message = policy_error(tmp_path, edited(edit))
    assert message.startswith(f"field '{field}': "), message
    assert words in message
    with pytest.raises(ValidationError):  # the typed model, behind the schema, rejects it too
        AuditPolicy.model_validate(edited(edit))


def test_unreadable_and_non_mapping_policies(tmp_path):
    with pytest.raises(AuditPolicyError, match="cannot read the policy"):
        load_policy(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- overall_auc\n")
    with pytest.raises(AuditPolicyError, match="must be a YAML mapping"):
        load_policy(tmp_path / "list.yaml")


def test_schema_and_model_name_the_same_checks_and_fields():
    schema = json.loads(SCHEMA_PATH.read_text())
    checks = schema["properties"]["checks"]["properties"]
    assert list(checks) == list(Checks.model_fields)
    for name, field in Checks.model_fields.items():
        model = next(t for t in field.annotation.__args__ if t is not type(None))
        definition = schema["$defs"][checks[name]["$ref"].split("/")[-1]]
        assert set(definition["properties"]) == set(model.model_fields), name
        assert set(definition["required"]) == {f for f, info in model.model_fields.items() if info.is_required()}


def test_digest_ignores_layout_and_comments_but_not_content(tmp_path, policy):
    relaid = tmp_path / "relaid.yaml"
    relaid.write_text("# the same policy, in flow style\n" + json.dumps(default_data()))
    assert policy_digest(load_policy(relaid)) == policy_digest(policy)
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(edited(lambda d: d["checks"]["overall_auc"].update(threshold=0.71))))
    assert policy_digest(load_policy(changed)) != policy_digest(policy)
