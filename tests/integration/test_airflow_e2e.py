"""The pipeline as an Airflow DAG: `airflow dags test` runs it to success (with Beam worker processes) and MLMD
records what a local run (in memory) records."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata
from pipeline.config import REPO_ROOT, load_config

pytestmark = pytest.mark.e2e

AIRFLOW = Path(sys.executable).parent / "airflow"


def _airflow(env, *args, timeout):
    result = subprocess.run([str(AIRFLOW), *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"airflow {' '.join(args)}:\n{(result.stdout + result.stderr)[-5000:]}"
    return result.stdout + result.stderr


RESOLVERS = {"latest_blessed_model_resolver", "latest_audit_resolver"}


def _local_run(config):
    """component id -> (state, output keys), of the session's local run."""
    store = metadata.open_store(config)
    run_id = metadata.run_ids(store, config.pipeline_name)[0]
    return {
        node.node_id: (node.state, sorted(metadata.output_artifacts(store, node.execution.id)))
        for node in metadata.run_executions(store, config.pipeline_name, run_id)
    }


def _airflow_run(config):
    """The same, from the store TFX's classic launcher writes under Airflow (component_id on each execution)."""
    store = metadata.open_store(config)
    state = metadata_store_pb2.Execution.State.Name
    runs = {}
    for e in store.get_executions():
        component = e.properties["component_id"].string_value
        assert component not in runs, f"{component} ran twice"
        runs[component] = (state(e.last_known_state), sorted(metadata.output_artifacts(store, e.id)))
    return runs


def test_airflow_dag_runs_the_pipeline_like_a_local_run(pipeline_run, tmp_path):
    local_config, _ = pipeline_run
    outputs = tmp_path / "outputs"
    config_file = tmp_path / "glassbox.yaml"
    # Worker processes here, in memory in the local run (small data): both Beam modes must give the same outputs.
    config_file.write_text(f"output_dir: {outputs}\nbeam_args: [--direct_running_mode=multi_processing, "
                           "--direct_num_workers=2]\n")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        # Importing TFX and building the DAG takes longer than Airflow's default 30 s on a busy machine.
        "AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT": "300",
        "GLASSBOX_CONFIG": str(config_file),
    }
    _airflow(env, "db", "migrate", timeout=300)
    log = _airflow(env, "dags", "test", local_config.pipeline_name, "2024-01-02", timeout=1800)
    assert "DagRun Finished: dag_id=glassbox-german-credit" in log and ", state=success," in log, log[-3000:]

    airflow, local = _airflow_run(load_config(output_dir=outputs)), _local_run(local_config)
    # TFX's classic launcher records a resolver's execution as CACHED; the local (portable) launcher as COMPLETE.
    assert {airflow[resolver][0] for resolver in RESOLVERS} == {"CACHED"}
    airflow.update({resolver: ("COMPLETE", airflow[resolver][1]) for resolver in RESOLVERS})
    assert airflow == local
    pushed = list((outputs / "serving").glob("*/saved_model.pb"))
    assert len(pushed) == int("Pusher" in local)
