"""`training.challengers: [scorecard]` with the policy's `prefer_interpretable`, end to end on the embedded data: both
models are trained, explained, evaluated and audited; the network's audit finds that it does not beat the scorecard
by the margin (on 180 eval applicants the gain's interval reaches well below 0.01), so the scorecard's Pusher ships
it, lineage names it as the pushed model, and the decision service serves it. The other way round is
tests/unit/model_audit/test_preference.py."""

import json
import os

import pytest

from pipeline import metadata
from pipeline.config import REPO_ROOT
from pipeline.records.lineage import Lineage
from pipeline.serving.engine import Engine
from tests.helpers import run_from_upstream

pytestmark = pytest.mark.e2e
POLICY = REPO_ROOT / "schemas" / "german_credit" / "audit_policy.yaml"


@pytest.fixture(scope="module")
def preferring_run(upstream_run, tmp_path_factory):
    """From the session run's steps up to Transform (`upstream_run`)."""
    directory = tmp_path_factory.mktemp("prefer")
    policy = directory / "audit_policy.yaml"
    policy.write_text(POLICY.read_text(encoding="utf-8") + "\nprefer_interpretable: {within_auc: 0.01}\n",
                      encoding="utf-8")
    return run_from_upstream(upstream_run, directory, audit_policy=policy, training={"challengers": ["scorecard"]})


def test_both_models_are_audited_and_the_scorecard_ships(preferring_run):
    states, outputs = preferring_run.states, preferring_run.outputs
    print(f"network + scorecard run: {preferring_run.seconds:.0f} s")
    for node in ("Trainer", "Explainer", "Evaluator", "ModelAudit"):
        assert states[node] == states[f"{node}_scorecard"] == "COMPLETE", node
    assert states["Pusher_scorecard"] == "COMPLETE" and "Pusher" not in states
    audit = outputs[("ModelAudit", "audit_report")]
    scorecard = outputs[("Trainer_scorecard", "model")]
    assert audit.custom_properties["ships"].string_value == "interpretable"
    assert audit.custom_properties["shipped_model_id"].int_value == scorecard.id
    reason = audit.custom_properties["preference_reason"].string_value
    assert reason.startswith("the candidate does not beat the scorecard by the margin (lower CI bound vs within_auc")
    report = json.loads(open(os.path.join(audit.uri, "audit.json")).read())
    preference = report["preference"]
    assert preference["ships"] == "interpretable" and preference["judged"] < 0.01
    assert preference["gain_ci"][0] <= preference["gain"] <= preference["gain_ci"][1]
    print(f"AUC network {preference['candidate_auc']:.3f}, scorecard {preference['interpretable_auc']:.3f}, "
          f"gain {preference['gain']:+.3f} CI {preference['gain_ci'][0]:+.3f} to {preference['gain_ci'][1]:+.3f}")
    html = open(os.path.join(audit.uri, "report.html"), encoding="utf-8").read()
    assert 'data-ships="interpretable"' in html
    # the scorecard passed an audit of its own, which lists it as evidence
    own = json.loads(open(os.path.join(outputs[("ModelAudit_scorecard", "audit_report")].uri, "audit.json")).read())
    assert own["verdict"] == "pass"
    assert {"role": "model", "artifact_id": scorecard.id} in [
        {"role": e["role"], "artifact_id": e["artifact_id"]} for e in own["lineage"]]


def test_lineage_and_the_service_name_the_pushed_scorecard(preferring_run):
    config, outputs = preferring_run.config, preferring_run.outputs
    scorecard = outputs[("Trainer_scorecard", "model")]
    assert Lineage(metadata.open_store(config), config.pipeline_name).pushed_model() == scorecard.id
    engine = Engine.from_store(config)
    assert engine.model.kind == "scorecard" and engine.served.model_id == scorecard.id
    assert engine.served.audit_verdict == "pass"
    assert engine.served.explanations_id == outputs[("Explainer_scorecard", "explanations")].id
