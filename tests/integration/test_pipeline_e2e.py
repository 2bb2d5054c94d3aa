"""The whole pipeline on the embedded data, checked through ML Metadata."""

import glob
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
import yaml

from components.files import split_records
from pipeline import metadata
from pipeline.config import REPO_ROOT
from pipeline.records import mlmd
from pipeline.records.summary import summarize_run
from pipeline.runners.local import run_local
from tests.helpers import copy_of_store

pytestmark = pytest.mark.e2e

EXPECTED_COMPONENTS = {
    "CsvExampleGen",
    "Privacy",
    "StatisticsGen",
    "ImportSchemaGen",
    "ExampleValidator",
    "DataGate",
    "Transform",
    "Trainer",
    "Explainer",
    "latest_blessed_model_resolver",
    "Evaluator",
    "latest_audit_resolver",
    "ModelAudit",
}


def _first_run(config):
    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[0]
    return store, mlmd.run_executions(store, config.pipeline_name, run_id)


def _output(store, executions, node_id, key):
    (node,) = [n for n in executions if n.node_id == node_id]
    return mlmd.output_artifacts(store, node.execution.id)[key][0]


def test_every_component_completes_exactly_once(pipeline_run):
    config, _ = pipeline_run
    store, executions = _first_run(config)
    by_node = {}
    for node in executions:
        by_node.setdefault(node.node_id, []).append(node.state)
    # The Pusher runs only for a blessed model that passed the audit (see test_audit_e2e.py).
    assert set(by_node) - {"Pusher"} == EXPECTED_COMPONENTS
    assert all(states == ["COMPLETE"] for states in by_node.values()), by_node
    for node_id, key in [("CsvExampleGen", "examples"), ("Privacy", "deidentified_examples"),
                         ("Privacy", "privacy_report"), ("StatisticsGen", "statistics"),
                         ("ExampleValidator", "anomalies"), ("Transform", "transform_graph"),
                         ("Trainer", "model"), ("Explainer", "explanations"), ("Evaluator", "evaluation"),
                         ("ModelAudit", "audit_report")]:
        artifact = _output(store, executions, node_id, key)
        assert artifact.state == artifact.LIVE and os.listdir(artifact.uri), (node_id, key)


def test_model_is_good_enough_and_blessed(pipeline_run):
    config, _ = pipeline_run
    summary = summarize_run(config, mlmd.run_ids(metadata.open_store(config),
                                                     config.pipeline_name)[0])
    assert summary.auc_by_slice["Overall"] >= 0.70
    assert {"sex:female", "sex:male"} <= set(summary.auc_by_slice)
    assert any(key.startswith("age_band:") for key in summary.auc_by_slice)
    assert summary.blessed is True
    assert summary.audit["verdict"] in ("pass", "fail")
    if summary.pushed_uri:
        assert os.path.isfile(os.path.join(summary.pushed_uri, "saved_model.pb"))


def _eval_examples(store, executions, limit=200):
    examples = _output(store, executions, "CsvExampleGen", "examples")
    records = split_records(os.path.join(examples.uri, "Split-eval"), limit=limit)
    assert records
    return tf.constant(records)


