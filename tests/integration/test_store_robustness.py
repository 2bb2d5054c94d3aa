"""The metadata store under stress: a concurrent run, runs killed in Privacy, in the Trainer and in ModelAudit, and the
resume after each."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import yaml

from pipeline import metadata
from pipeline.cli import main as glassbox
from pipeline.config import load_config
from pipeline.records import mlmd
from tests.helpers import SMALL_EXPLAINER

pytestmark = pytest.mark.e2e

DONE = ("COMPLETE", "CACHED")
# Where a run is killed, in the order the pipeline reaches them: one run per point, all on one store.
KILL_POINTS = ("Privacy", "Trainer", "ModelAudit")


def _glassbox(*args):
    return [sys.executable, "-m", "pipeline.cli", *args]


def _wait_for(process, text: str, seen: list) -> None:
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return
    raise AssertionError(f"the run ended before {text!r}:\n{''.join(seen)}")


def _states(config, run_id=None) -> dict:
    return {n.node_id: n.state for n in mlmd.run_executions(metadata.open_store(config), config.pipeline_name, run_id)}


def _wait_until_running(process, component: str, config, seen: list) -> None:
    """Returns while `component`'s executor works: after its progress line, once the store shows its execution
    RUNNING (the line comes before TFX registers the execution)."""
    _wait_for(process, f"▸ {component}", seen)
    while (state := _states(config).get(component)) != "RUNNING":
        assert state is None and process.poll() is None, f"{component} ended ({state}) unkilled:\n{''.join(seen)}"
        time.sleep(0.1)


def _second_run_is_refused(command, config, first) -> None:
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 3, second.stderr
    assert f"The metadata store {config.metadata_path} is busy" in second.stderr
    assert f"pid {first.pid}" in second.stderr


def test_concurrent_run_is_refused_and_a_run_killed_anywhere_resumes_from_the_cache(tmp_path, capsys):
    """One store through three kills, each in a later component than the one before: each next run takes what its
    predecessors finished from the cache, and runs the killed component again. While the run to be killed in the Trainer
    is in Transform, a run started on the same store is refused at once."""
    output, config_file = tmp_path / "outputs", tmp_path / "glassbox.yaml"
    config_file.write_text(yaml.safe_dump({"output_dir": str(output), "explainer": SMALL_EXPLAINER}))
    config, run_command = load_config(config_file), _glassbox("run", "--config", str(config_file))
    system_tmp = tmp_path / "tmp"
    system_tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    killed_runs, finished, previous_point = [], set(), None
    for point in KILL_POINTS:
        run = subprocess.Popen(run_command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, env=env)
        seen: list = []
        try:
            if point == "Trainer":  # a second run is refused while Transform, the longest step, holds the store
                _wait_until_running(run, "Transform", config, seen)
                _second_run_is_refused(run_command, config, run)
            _wait_until_running(run, point, config, seen)
        finally:
            with contextlib.suppress(ProcessLookupError):  # a run that ended by itself: the assertion says why
                os.killpg(run.pid, signal.SIGKILL)  # the run and its Beam workers
            run.wait()

        with sqlite3.connect(config.metadata_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert not metadata.in_use(config)  # the kill released the store
        killed = mlmd.run_ids(metadata.open_store(config), config.pipeline_name)[-1]
        states = _states(config, killed)
        # Killed in the component it was running, nothing after it: the point, or, on a loaded machine, a later
        # component before the next point.
        killed_in = list(states)[-1]
        assert states[killed_in] == "RUNNING" and point in states, states
        assert all(state in DONE for c, state in states.items() if c != killed_in), states
        # What the killed runs before it finished; but the Evaluator runs again once an earlier run blessed the model
        # (a kill that slid past the Evaluator on a loaded machine): that model is now its baseline.
        assert all(states[c] == "CACHED" for c in finished - {"Evaluator"}), states
        assert previous_point is None or states[previous_point] == "COMPLETE", states
        finished |= {c for c, state in states.items() if state in DONE and not c.endswith("_resolver")}
        killed_runs.append(killed)
        previous_point = killed_in
        # The killed run could not remove its temporary files; the next run removes them.
        assert [p.name.startswith(f"glassbox-run-{run.pid}-") for p in system_tmp.iterdir()] == [True]

    resumed = subprocess.run(run_command, capture_output=True, text=True, timeout=900, env=env)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert list(system_tmp.iterdir()) == []
    resume_run = mlmd.run_ids(metadata.open_store(config), config.pipeline_name)[-1]
    states = _states(config, resume_run)
    # The Evaluator may run again: the model of the run killed in ModelAudit was blessed, and is now its baseline.
    assert all(states[c] == "CACHED" for c in finished - {"Evaluator"}), states
    assert states[previous_point] == "COMPLETE" and states["Pusher"] == "COMPLETE", states

    # The records of every run, read in this process (the runs themselves went through the CLI above).
    assert glassbox(["lineage", "runs", "--json", "--output", str(output)]) == 0
    status = {r["run"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert status == {**{killed: "INTERRUPTED" for killed in killed_runs}, resume_run: "COMPLETE"}
    for run_id in (*killed_runs, resume_run):  # a killed run's finished work was sealed when the next run reused it
        code = glassbox(["lineage", "verify", "--run", run_id, "--output", str(output)])
        assert code == 0, capsys.readouterr()
    capsys.readouterr()
    killed_in_trainer = killed_runs[KILL_POINTS.index("Trainer")]
    assert glassbox(["lineage", "diff", killed_in_trainer, resume_run, "--json", "--output", str(output)]) == 0
    changes = json.loads(capsys.readouterr().out)["changes"]
    changed = {c["what"] for c in changes}
    assert "metrics.auc.Overall" in changed and "results.ModelAudit.verdict" in changed
    # The same data, schema and code wherever both runs ran a step (the diff names the code of a step that only
    # the resumed run reached, such as ModelAudit, as new in it).
    assert not [c for c in changes if c["what"].startswith(("data.", "code.", "schema."))
                and None not in (c["a"], c["b"])], changes
