"""The pipeline as an Airflow DAG: `airflow dags test` runs it to success (with a Beam worker process) and MLMD
records what a local run (in memory) records."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline import cli, metadata
from pipeline.config import REPO_ROOT, load_config
from pipeline.records import mlmd
from tests.helpers import SMALL_EXPLAINER

pytestmark = pytest.mark.e2e

AIRFLOW = Path(sys.executable).parent / "airflow"


def _airflow(env, *args, timeout):
    result = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"airflow {' '.join(args)}:\n{(result.stdout + result.stderr)[-5000:]}"
    return result.stdout + result.stderr


RESOLVERS = {"latest_blessed_model_resolver", "latest_audit_resolver"}


def _first_run(config):
    """component id -> (state, output keys), of the first run in the config's store: the local launcher's
    pipeline_run and node contexts, or the run context and component ids of TFX's classic launcher under Airflow."""
    store = metadata.open_store(config)
    nodes = mlmd.run_executions(store, config.pipeline_name, mlmd.run_ids(store, config.pipeline_name)[0])
    components = [node.node_id for node in nodes]
    assert len(set(components)) == len(components), f"a component ran twice: {components}"
    return {node.node_id: (node.state, sorted(mlmd.output_artifacts(store, node.execution.id))) for node in nodes}


def test_airflow_dag_runs_the_pipeline_like_a_local_run(pipeline_run, tmp_path, capsys):
    local_config, _ = pipeline_run
    outputs = tmp_path / "outputs"
    config_file = tmp_path / "glassbox.yaml"
    # A worker process here, in memory in the local run (small data): both Beam modes must give the same outputs.
    # One worker, not two: it still takes every step's work across processes, and a second one only made this test
    # slower on two cores shared with the other test worker. Two workers: the CsvExampleGen and Explainer tests.
    # The Explainer at the tests' small budget: it takes the same inputs and writes the same outputs.
    config_file.write_text(yaml.safe_dump({
        "output_dir": str(outputs), "explainer": SMALL_EXPLAINER,
        "beam_args": ["--direct_running_mode=multi_processing", "--direct_num_workers=1"]}))
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Importing TFX and building the DAG takes longer than Airflow's default 30 s on a busy machine.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "GLASSBOX_CONFIG": str(config_file),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir()
    _airflow(env, "db", "migrate", timeout=300)
    log = _airflow(env, "dags", "test", local_config.pipeline_name, "2024-01-02", timeout=1800)
    assert "DagRun Finished: dag_id=glassbox-german-credit" in log and ", state=success," in log, log[-3000:]
    assert sorted(p.name for p in (tmp_path / "tmp").iterdir()) == []  # each task's scratch folder went with it

    airflow, local = _first_run(load_config(output_dir=outputs)), _first_run(local_config)
    # TFX's classic launcher records a resolver's execution as CACHED; the local (portable) launcher as COMPLETE.
    assert {airflow[resolver][0] for resolver in RESOLVERS} == {"CACHED"}
    airflow.update({resolver: ("COMPLETE", airflow[resolver][1]) for resolver in RESOLVERS})
    assert airflow == local
    pushed = list((outputs / "serving").glob("*/saved_model.pb"))
    assert len(pushed) == int("Pusher" in local)

    # The run history and the lineage commands read the classic launcher's records too.
    assert cli.main(["lineage", "runs", "--output", str(outputs)]) == 0
    history = capsys.readouterr().out
    assert history.count("COMPLETE") >= len(local) - len(RESOLVERS) and "Trainer" in history and "?" not in history
    assert cli.main(["lineage", "model", "--output", str(outputs)]) == 0
    tree = capsys.readouterr().out
    assert "Trainer" in tree and "Privacy" in tree and "ModelAudit" in tree