def test_exported_signatures_agree(pipeline_run):
    config, _ = pipeline_run
    store, executions = _first_run(config)
    model_dir = os.path.join(_output(store, executions, "Trainer", "model").uri, "Format-Serving")
    model = tf.saved_model.load(model_dir)
    assert {"serving_default", "transform_features", "predict_from_features", "slice_features", "binary_label"} <= set(
        model.signatures
    )
    serialized = _eval_examples(store, executions)
    served = model.signatures["serving_default"](examples=serialized)["probability"].numpy()
    dense = model.signatures["transform_features"](examples=serialized)["dense"]
    recomposed = model.signatures["predict_from_features"](dense=dense)["probability"].numpy()
    np.testing.assert_allclose(served, recomposed, atol=1e-5)
    assert served.shape == (len(serialized), 1) and ((served > 0) & (served < 1)).all()

    with open(os.path.join(model_dir, "assets", "glassbox_feature_map.json")) as f:
        feature_map = json.load(f)
    assert feature_map["dense_width"] == dense.shape[1]
    features = {entry["feature"] for entry in feature_map["features"]}
    assert features == {"sex", "job", "housing", "saving_accounts", "checking_account",
                        "credit_amount", "duration", "purpose", "age"}
    # The column ranges tile the dense vector exactly, in order.
    ranges = [tuple(entry["columns"]) for entry in feature_map["features"]]
    assert ranges[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    # A one-hot block sums to one for every example.
    (sex,) = [e for e in feature_map["features"] if e["feature"] == "sex"]
    np.testing.assert_allclose(dense.numpy()[:, sex["columns"][0]:sex["columns"][1]].sum(axis=1), 1.0)


def test_trainer_logs_tensorboard_into_model_run(pipeline_run):
    config, _ = pipeline_run
    store, executions = _first_run(config)
    model_run = _output(store, executions, "Trainer", "model_run")
    assert glob.glob(os.path.join(model_run.uri, "**", "events.out.tfevents.*"), recursive=True)


def test_run_leaves_no_temporary_files(pipeline_run, run_tempdir):
    # TFX packages itself (49 MB) for every Beam step, and the module files, into the temporary folder.
    assert sorted(p.name for p in run_tempdir.iterdir()) == []


def test_unchanged_rerun_is_served_from_cache(pipeline_run, tmp_path):
    # On a copy of the session's store: the rerun sees exactly the session's run before it, whichever tests ran
    # first, and the tests that read the session's store never see the rerun.
    config = copy_of_store(pipeline_run[0], tmp_path)
    rerun = run_local(config)
    store = metadata.open_store(config)
    first, second = mlmd.run_ids(store, config.pipeline_name)
    assert second == rerun  # the run knows its own id (it seals its own outputs, whoever else shares the store)
    before, after = ({n.node_id: n for n in mlmd.run_executions(store, config.pipeline_name, run)}
                     for run in (first, second))
    # The Evaluator may run again: the first run's blessed model is now its baseline input.
    for node_id in ("CsvExampleGen", "Privacy", "StatisticsGen", "ExampleValidator", "DataGate", "Transform",
                    "Trainer", "Explainer"):
        assert after[node_id].state == "CACHED", {n: x.state for n, x in after.items()}
        # Served, not redone: the cached step's outputs are the first run's own artifacts.
        reused, made = (mlmd.output_artifacts(store, nodes[node_id].execution.id) for nodes in (after, before))
        assert {key: [(a.id, a.uri) for a in artifacts] for key, artifacts in reused.items()} == {
            key: [(a.id, a.uri) for a in artifacts] for key, artifacts in made.items()}, node_id


# What TensorFlow, absl, CUDA stubs, Beam and Python's shutdown print, and no line of ours does.
NOISE = re.compile(r"^[IWEF]\d{4} |WARNING|INFO|Traceback|Exception ignored|cuda|TensorRT|cpu_feature_guard|oneDNN|"
                   r"deprecat|absl", re.IGNORECASE | re.MULTILINE)
PROGRESS = re.compile(r"Running \S+ on .+ \(output: .+\)|  ▸ \S+ \.\.\.|  ✓ \S+ finished in [\d.]+ s")


def test_glassbox_run_prints_progress_and_the_summary_only(pipeline_run, tmp_path):
    """The real command as a user runs it, on a copy of the session's store: its imports, TensorFlow's start-up, the
    steps served from the cache and the interpreter's shutdown (which printed TensorFlow's AtomicFunction.__del__
    tracebacks after a cached run) all stay off the terminal; the run's log file has them."""
    config = copy_of_store(pipeline_run[0], tmp_path)
    config_file = tmp_path / "glassbox.yaml"
    config_file.write_text(yaml.safe_dump({"output_dir": str(config.output_dir),
                                           "metadata": {"sqlite_path": str(config.metadata_path)}}))
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([sys.executable, "-m", "pipeline.cli", "run", "--config", str(config_file)],
                          capture_output=True, text=True, timeout=600, cwd=REPO_ROOT, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    assert not NOISE.search(done.stdout), done.stdout
    progress, _, summary = done.stdout.partition("\n\n")
    assert all(PROGRESS.fullmatch(line) for line in progress.splitlines()), progress
    assert re.match(r"Run \S+ finished in [\d.]+ s\n", summary), summary
    log = summary.split("Log:")[-1].strip()
    assert "Component Trainer is running." in open(log).read()
