"""`glassbox compile kubeflow`: the compiled spec is what KFP accepts, and carries the image, GPUs (which the Trainer
then requires) and Beam flags."""

import json

import pytest
import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2 as pb

from pipeline import cli
from pipeline.config import REPO_ROOT, load_config
from pipeline.runners.kubeflow import ENTRYPOINT, compile_kubeflow

IMAGE = "europe-docker.pkg.dev/my-project/glassbox/glassbox:1.0"
DATAFLOW = ["--project=my-project", "--region=europe-west4", "--temp_location=gs://my-bucket/tmp"]
KUBEFLOW = {
    "pipeline_root": "gs://my-bucket/glassbox/root",
    "serving_dir": "gs://my-bucket/glassbox/serving",
    "trainer_accelerator": "NVIDIA_TESLA_T4",
    "trainer_accelerator_count": 2,
    "trainer_memory_limit_gb": 16,
}
# The DAG of create_pipeline(): each task and the tasks it waits for. The latest-blessed-model resolver
# compiles to two metadata queries; the Pusher also waits for what its Cond reads.
DEPENDENCIES = {
    "CsvExampleGen": [],
    "Privacy": ["CsvExampleGen"],
    "StatisticsGen": ["Privacy"],
    "ImportSchemaGen": [],
    "ExampleValidator": ["ImportSchemaGen", "StatisticsGen"],
    "DataGate": ["ExampleValidator"],
    "Transform": ["DataGate", "ImportSchemaGen", "Privacy"],
    "Trainer": ["ImportSchemaGen", "Transform"],
    "Explainer": ["ImportSchemaGen", "Privacy", "Trainer"],
    "latest_blessed_model_resolver-model-blessing-resolver": [],
    "latest_blessed_model_resolver-model-resolver": [],
    "Evaluator": ["Privacy", "Trainer", "latest_blessed_model_resolver-model-resolver"],
    "latest_audit_resolver": [],
    "ModelAudit": ["Evaluator", "ExampleValidator", "Explainer", "ImportSchemaGen", "Privacy", "StatisticsGen",
                   "Trainer", "Transform", "latest_audit_resolver"],
    "Pusher": ["Evaluator", "ModelAudit", "Trainer"],
}


def _config(**kubeflow):
    return load_config(beam_profile="dataflow", extra_beam_args=DATAFLOW,
                       kubeflow={**KUBEFLOW, "image": IMAGE, **kubeflow})


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = compile_kubeflow(_config(), tmp_path_factory.mktemp("kubeflow") / "pipeline.json")
    return path.read_text()


@pytest.fixture(scope="module")
def spec(compiled):
    job = json_format.Parse(compiled, pb.PipelineJob())  # strict: an unknown field fails
    return json.loads(json_format.MessageToJson(job.pipeline_spec))


def _containers(spec):
    return {label: e["container"] for label, e in spec["deploymentSpec"]["executors"].items() if "container" in e}


def test_parses_strictly_into_kfp_protos(compiled):
    job = json.loads(compiled)
    json_format.ParseDict(job["pipelineSpec"], pb.PipelineSpec())
    assert job["runtimeConfig"]["gcsOutputDirectory"] == KUBEFLOW["pipeline_root"]
    assert job["pipelineSpec"]["pipelineInfo"]["name"] == "glassbox-german-credit"


def test_every_component_with_its_dependencies(spec):
    tasks = spec["root"]["dag"]["tasks"]
    assert {name: task.get("dependentTasks", []) for name, task in tasks.items()} == DEPENDENCIES


def test_pusher_runs_only_on_a_blessed_and_passed_model(spec):
    condition = spec["root"]["dag"]["tasks"]["Pusher"]["triggerPolicy"]["condition"]
    assert "metadata['blessed'] == 1.0" in condition and "metadata['verdict'] == 'pass'" in condition
    assert " && " in condition


