"""The digits (image) pipeline from configs/digits.yaml, run once and checked through ML Metadata."""

import json
import os
import time
from pathlib import Path

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from components.evaluator.executor import EVALUATED_BY, NOT_VECTORISED, TFMA_PIPELINE
from pipeline import metadata
from pipeline.config import REPO_ROOT, load_config
from pipeline.records import mlmd
from pipeline.records.integrity import verify_run
from pipeline.records.summary import summarize_run
from tests.helpers import assert_histograms

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """configs/digits.yaml, run once into a temporary directory; returns (config, seconds)."""
    from pipeline.runners.local import run_local

    config = load_config(REPO_ROOT / "configs" / "digits.yaml", output_dir=tmp_path_factory.mktemp("digits"))
    started = time.monotonic()
    run_local(config)
    return config, time.monotonic() - started


def _outputs(config):
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[0]
    executions = mlmd.run_executions(store, config.pipeline_name, run_id)
    return {node.node_id: (node.state, mlmd.output_artifacts(store, node.execution.id)) for node in executions}


def _property(artifact, name):
    value = artifact.custom_properties[name]
    return getattr(value, value.WhichOneof("value"))


def test_the_same_components_run_without_privacy_and_ship_a_blessed_audited_model(digits_run):
    config, seconds = digits_run
    print(f"digits pipeline: {seconds:.1f} s")
    outputs = _outputs(config)
    expected = {"ImportExampleGen", "Transform", "Trainer", "Explainer", "Evaluator", "ModelAudit", "Pusher"}
    assert expected <= set(outputs)
    assert "Privacy" not in outputs and "CsvExampleGen" not in outputs
    assert all(state == "COMPLETE" for state, _ in outputs.values()), outputs
    summary = summarize_run(config)
    assert summary.accuracy_by_slice["Overall"] >= 0.95
    assert {f"label:{c}" for c in range(10)} <= set(summary.accuracy_by_slice)
    assert summary.blessed and summary.pushed_uri
    # A ten-class model is past the Evaluator's vectorised pass: TFMA's pipeline evaluated it, and says why.
    evaluation = outputs["Evaluator"][1]["evaluation"][0]
    assert _property(evaluation, EVALUATED_BY) == TFMA_PIPELINE
    assert _property(evaluation, NOT_VECTORISED) == (
        "the metric computation _CompilableMetricsCombiner (sparse_categorical_accuracy)")
    # The image module records what it trained on, as the tabular one does: the model says so in MLMD.
    model = outputs["Trainer"][1]["model"][0]
    assert _property(model, "trained_on") == "CPU:0" and _property(model, "devices_requested") == "auto"


def test_explanations_hold_every_method_with_its_quality(digits_run):
    config, _ = digits_run
    explanations = _outputs(config)["Explainer"][1]["explanations"][0]
    assert _property(explanations, "modality") == "image"
    assert _property(explanations, "median_completeness_error") <= 0.01
    assert _property(explanations, "deletion_auc_ratio") < 1.0
    root = Path(explanations.uri)
    with np.load(root / "attributions.npz") as arrays:
        n = len(arrays["label"])
        assert n == _property(explanations, "examples") > 300
        for method in config.image.explainer.methods:
            assert arrays[f"attribution.{method}"].shape == (n, 8, 8, 1)
        accuracy = (arrays["probabilities"].argmax(axis=1) == arrays["label"]).mean()
    assert accuracy == pytest.approx(_property(explanations, "accuracy"))
    quality = json.loads((root / "quality.json").read_text())
    for method, entry in quality["methods"].items():
        # Pixel flipping in attribution order removes the evidence faster than random order. Not asserted for
        # Grad-CAM: ReLU zeroes many of its maps on this small CNN, and their order is arbitrary.
        if method != "grad_cam":
            assert entry["faithfulness"]["deletion_auc"] < entry["faithfulness"]["random_deletion_auc"], method
        assert entry["randomization"]["examples"] == config.image.explainer.randomization_examples
        assert entry["seconds_per_image"] > 0
    assert quality["methods"]["lime"]["fidelity"]["median"] > 0.5, quality["methods"]["lime"]["fidelity"]
    marker = quality["ground_truth"]["planted_marker"]
    print("planted marker:", json.dumps(marker))  # the README quotes these figures
    assert marker["marker_accuracy"] > 0.9 and set(marker["methods"]) == set(config.image.explainer.methods), marker
    assert marker["methods"]["occlusion"]["pointing_game"] > 0.8, marker
    activations = json.loads((root / "activations.json").read_text())
    assert set(activations) == {"conv1", "conv2"}
    assert len(activations["conv2"]["per_class_channel_mean"]) == 10
    assert len(activations["conv2"]["per_class_channel_mean"]["3"]) == config.image.conv_filters[1]
    pngs = {p.name for p in (root / "plots").glob("*.png")}
    assert {"overlays.png", "pixel_flipping.png", "activations_conv1.png", "activations_conv2.png"} <= pngs
    assert {f"overlays_class_{c}.png" for c in range(10)} <= pngs


