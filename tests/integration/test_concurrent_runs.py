"""Two `glassbox run`s at once on one MySQL-compatible metadata store (a MariaDB server of the tests' own): both
complete, each with its own intact lineage, and the server's password reaches no file under either output folder,
logs included, and nothing either run printed."""

import json
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

PASSWORD_ENV = "GLASSBOX_TEST_MLMD_PASSWORD"
# A small run: what is under test is the shared store, not the model. Few training steps, few explained examples.
SMALL_RUN = {"training": {"train_steps": 100}, "explainer": SMALL_EXPLAINER}
RUN_TIMEOUT_S = 480


def test_two_concurrent_runs_on_mariadb_complete_with_separate_intact_lineage(tmp_path, mariadb, monkeypatch, capsys):
    config_file = tmp_path / "mariadb.yaml"
    config_file.write_text(yaml.safe_dump({**SMALL_RUN, "metadata": mariadb.metadata_config("glassbox_concurrent",
                                                                                            PASSWORD_ENV)}))
    monkeypatch.setenv(PASSWORD_ENV, mariadb.password)
    outputs = [tmp_path / "first", tmp_path / "second"]

    started = time.monotonic()
    # Both at once, same pipeline name, on a database that does not exist yet: MLMD creates it and its tables under
    # the race.
    runs = [subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", "--config", str(config_file),
                              "--output", str(output)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for output in outputs]
    try:
        printed = [run.communicate(timeout=RUN_TIMEOUT_S)[0] for run in runs]
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    with capsys.disabled():
        print(f"\ntwo concurrent runs on MariaDB: {time.monotonic() - started:.0f} s")
    for run, output in zip(runs, printed):
        assert run.returncode == 0, output[-3000:]

    # TFX logs its connection config, password included, as a run starts: each run's log shows it blanked, and no
    # file under either output folder holds it.
    logs = [log.read_text() for output in outputs for log in output.glob("logs/*.log")]
    assert len(logs) == 2 and all('password: "<redacted>"' in log for log in logs)
    leaks = [str(path) for output in outputs for path in output.rglob("*")
             if path.is_file() and mariadb.password.encode() in path.read_bytes()]
    assert not leaks, leaks
    assert all(mariadb.password not in output for output in printed)

    config = load_config(config_file)
    store = metadata.open_store(config)
    run_ids = mlmd.run_ids(store, config.pipeline_name)
    assert len(run_ids) == 2, run_ids
    spans = {}
    for run_id in run_ids:
        nodes = mlmd.run_executions(store, config.pipeline_name, run_id)
        assert nodes and all(n.state in ("COMPLETE", "CACHED") for n in nodes), nodes
        spans[run_id] = (min(n.execution.create_time_since_epoch for n in nodes),
                         max(n.execution.last_update_time_since_epoch for n in nodes))
    first, second = sorted(run_ids, key=lambda run_id: spans[run_id])
    assert spans[second][0] < spans[first][1], "the runs did not overlap"

    capsys.readouterr()
    assert glassbox(["lineage", "runs", "--json", "--config", str(config_file)]) == 0
    status = {r["run"]: r["status"] for r in json.loads(capsys.readouterr().out)}
    assert status == {first: "COMPLETE", second: "COMPLETE"}
    for run_id in run_ids:
        assert glassbox(["lineage", "verify", "--run", run_id, "--config", str(config_file)]) == 0, \
            capsys.readouterr().out[-3000:]
