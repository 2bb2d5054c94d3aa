"""The metadata store under stress: a concurrent run, a run killed in the Trainer, and the resume after it."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from pipeline import metadata
from pipeline.cli import main as glassbox
from pipeline.config import load_config
from pipeline.records import mlmd

pytestmark = pytest.mark.e2e

UPSTREAM = ["CsvExampleGen", "Privacy", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "DataGate", "Transform"]


def _glassbox(*args):
    return [sys.executable, "-m", "pipeline.cli", *args]


def _wait_for(process, text: str, seen: list) -> None:
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"the run ended before {text!r}:\n{''.join(seen)}")


def test_concurrent_run_is_refused_and_a_killed_run_resumes_from_the_cache(tmp_path, capsys):
    output = tmp_path / "outputs"
    config = load_config(output_dir=output)
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    first = subprocess.Popen(_glassbox("run", "--output", str(output)), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, start_new_session=True, env=env)
    seen: list = []
    try:
        _wait_for(first, "▸ CsvExampleGen", seen)
        second = subprocess.run(_glassbox("run", "--output", str(output)), capture_output=True, text=True,
                                timeout=300)
        assert second.returncode == 3, second.stderr
        assert f"The metadata store {config.metadata_path} is busy" in second.stderr
        assert f"pid {first.pid}" in second.stderr

        _wait_for(first, "▸ Trainer", seen)
        time.sleep(3)
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the run and its Beam workers, mid-Trainer
        first.wait()

    with sqlite3.connect(config.metadata_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    store = metadata.open_store(config)
    (killed_run,) = mlmd.run_ids(store, config.pipeline_name)
    states = {n.node_id: n.state for n in mlmd.run_executions(store, config.pipeline_name, killed_run)}
    assert states["Trainer"] != "COMPLETE" and "Evaluator" not in states
    assert all(states[c] == "COMPLETE" for c in UPSTREAM), states
    assert not metadata.in_use(config)  # the kill released the store
    # The killed run could not remove its temporary files; the next run removes them.
    assert [p.name.startswith(f"glassbox-run-{first.pid}-") for p in system_tmp.iterdir()] == [True]

    resumed = subprocess.run(_glassbox("run", "--output", str(output)), capture_output=True, text=True, timeout=900,
                             env=env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert list(system_tmp.iterdir()) == []
    store = metadata.open_store(config)
    killed, resume_run = mlmd.run_ids(store, config.pipeline_name)
    states = {n.node_id: n.state for n in mlmd.run_executions(store, config.pipeline_name, resume_run)}
    assert all(states[c] == "CACHED" for c in UPSTREAM), states
    assert states["Trainer"] == "COMPLETE" and states["Pusher"] == "COMPLETE"

    # The records of both runs, read in this process (the runs themselves went through the CLI above).
    assert glassbox(["lineage", "runs", "--json", "--output", str(output)]) == 0
    status = {r["run"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert status == {killed: "INTERRUPTED", resume_run: "COMPLETE"}
    for run in (killed, resume_run):  # the killed run's finished work was sealed when the next run reused it
        code = glassbox(["lineage", "verify", "--run", run, "--output", str(output)])
        assert code == 0, capsys.readouterr()
    capsys.readouterr()
    assert glassbox(["lineage", "diff", killed, resume_run, "--json", "--output", str(output)]) == 0
    changed = {c["what"] for c in json.loads(capsys.readouterr().out)["changes"]}
    assert "metrics.auc.Overall" in changed and "results.ModelAudit.verdict" in changed
    assert not {c for c in changed if c.startswith(("data.", "code.", "schema."))}, changed