def test_tensorboard_shows_the_overlays_next_to_the_training_curves(digits_run):
    config, _ = digits_run
    outputs = _outputs(config)
    logdir = _property(outputs["Explainer"][1]["explanations"][0], "tensorboard_logdir")
    model_run = outputs["Trainer"][1]["model_run"][0].uri
    explanations = outputs["Explainer"][1]["explanations"][0].uri
    # Both under the pipeline root that `tensorboard --logdir` is given; the sealed model_run is left as it was.
    assert logdir == os.path.join(explanations, "tensorboard") and os.path.commonpath([logdir, model_run]) == str(
        config.pipeline_root)
    assert {"train", "validation"} <= set(os.listdir(model_run)) and not any(
        name.startswith("explanations") for name in os.listdir(model_run))
    events = EventAccumulator(logdir, size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = set(events.Tags()["tensors"]) | set(events.Tags()["images"])
    assert {"explanations/overlays", "explanations/overlays_class_0", "explanations/activations_conv2"} <= tags
    assert_histograms(model_run, {"conv1", "conv2"})



def test_audit_judges_classes_and_explanations_and_says_privacy_does_not_apply(digits_run):
    config, _ = digits_run
    audit = _outputs(config)["ModelAudit"][1]["audit_report"][0]
    assert _property(audit, "verdict") == "pass"
    report = json.loads(Path(audit.uri, "audit.json").read_text())
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["accuracy"]["status"] == "pass" and checks["accuracy"]["ci"]
    worst = checks["worst_class_accuracy"]
    classes = worst["details"]["classes"]
    assert worst["measured"] == min(entry["accuracy"] for entry in classes.values())
    assert set(classes) == {str(c) for c in range(10)}
    assert checks["completeness_error"]["status"] == "pass"
    assert checks["faithfulness"]["status"] == "pass"
    assert {f"randomization_sanity.{m}" for m in config.image.explainer.methods} <= set(checks)
    assert {f"ground_truth_marker.{m}" for m in config.image.explainer.methods} <= set(checks)
    assert checks["privacy"]["status"] == "not_applicable" and "no personal data" in checks["privacy"]["reason"]
    assert not any(c["family"] == "fairness" and c["status"] != "not_applicable" for c in report["checks"])
    html = Path(audit.uri, "report.html").read_text()
    assert 'data-figure="Attributions, one eval example per class"' in html
    assert "data:image/png;base64," in html


def test_every_artifact_of_the_digits_run_is_sealed_and_stays_intact(digits_run):
    config, _ = digits_run
    findings = verify_run(config)
    assert findings and all(f.status == "intact" for f in findings), [(f.label, f.status, f.changed) for f in findings]
