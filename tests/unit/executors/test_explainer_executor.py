"""The Explainer executor through `Do`, on the deidentified examples and the contract model: every output file, the
headline properties and the seal, and a split the examples lack failing before anything is written."""

import json
import os

import pandas as pd
import pytest

from components.artifacts import Explanations
from components.explainer import executor as explainer
from tests.unit.executors.builders import (
    EXPLAINER_CONFIG,
    artifact,
    assert_sealed,
    explainer_properties,
    files_under,
    split_rows,
)

# The session's chain of executor outputs (conftest.py) is made once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("executors")

FEATURES = ["age", "checking_account", "credit_amount", "duration", "housing", "sex"]


def _read_json(explanations, name):
    with open(os.path.join(explanations.uri, name)) as f:
        return json.load(f)


def test_explains_the_split_writes_every_file_and_seals_them(explanations, examples):
    files = files_under(explanations.uri)
    top = explanations.get_string_custom_property("sensitivity_features").split(",")
    expected = {"global.json", "quality.json", "sensitivity.json", "background.tfrecord",
                "plots/global_importance.png", "plots/beeswarm.png",
                "plots/deletion_insertion.png", *(f"plots/waterfall_{i}.png" for i in range(3)),
                *(f"plots/pdp_{name}.png" for name in top)}
    assert expected <= set(files)
    assert any(f.startswith("attributions/") and f.endswith(".parquet") for f in files)
    assert any(f.startswith("reason_codes/") and f.endswith(".jsonl") for f in files)
    assert not [f for f in files if f.startswith("_work/")]

    eval_rows = split_rows(examples, EXPLAINER_CONFIG.split)
    table = pd.read_parquet(os.path.join(explanations.uri, "attributions"))
    assert sorted(table["method"].unique()) == sorted(EXPLAINER_CONFIG.per_example_methods)
    for _, rows in table.groupby("method"):
        assert sorted(rows["example_id"]) == sorted(row["applicant_id"] for row in eval_rows)
        assert sorted(rows["label"]) == sorted(float(row["risk"]) for row in eval_rows)
    assert set(FEATURES + ["slice.sex", "slice.age_band"]) <= set(table.columns)

    importances = _read_json(explanations, "global.json")
    shapley = importances["shapley"]
    assert shapley["overall"]["examples"] == len(eval_rows)
    assert sorted(shapley["overall"]["mean_abs"]) == FEATURES and sorted(shapley["slices"]) == ["age_band", "sex"]
    completeness = _read_json(explanations, "quality.json")["methods"]["shapley"]["completeness"]

    assert explanations.get_string_custom_property("methods") == ",".join(EXPLAINER_CONFIG.methods)
    assert explanations.get_string_custom_property("primary_method") == "shapley"
    assert explanations.get_int_custom_property("examples") == len(eval_rows)
    assert explanations.get_int_custom_property("background_examples") == EXPLAINER_CONFIG.background_size
    assert explanations.get_float_custom_property("median_completeness_error") == completeness["median"] < 1e-5
    ranked = sorted(FEATURES, key=lambda name: -shapley["overall"]["mean_abs"][name])
    assert explanations.get_string_custom_property("top_features") == ",".join(ranked[:5])
    assert top == ranked[:EXPLAINER_CONFIG.sensitivity_features]
    assert_sealed(explanations)


def test_a_span_without_labels_is_explained_with_no_label_on_its_rows(unlabeled_span, span_explanations):
    table = pd.read_parquet(os.path.join(unlabeled_span["explanations"].uri, "attributions"))
    labelled = pd.read_parquet(os.path.join(span_explanations.uri, "attributions"))
    assert len(table) == len(labelled) and table["label"].isna().all() and labelled["label"].notna().all()
    assert sorted(table["prediction"]) == pytest.approx(sorted(labelled["prediction"]))


def test_a_split_the_examples_lack_fails_before_anything_is_written(model, examples, schema, tmp_path):
    explained = artifact(Explanations, tmp_path / "explanations")
    config = EXPLAINER_CONFIG.model_copy(update={"split": "test"})
    with pytest.raises(ValueError, match=r"^Explainer: the examples have no split 'test' \(they have train, eval\)\.$"):
        explainer.Executor().Do({"model": [model], "examples": [examples], "schema": [schema]},
                                {"explanations": [explained]}, explainer_properties(config))
    assert files_under(explained.uri) == []