def test_only_the_trainer_requests_accelerators(spec):
    resources = {label: c.get("resources") for label, c in _containers(spec).items() if c.get("resources")}
    assert resources == {
        "Trainer_executor": {"accelerator": {"type": "NVIDIA_TESLA_T4", "count": "2"}, "memoryLimit": 16.0}
    }


def _trainer_custom_config(spec):
    parameters = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    return json.loads(parameters["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])


def test_a_trainer_that_asked_for_a_gpu_requires_one(spec):
    """training.devices is auto and the Trainer's machine has GPUs: its run_fn is told to fail when TensorFlow sees
    none (a CPU-only image) rather than train on the CPU, and says which setting asked; Glassbox's executor records
    what it trained on."""
    custom_config = _trainer_custom_config(spec)
    assert custom_config["devices"] == "gpu"
    assert custom_config["devices_asked_by"] == "kubeflow.trainer_accelerator NVIDIA_TESLA_T4"
    args = _containers(spec)["Trainer_executor"]["args"]
    assert args[args.index("--executor_class_path") + 1] == "components.trainer.executor.Executor"


def test_a_tpu_accelerator_asks_for_a_tpu_and_its_address(tmp_path):
    with pytest.raises(ValueError, match=r"^kubeflow.trainer_accelerator TPU_V3 asks for a TPU, which needs "
                                         r"training.tpu_address"):
        compile_kubeflow(_config(trainer_accelerator="TPU_V3"), tmp_path / "no-address.json")
    config = _config(trainer_accelerator="TPU_V3").model_copy(
        update={"training": load_config(training={"tpu_address": "local"}).training})
    compiled = json.loads(compile_kubeflow(config, tmp_path / "tpu.json").read_text())
    custom_config = _trainer_custom_config(compiled["pipelineSpec"])
    assert (custom_config["devices"], custom_config["tpu_address"]) == ("tpu", "local")


def test_devices_set_in_the_config_or_a_local_run_are_left_as_they_are(tmp_path):
    from pipeline.pipeline import trainer_custom_config

    config = _config()  # an NVIDIA_TESLA_T4 on Kubeflow
    assert trainer_custom_config(config)["devices"] == "auto"  # a local run has no Kubeflow machine
    assert "devices_asked_by" not in trainer_custom_config(config)
    chosen = config.model_copy(update={"training": load_config(training={"devices": "gpu"}).training})
    assert trainer_custom_config(chosen, for_kubeflow=True)["devices"] == "gpu"
    assert "devices_asked_by" not in trainer_custom_config(chosen, for_kubeflow=True)


def test_image_entrypoint_and_beam_flags_reach_every_task(spec):
    containers = _containers(spec)
    assert len(containers) == 12
    for label, container in containers.items():
        assert container["image"] == IMAGE, label
        assert container["command"] == list(ENTRYPOINT), label
        assert container["args"][-4:] == ["--runner=DataflowRunner", *DATAFLOW], label


def test_user_code_and_files_are_the_images(compiled, spec):
    assert str(REPO_ROOT) not in compiled
    parameters = {name: task.get("inputs", {}).get("parameters", {}) for name, task in
                  spec["root"]["dag"]["tasks"].items()}

    def constant(task, name):
        return parameters[task][name]["runtimeValue"]["constantValue"]["stringValue"]

    assert constant("Trainer", "run_fn") == "pipeline.modules.training.run_fn"
    assert constant("Transform", "preprocessing_fn") == "pipeline.modules.preprocessing.preprocessing_fn"
    # The policy travels as content; its source path only names it in audit.json.
    assert constant("ModelAudit", "policy_source") == "/glassbox/schemas/german_credit/audit_policy.yaml"
    assert json.loads(constant("ModelAudit", "policy"))["version"] == 1
    assert constant("CsvExampleGen", "input_base") == "/glassbox/data/german_credit"
    assert "gs://my-bucket/glassbox/serving" in constant("Pusher", "push_destination")


def test_custom_modules_are_refused_for_an_image_that_imports_its_own(tmp_path):
    config = load_config(beam_profile="dataflow", extra_beam_args=DATAFLOW, kubeflow={**KUBEFLOW, "image": IMAGE},
                         transform_module=tmp_path / "my_transform.py")
    with pytest.raises(ValueError, match="transform_module and trainer_module apply to local and Airflow runs"):
        compile_kubeflow(config, tmp_path / "pipeline.json")


def test_compiling_twice_gives_the_same_bytes(compiled, tmp_path):
    assert compile_kubeflow(_config(), tmp_path / "again.json").read_text() == compiled


def test_node_selector_goes_into_a_kfp_package(tmp_path):
    config = _config(trainer_node_selector={"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"})
    with pytest.raises(ValueError, match="needs a KFP package"):
        compile_kubeflow(config, tmp_path / "pipeline.json")
    pipeline_spec, platform_spec = yaml.safe_load_all(compile_kubeflow(config, tmp_path / "pipeline.yaml").read_text())
    json_format.ParseDict(pipeline_spec, pb.PipelineSpec())
    platform = json_format.ParseDict(platform_spec, pb.PlatformSpec())
    executors = platform.platforms["kubernetes"].deployment_spec.executors
    assert set(executors) == {"Trainer_executor"}
    assert "Trainer_executor" in pipeline_spec["deploymentSpec"]["executors"]
    assert executors["Trainer_executor"]["nodeSelector"]["labels"]["cloud.google.com/gke-accelerator"] == (
        "nvidia-tesla-t4"
    )


def test_cli_compiles_with_the_image_given(capsys, tmp_path):
    output = tmp_path / "cli.json"
    assert cli.main(["compile", "kubeflow", "--image", "glassbox:test", "--output", str(output)]) == 0
    assert f"Compiled glassbox-german-credit for Kubeflow: {output}" in capsys.readouterr().out
    executors = json.loads(output.read_text())["pipelineSpec"]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values() if "container" in e} == {"glassbox:test"}


def test_the_entrypoint_rebuilds_every_artifact_type_of_the_spec(spec):
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils

    import pipeline.runners.kubeflow_entrypoint  # noqa: F401 - registers Glassbox's artifact types

    types = {
        json.dumps(definition["artifactType"], sort_keys=True)
        for component in spec["components"].values()
        for side in ("inputDefinitions", "outputDefinitions")
        for definition in component.get(side, {}).get("artifacts", {}).values()
    }
    artifacts = pb.ArtifactList(artifacts=[
        json_format.ParseDict({"uri": "/tmp/a", "type": json.loads(t)}, pb.RuntimeArtifact()) for t in sorted(types)
    ])
    rebuilt = kubeflow_v2_entrypoint_utils.parse_raw_artifact_dict({"all": artifacts})["all"]
    names = {artifact.type_name for artifact in rebuilt}
    assert {"glassbox.Explanations", "glassbox.PrivacyReport", "glassbox.AuditReport", "Model"} <= names


def test_a_challenger_gets_its_own_branch_and_the_audit_gives_the_push(tmp_path):
    """training.challengers: the scorecard's Trainer, Explainer, Evaluator and ModelAudit beside the network's; each
    Pusher runs on what the network's audit says ships."""
    config = _config().model_copy(update={"training": _config().training.model_copy(
        update={"challengers": ["scorecard"]})})
    job = json_format.Parse(compile_kubeflow(config, tmp_path / "pipeline.json").read_text(), pb.PipelineJob())
    tasks = json.loads(json_format.MessageToJson(job.pipeline_spec))["root"]["dag"]["tasks"]
    for node in ("Trainer", "Explainer", "Evaluator", "ModelAudit", "Pusher"):
        assert {node, f"{node}_scorecard"} <= set(tasks), node
    assert {"ModelAudit_scorecard", "Evaluator_scorecard", "Trainer_scorecard"} <= set(
        tasks["ModelAudit"]["dependentTasks"])
    assert "metadata['ships'] == 'candidate'" in tasks["Pusher"]["triggerPolicy"]["condition"]
    assert "metadata['ships'] == 'interpretable'" in tasks["Pusher_scorecard"]["triggerPolicy"]["condition"]
