"""The decision engine on the session run's pushed model (real TensorFlow, MLMD and files; no extra pipeline run):
requests made of the embedded CSV's raw rows agree with what the Explainer wrote for the same applicants, are checked
against the contract, leave no personal data in their output, and get recourse that truly flips the decision."""

import json
import os

import numpy as np
import pandas as pd
import pytest

from components.explainer.explain import BACKGROUND_FILE, read_background_records
from components.files import split_records
from components.privacy.actions import pseudonymize
from components.privacy.examples import example_to_row
from components.privacy.policy import PseudonymKey
from pipeline import metadata
from pipeline.records import mlmd
from pipeline.records.lineage import Lineage
from pipeline.serving.engine import Engine, InvalidApplicantError, NoPushedModelError, ServingSetupError
from tests.helpers import GERMAN_CREDIT_CSV, copy_of_store, first_outputs

pytestmark = pytest.mark.e2e

INTEGERS = ("job", "credit_amount", "duration", "age")
PII = ("applicant_name", "email", "phone", "iban", "street_address", "date_of_birth")


def _items(frame: pd.DataFrame) -> list:
    """The CSV's rows as a client sends them: JSON values, integers as numbers, no label, empty cells as null."""
    items = []
    for row in frame.drop(columns="risk").to_dict("records"):
        items.append({k: (None if pd.isna(v) else int(v) if k in INTEGERS else str(v)) for k, v in row.items()})
    return items


def _outputs(config):
    store = metadata.open_store(config)
    return first_outputs(store, mlmd.run_executions(store, config.pipeline_name))


@pytest.fixture(scope="module")
def served(pipeline_run):
    """(config, engine, the run's outputs, the raw CSV, its rows as items, the key)."""
    config, _ = pipeline_run
    engine = Engine.from_store(config)
    raw = pd.read_csv(GERMAN_CREDIT_CSV, dtype=str, keep_default_na=False).replace({"": None})
    key = PseudonymKey(os.environ["GLASSBOX_PSEUDONYM_KEY"].encode())
    return config, engine, _outputs(config), raw, _items(raw), key


@pytest.fixture(scope="module")
def explained(served):
    """The eval applicants the Explainer explained, matched to their raw CSV rows by pseudonym, decided in one call:
    (Explainer's Shapley rows, the decisions, the items)."""
    config, engine, outputs, raw, items, key = served
    table = pd.read_parquet(os.path.join(outputs[("Explainer", "explanations")].uri, "attributions"))
    shapley = table[table["method"] == "shapley"].set_index("example_id")
    ids = [pseudonymize(item["applicant_name"], key) for item in items]
    once = {i for i in ids if ids.count(i) == 1}
    chosen = [n for n, i in enumerate(ids) if i in once and i in shapley.index]
    assert len(chosen) >= 150, len(chosen)
    decisions = engine.decide([items[n] for n in chosen])
    return shapley.loc[[ids[n] for n in chosen]], decisions, [items[n] for n in chosen]


def test_the_pushed_model_is_served_with_its_runs_lineage_and_policies(served):
    config, engine, outputs, *_ = served
    store = metadata.open_store(config)
    model = outputs[("Trainer", "model")]
    assert Lineage(store, config.pipeline_name).pushed_model() == model.id
    described = engine.describe()
    assert described["model"] == {
        "artifact_id": model.id, "uri": model.uri, "sha256": model.custom_properties["sha256"].string_value,
        "run_id": mlmd.run_ids(store, config.pipeline_name)[-1],
        "pushed_uri": outputs[("Pusher", "pushed_model")].custom_properties["pushed_destination"].string_value,
        "explanations_artifact_id": outputs[("Explainer", "explanations")].id}
    assert described["policies"] == {
        "privacy": outputs[("Privacy", "privacy_report")].custom_properties["policy_digest"].string_value,
        "audit": outputs[("ModelAudit", "audit_report")].custom_properties["policy_digest"].string_value}
    assert described["threshold"] == config.explainer.decision_threshold == 0.5
    assert described["audit_verdict"] == "pass" and described["method"] == "shapley"
    # Protected attributes of the audit policy are frozen even though serving.immutable is empty by default.
    assert config.serving.immutable == [] and described["immutable"] == ["age", "sex"]


