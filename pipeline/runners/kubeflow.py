"""Compiles the pipeline for Kubeflow Pipelines (V2) and Vertex AI Pipelines with TFX's KubeflowV2DagRunner.

The DAG is `create_pipeline(config, for_kubeflow=True)`; what only Kubeflow needs is added here: the image and
its entrypoint, paths as the image sees them, and the Trainer's machine (accelerators, limits, node selector).
"""

from __future__ import annotations

from pathlib import Path

import yaml
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.orchestration.kubeflow.v2 import kubeflow_v2_dag_runner
from tfx.orchestration.pipeline import Pipeline

from pipeline.config import REPO_ROOT, PipelineConfig
from pipeline.monitor import scheduled_monitor_pipeline
from pipeline.pipeline import create_pipeline

# Every task runs TFX's V2 entrypoint through ours, which knows Glassbox's artifact types.
ENTRYPOINT = ("python", "-m", "pipeline.runners.kubeflow_entrypoint")
TRAINER = "Trainer"
ResourceSpec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec


def rebase_into_image(pipeline: Pipeline, image_root: str) -> None:
    """Points every execution property that is a path inside this repository at its copy in the image.

    The components have checked those files (schema, policies) where they are now: the same files the
    Dockerfile copies into the image. Policies and the model card travel as content; their `*_source`
    paths only name them in reports and errors (and anchor a privacy policy's relative key_file).
    """
    prefix = f"{REPO_ROOT}/"
    for node in pipeline.components:
        for key, value in node.exec_properties.items():
            if isinstance(value, str) and value.startswith(prefix):
                node.exec_properties[key] = f"{image_root.rstrip('/')}/{value[len(prefix):]}"


def trainer_resources(config: PipelineConfig) -> ResourceSpec | None:
    kubeflow = config.kubeflow
    spec = ResourceSpec()
    if kubeflow.trainer_accelerator:
        spec.accelerator.type = kubeflow.trainer_accelerator
        spec.accelerator.count = kubeflow.trainer_accelerator_count
    if kubeflow.trainer_cpu_limit:
        spec.cpu_limit = kubeflow.trainer_cpu_limit
    if kubeflow.trainer_memory_limit_gb:
        spec.memory_limit = kubeflow.trainer_memory_limit_gb
    return spec if spec.ByteSize() else None


def node_selector_platform_spec(config: PipelineConfig) -> dict:
    """KFP's Kubernetes platform spec (the second document of a KFP package) pinning the Trainer's nodes."""
    executor = f"{TRAINER}_executor"  # TFX's executor label: '<node id>_executor'
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
        executor: {"nodeSelector": {"labels": dict(config.kubeflow.trainer_node_selector)}}
    }}}}}


def compile_kubeflow(config: PipelineConfig, output: Path, monitor: bool = False) -> Path:
    """Writes the pipeline (the monitoring pipeline if `monitor`) to `output`: a PipelineJob (.json, Vertex AI) or a
    KFP package (.yaml); returns it."""
    output = Path(output)
    node_selector = {} if monitor else config.kubeflow.trainer_node_selector
    if node_selector and output.suffix not in (".yaml", ".yml"):
        raise ValueError(f"kubeflow.trainer_node_selector needs a KFP package (an --output ending in .yaml), not "
                         f"{output.name}; Vertex AI picks the machine from kubeflow.trainer_accelerator instead.")
    pipeline = scheduled_monitor_pipeline(config, for_kubeflow=True) if monitor else create_pipeline(config,
                                                                                                   for_kubeflow=True)
    rebase_into_image(pipeline, config.kubeflow.image_root)
    resources = trainer_resources(config)
    if resources is not None and not monitor:
        next(node for node in pipeline.components if node.id == TRAINER).with_platform_config(resources)
    runner = kubeflow_v2_dag_runner.KubeflowV2DagRunner(
        kubeflow_v2_dag_runner.KubeflowV2DagRunnerConfig(
            default_image=config.kubeflow.image, default_commands=list(ENTRYPOINT)
        ),
        output_dir=str(output.parent),
        output_filename=output.name,
    )
    runner.run(pipeline)
    if node_selector:
        with output.open("a") as f:
            f.write("---\n")
            yaml.safe_dump(node_selector_platform_spec(config), f, sort_keys=True)
    return output
