"""The monitoring pipeline compiled for Kubeflow and built as an Airflow DAG, with the same runners as training."""

import json

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

from pipeline import cli
from pipeline.config import load_config
from pipeline.monitor import scheduled_monitor_pipeline
from pipeline.runners.kubeflow import compile_kubeflow
from tests.helpers import root_logger_kept

with root_logger_kept():
    from pipeline.runners.airflow import create_dag

BASELINE = {"model_uri": "gs://b/root/Trainer/model/7", "statistics_uri": "gs://b/root/StatisticsGen/statistics/4",
            "schema_uri": "gs://b/root/ImportSchemaGen/schema/2", "explanations_uri": "gs://b/root/Explainer/explanations/8"}
MONITOR = {"data_dir": "gs://b/spans/2025-06", "baseline": BASELINE}
DEPENDENCIES = {
    "model_importer": [], "schema_importer": [], "statistics_importer": [], "explanations_importer": [],
    "CsvExampleGen": [],
    "Privacy": ["CsvExampleGen"],
    "StatisticsGen": ["Privacy"],
    "ExampleValidator": ["StatisticsGen", "schema_importer"],
    "BulkInferrer": ["Privacy", "model_importer"],
    "Explainer": ["Privacy", "explanations_importer", "model_importer", "schema_importer"],
    "Monitor": ["BulkInferrer", "ExampleValidator", "Explainer", "Privacy", "explanations_importer",
                "model_importer", "statistics_importer"],
}


def _config(tmp_path, **monitor):
    return load_config(output_dir=tmp_path, kubeflow={"pipeline_root": "gs://b/root"}, monitor=monitor)


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitor")
    job = json_format.Parse(compile_kubeflow(_config(tmp, **MONITOR), tmp / "monitor.json", monitor=True).read_text(),
                            pb.PipelineJob())  # strict: an unknown field fails
    return json.loads(json_format.MessageToJson(job))


def test_compiles_every_step_with_its_dependencies(spec):
    assert spec["pipelineSpec"]["pipelineInfo"]["name"] == "glassbox-german-credit-monitor"
    tasks = spec["pipelineSpec"]["root"]["dag"]["tasks"]
    assert {name: sorted(task.get("dependentTasks", [])) for name, task in tasks.items()} == DEPENDENCIES


def test_importers_read_the_configured_baseline_and_files_are_the_images(spec):
    text = json.dumps(spec)
    for uri in BASELINE.values():
        assert json.dumps(uri) in text
    parameters = spec["pipelineSpec"]["root"]["dag"]["tasks"]["Monitor"]["inputs"]["parameters"]
    assert parameters["policy_source"]["runtimeValue"]["constantValue"]["stringValue"] == (
        "/glassbox/schemas/german_credit/monitor_policy.yaml")
    assert json.loads(parameters["policy"]["runtimeValue"]["constantValue"]["stringValue"])["version"] == 1
    example_gen = spec["pipelineSpec"]["root"]["dag"]["tasks"]["CsvExampleGen"]["inputs"]["parameters"]
    assert example_gen["input_base"]["runtimeValue"]["constantValue"]["stringValue"] == MONITOR["data_dir"]


def test_the_entrypoint_knows_the_monitor_report_type():
    from tfx.orchestration.kubeflow.v2 import compiler_utils

    import pipeline.runners.kubeflow_entrypoint  # noqa: F401 - registers Glassbox's artifact types

    assert compiler_utils.TITLE_TO_CLASS_PATH["glassbox.MonitorReport"] == "components.artifacts.MonitorReport"


def test_without_a_baseline_it_says_what_the_config_lacks(tmp_path, capsys):
    with pytest.raises(ValueError, match=r"needs monitor.data_dir and monitor.baseline in the config"):
        scheduled_monitor_pipeline(_config(tmp_path))
    assert cli.main(["compile", "kubeflow", "--monitor", "--output", str(tmp_path / "m.json")]) == 2
    assert "monitor.data_dir and monitor.baseline" in capsys.readouterr().err


def test_airflow_dag_is_the_monitoring_pipeline(tmp_path):
    config = _config(tmp_path, **MONITOR).model_copy(update={"airflow": load_config(
        airflow={"schedule": "@weekly"}).airflow})
    dag = create_dag(config, monitor=True)
    assert dag.dag_id == "glassbox-german-credit-monitor" and dag.schedule_interval == "@weekly"
    assert set(dag.task_ids) == set(DEPENDENCIES)
    assert dag.get_task("Monitor").upstream_task_ids == set(DEPENDENCIES["Monitor"])