def test_the_explainer_keeps_its_background_in_the_sealed_artifact(served):
    config, engine, outputs, *_ = served
    explanations = outputs[("Explainer", "explanations")]
    records = read_background_records(explanations.uri)
    assert len(records) == config.explainer.background_size == explanations.custom_properties[
        "background_examples"].int_value
    assert BACKGROUND_FILE in json.loads(explanations.custom_properties["sha256_manifest"].string_value)
    # They are train examples, as de-identified: no raw personal column in them.
    train = set(split_records(os.path.join(outputs[("Privacy", "deidentified_examples")].uri, "Split-train")))
    assert set(records) <= train
    assert not set(PII) & set(example_to_row(records[0]))


def test_requests_agree_with_the_explainer_to_1e_6(explained, served):
    shapley, decisions, _ = explained
    engine = served[1]
    features = engine.model.feature_names
    served_values = np.array([[d["attributions"]["values"][f] for f in features] for d in decisions])
    np.testing.assert_allclose(served_values, shapley[features].to_numpy(), rtol=0, atol=1e-6)
    np.testing.assert_allclose([d["score"] for d in decisions], shapley["prediction"], rtol=0, atol=1e-6)
    np.testing.assert_allclose([d["attributions"]["base_value"] for d in decisions], shapley["baseline_prediction"],
                               rtol=0, atol=1e-6)
    # The same reason codes, in the same words, for every applicant the Explainer found below the threshold.
    assert [d["reasons"] for d in decisions] == [list(r) for r in shapley["reasons"]]
    assert {d["attributions"]["method"] for d in decisions} == {"shapley"}


def test_attributions_are_complete_and_one_item_gets_what_a_batch_gives(explained, served):
    _, decisions, items = explained
    engine = served[1]
    for d in decisions:
        total = d["attributions"]["base_value"] + sum(d["attributions"]["values"].values())
        assert abs(total - d["score"]) <= 1e-6
    for item, batched in zip(items[:3], decisions[:3]):
        [alone] = engine.decide([item])
        assert alone["score"] == pytest.approx(batched["score"], abs=1e-6)
        assert alone["decision"] == batched["decision"] and alone["reasons"] == batched["reasons"]
        assert alone["attributions"]["values"] == pytest.approx(batched["attributions"]["values"], abs=1e-6)


def test_declines_say_why_and_approvals_do_not(explained, served):
    _, decisions, _ = explained
    assert {d["decision"] for d in decisions} == {"approve", "decline"}
    for d in decisions:
        assert d["threshold"] == 0.5 and (d["decision"] == "approve") == (d["score"] >= 0.5)
        if d["decision"] == "decline":
            assert d["reasons"] and all(" lowered the score by " in r for r in d["reasons"])
        else:
            assert d["reasons"] == [] and d["recourse"] == []


def test_no_personal_data_leaves_the_engine(explained, served):
    config, engine, outputs, raw, items, key = served
    _, decisions, sent = explained
    text = json.dumps(decisions)
    for item in sent:
        for column in PII:
            if item[column]:
                assert item[column] not in text, column
    # The inputs are the de-identified rows that the Privacy step released for the same applicants, value for value.
    released = {}
    for split in ("train", "eval", "test"):
        for record in split_records(os.path.join(outputs[("Privacy", "deidentified_examples")].uri, f"Split-{split}")):
            row = example_to_row(record)
            released[row["applicant_id"]] = row
    for item, decision in zip(sent, decisions):
        inputs = decision["inputs"]
        assert not set(PII) & set(inputs) and inputs["applicant_id"] == pseudonymize(item["applicant_name"], key)
        expected = {k: v for k, v in released[inputs["applicant_id"]].items() if k != "risk"}
        assert inputs == expected
    json.dumps(decisions, allow_nan=False)  # plain JSON values only


def test_recourse_flips_the_decision_and_leaves_frozen_features_alone(explained, served):
    _, decisions, items = explained
    engine = served[1]
    declined = [(item, d) for item, d in zip(items, decisions) if d["decision"] == "decline"]
    with_recourse = [(item, d) for item, d in declined if d["recourse"]]
    assert len(with_recourse) >= len(declined) // 2, (len(with_recourse), len(declined))
    changed_items, expected = [], []
    for item, d in with_recourse:
        assert len(d["recourse"]) <= 3
        ranks = [(len(s["changes"]), s["cost"]) for s in d["recourse"]]
        assert ranks == sorted(ranks)
        for suggestion in d["recourse"]:
            assert not set(suggestion["changes"]) & {"age", "sex"}
            assert 1 <= len(suggestion["changes"]) <= 2 and suggestion["decision"] == "approve"
            changed = dict(item)
            for feature, (before, after) in suggestion["changes"].items():
                assert d["inputs"][feature] == before != after
                changed[feature] = after
            changed_items.append(changed)
            expected.append(suggestion["score"])
    # Every suggestion, sent as a request of its own, is approved at the score it promised.
    rescored = engine.decide(changed_items)
    assert {d["decision"] for d in rescored} == {"approve"}
    np.testing.assert_allclose([d["score"] for d in rescored], expected, rtol=0, atol=1e-6)


