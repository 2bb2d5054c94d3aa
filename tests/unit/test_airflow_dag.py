"""The Airflow DAG: its schedule and retries from configuration, and its Cond check on what a run recorded."""

from datetime import timedelta

import pytest
from tfx.dsl.experimental.conditionals import conditional
from tfx.orchestration import data_types, metadata
from tfx.types import standard_artifacts

from components.artifacts import AuditReport
from pipeline.config import load_config
from pipeline.pipeline import create_pipeline
from tests.helpers import root_logger_kept

with root_logger_kept():
    from pipeline.runners.airflow import create_dag, predicates_hold


def test_dag_is_the_pipeline_with_the_configured_schedule_and_retries(tmp_path):
    config = load_config(output_dir=tmp_path / "outputs", airflow={"schedule": "@daily", "start_date": "2025-03-01",
                                                                   "retries": 2, "retry_delay_minutes": 1.5})
    dag = create_dag(config)
    assert config.metadata_path.parent.is_dir()  # where the tasks' SQLite store is made
    assert dag.dag_id == config.pipeline_name and dag.schedule_interval == "@daily" and not dag.catchup
    assert dag.start_date.isoformat() == "2025-03-01T00:00:00+00:00"
    ids = {node.id for node in create_pipeline(config).components}
    assert set(dag.task_ids) == ids
    assert {t.retries for t in dag.tasks} == {2} and {t.retry_delay for t in dag.tasks} == {timedelta(minutes=1.5)}
    assert dag.get_task("Pusher").upstream_task_ids == {"Trainer", "Evaluator", "ModelAudit"}
    assert dag.get_task("Transform").upstream_task_ids == {"DataGate", "ImportSchemaGen", "Privacy"}


@pytest.fixture(scope="module")
def pusher_predicates(tmp_path_factory):
    pipeline = create_pipeline(load_config(output_dir=tmp_path_factory.mktemp("airflow")))
    (pusher,) = [node for node in pipeline.components if node.id == "Pusher"]
    predicates = conditional.get_predicates(pusher, pipeline.dsl_context_registry)
    assert predicates
    return predicates


def _record(store, info, component_id, key, artifact):
    """An execution of `component_id` in the run of `info` with one output, as TFX's classic launcher records it."""
    component = data_types.ComponentInfo(component_type=component_id, component_id=component_id, pipeline_info=info)
    store.register_execution(info, component, store.register_pipeline_contexts_if_not_exists(info))
    store.publish_execution(component, output_artifacts={key: [artifact]})


@pytest.mark.parametrize(
    "blessed, verdict, pushes",
    [(1, "pass", True), (0, "pass", False), (1, "fail", False), (0, "fail", False)],
)
def test_pusher_runs_only_for_a_blessed_and_passed_model_of_its_run(pusher_predicates, tmp_path, blessed, verdict,
                                                                    pushes):
    info = data_types.PipelineInfo(pipeline_name="p", pipeline_root=str(tmp_path), run_id="run-2")
    with metadata.Metadata(metadata.sqlite_metadata_connection_config(str(tmp_path / "m.sqlite"))) as store:
        # An earlier run blessed and passed its model; only this run's artifacts count.
        earlier = data_types.PipelineInfo(pipeline_name="p", pipeline_root=str(tmp_path), run_id="run-1")
        for run, (bless, verdict_of_run) in ((earlier, (1, "pass")), (info, (blessed, verdict))):
            blessing = standard_artifacts.ModelBlessing()
            blessing.uri = str(tmp_path / run.run_id / "blessing")
            blessing.set_int_custom_property("blessed", bless)
            _record(store, run, "Evaluator", "blessing", blessing)
            audit = AuditReport()
            audit.uri = str(tmp_path / run.run_id / "audit")
            audit.set_string_custom_property("verdict", verdict_of_run)
            _record(store, run, "ModelAudit", "audit_report", audit)
        assert predicates_hold(pusher_predicates, store, info) is pushes
