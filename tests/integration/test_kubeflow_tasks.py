"""The compiled Kubeflow spec runs: each task's own container command, in dependency order, on this machine.

tests/kfp_local.py plays the KFP backend (ExecutorInput in place of `{{$}}`, the ExampleGen driver hook, the
Pusher's trigger condition); the image is this checkout's virtualenv, at this checkout's paths. One step, the
CsvExampleGen executor, runs its literal command line in a fresh interpreter: the entrypoint every task runs works
from a clean start. Every other `python -m` step is forked from a fork server that imported TensorFlow and TFX once
(and that refuses to fork once any thread besides the native pools its imports started is running), which saves
each task the 7-19 s of those imports.
"""

import json
import os

import pytest

from pipeline.config import REPO_ROOT, load_config
from pipeline.runners.kubeflow import compile_kubeflow
from tests.helpers import SMALL_EXPLAINER
from tests.kfp_local import condition_holds, run_pipeline_job

pytestmark = pytest.mark.e2e


def test_condition_is_read_as_kfp_would():
    condition = ("((inputs.artifacts['b'].artifacts[0].metadata['blessed'] == 1.0) && "
                 "(inputs.artifacts['a'].artifacts[0].metadata['verdict'] == 'pass'))")

    def inputs(blessed, verdict):
        return {"b": [{"uri": "", "metadata": {"blessed": blessed}}],
                "a": [{"uri": "", "metadata": {"verdict": verdict}}]}

    assert condition_holds(condition, inputs(1.0, "pass"))
    assert not condition_holds(condition, inputs(0.0, "pass"))
    assert not condition_holds(condition, inputs(1.0, "fail"))
    assert not condition_holds(f"!({condition})", inputs(1.0, "pass"))


def test_every_compiled_task_runs_from_its_own_command(tmp_path):
    config = load_config(output_dir=tmp_path / "outputs", explainer=SMALL_EXPLAINER)
    kubeflow = {"image_root": str(REPO_ROOT), "pipeline_root": str(tmp_path / "root"),
                "serving_dir": str(tmp_path / "serving")}
    config = config.model_copy(update={"kubeflow": config.kubeflow.model_copy(update=kubeflow)})
    job = compile_kubeflow(config, tmp_path / "pipeline.json")

    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    states = run_pipeline_job(job, tmp_path / "tasks", env={**os.environ, "TMPDIR": str(system_tmp)})
    assert sorted(p.name for p in system_tmp.iterdir()) == []  # each task's scratch folder went with it

    resolvers = {"latest_blessed_model_resolver-model-blessing-resolver",
                 "latest_blessed_model_resolver-model-resolver", "latest_audit_resolver"}
    assert {name for name, state in states.items() if state == "resolved"} == resolvers
    ran = {name for name, state in states.items() if state == "done"}
    assert ran >= {"CsvExampleGen", "Privacy", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "DataGate",
                   "Transform", "Trainer", "Explainer", "Evaluator", "ModelAudit"}

    def metadata(task, key):
        output = json.loads((tmp_path / "tasks" / task / "executor_output.json").read_text())
        return output["artifacts"][key]["artifacts"][0]["metadata"]

    # Custom artifacts crossed task boundaries with their properties: the audit read the privacy report.
    audit = json.loads((tmp_path / "root" / "ModelAudit" / "audit_report" / "audit.json").read_text())
    (k_anonymity,) = [c for c in audit["checks"] if c["id"] == "k_anonymity"]
    assert k_anonymity["status"] == "pass" and k_anonymity["measured"] == metadata("Privacy", "privacy_report")["k"]
    assert audit["verdict"] == metadata("ModelAudit", "audit_report")["verdict"]
    # The Pusher ran exactly when the Evaluator blessed the model and the audit passed, and then pushed it.
    should_push = metadata("Evaluator", "blessing")["blessed"] == 1.0 and audit["verdict"] == "pass"
    assert (states["Pusher"] == "done") == should_push
    pushed = list((tmp_path / "serving").glob("*/saved_model.pb")) if should_push else []
    assert len(pushed) == int(should_push)