def test_configured_immutable_features_are_never_suggested(served, explained):
    config, engine, *_ = served
    _, decisions, items = explained
    frozen = config.model_copy(update={"serving": config.serving.model_copy(update={"immutable": ["checking_account",
                                                                                                  "duration"]})})
    strict = Engine.from_store(frozen)
    assert strict.immutable == ["age", "checking_account", "duration", "sex"]
    declined = [item for item, d in zip(items, decisions) if d["decision"] == "decline"]
    for d in strict.decide(declined):
        for suggestion in d["recourse"]:
            assert not set(suggestion["changes"]) & {"age", "checking_account", "duration", "sex"}
    unknown = config.model_copy(update={"serving": config.serving.model_copy(update={"immutable": ["income"]})})
    with pytest.raises(ServingSetupError, match=r"serving\.immutable names 'income', which is not a feature"):
        Engine.from_store(unknown)


@pytest.mark.parametrize("change, field, problem", [
    ({"duration": None}, "duration", "missing (required)"),
    ({"applicant_name": None}, "applicant_name", "missing (required)"),
    ({"duration": "12"}, "duration", "expected an integer, got a string"),
    ({"credit_amount": 1500.5}, "credit_amount", "expected an integer, got a number with a fraction"),
    ({"sex": 1}, "sex", "expected a string, got an integer"),
    ({"purpose": "yacht"}, "purpose", "unknown category; expected one of business, car, "),
    ({"age": 17}, "age", "out of range; expected 18 to 100"),
    ({"duration": 121}, "duration", "out of range; expected 1 to 120"),
    ({"email": ["a@b.de"]}, "email", "expected a string or a number, got an array"),
    ({"income": 3000}, "income", "unknown field; the contract has "),
    ({"risk": 1}, "risk", "is the label"),
])
def test_a_bad_field_names_the_item_and_the_field_never_the_value(served, change, field, problem):
    engine, items = served[1], served[4]
    bad = {**items[1], **change}
    if change.get(field, 0) is None:
        del bad[field]  # absent or null: both are missing
    with pytest.raises(InvalidApplicantError) as raised:
        engine.decide([items[0], bad, items[2]])
    error = raised.value
    assert (error.index, error.field) == (1, field)
    assert str(error).startswith(f"item 1, field '{field}': {problem}")
    for value in map(str, change.values()):
        if value not in ("None", "1") and value not in problem:
            assert value not in str(error)
    with pytest.raises(InvalidApplicantError):
        engine.validate([bad])


def test_an_item_that_is_not_an_object_is_refused(served):
    engine = served[1]
    with pytest.raises(InvalidApplicantError, match=r"^item 0: expected a JSON object of fields, got an array$"):
        engine.decide([[1, 2]])
    assert engine.decide([]) == []


def test_a_different_key_is_refused(served):
    config = served[0]
    with pytest.raises(ServingSetupError, match=r"is not the one run .* de-identified its data with"):
        Engine.from_store(config, key=PseudonymKey(b"another-key-0123456789abcdef"))


def test_a_named_model_and_a_store_without_a_push(served, tmp_path):
    config, engine, outputs = served[:3]
    assert Engine.from_store(config, model_id=outputs[("Trainer", "model")].id).describe() == engine.describe()
    with pytest.raises(ServingSetupError, match=r"^Artifact \d+ is not a Model"):
        Engine.from_store(config, model_id=outputs[("Explainer", "explanations")].id)
    copied = copy_of_store(config, tmp_path)
    store = metadata.open_store(copied, writable=True)
    pushes = store.get_artifacts_by_type("PushedModel")
    for pushed in pushes:
        pushed.custom_properties["pushed"].int_value = 0
    store.put_artifacts(pushes)
    with pytest.raises(NoPushedModelError, match=r"^No model has been pushed in the metadata store of "):
        Engine.from_store(copied)
