"""Runs the pipeline as an Airflow DAG: TFX's AirflowDagRunner on the same `create_pipeline()`.

AirflowDagRunner launches each component with TFX's classic in-process launcher, which records every execution
in the pipeline's MLMD store as the local runner does, but knows nothing of `tfx.dsl.Cond`: left alone, it would
push a model that was never blessed or audited. So each conditional task checks its predicates first, on the
artifacts this DAG run recorded, and is skipped when one is false.
"""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, timezone
from typing import Sequence

from airflow import models
from airflow.exceptions import AirflowSkipException
from tfx.dsl.compiler import compiler_utils, placeholder_utils
from tfx.dsl.experimental.conditionals import conditional
from tfx.dsl.placeholder import placeholder as ph
from tfx.orchestration import data_types, metadata
from tfx.orchestration.airflow.airflow_dag_runner import AirflowDagRunner, AirflowPipelineConfig
from tfx.orchestration.portable import data_types as portable_data_types
from tfx.types import channel_utils

from pipeline.config import PipelineConfig
from pipeline.monitor import scheduled_monitor_pipeline
from pipeline.pipeline import create_pipeline
from pipeline.runners.scratch import in_scratch_tempdir, scratch_tempdir


def predicates_hold(
    predicates: Sequence[ph.Predicate], store: metadata.Metadata, pipeline_info: data_types.PipelineInfo
) -> bool:
    """Whether every predicate is true of the artifacts its channels' producers recorded in this run."""
    for predicate in predicates:
        channels = {compiler_utils.implicit_channel_key(c): c for c in channel_utils.get_dependent_channels(predicate)}
        inputs = {
            key: store.search_artifacts(channel.output_key, pipeline_info, channel.producer_component_id)
            for key, channel in channels.items()
        }
        expression = channel_utils.encode_placeholder_with_channels(predicate, compiler_utils.implicit_channel_key)
        context = placeholder_utils.ResolutionContext(exec_info=portable_data_types.ExecutionInfo(input_dict=inputs))
        if not placeholder_utils.resolve_placeholder_expression(expression, context):
            return False
    return True


def _launch_if(launch: functools.partial, predicates: Sequence[ph.Predicate], task_id: str):
    def run(**context):
        pipeline_info = launch.keywords["pipeline_info"]
        pipeline_info.run_id = context["ti"].get_dagrun().run_id  # as TFX's launcher callable sets it
        with metadata.Metadata(launch.keywords["metadata_connection_config"]) as store:
            if not predicates_hold(predicates, store, pipeline_info):
                raise AirflowSkipException(f"{task_id}: its tfx.dsl.Cond predicate is false in this run")
        return launch(**context)

    return run


def create_dag(config: PipelineConfig, monitor: bool = False) -> models.DAG:
    """The training pipeline's DAG, or with `monitor` the monitoring pipeline's (span and baseline from
    `config.monitor`); each DAG is named after its pipeline."""
    airflow = config.airflow
    dag_config = {
        "schedule": airflow.schedule,
        "start_date": datetime.fromisoformat(airflow.start_date).replace(tzinfo=timezone.utc),
        "catchup": False,
        "default_args": {"retries": airflow.retries, "retry_delay": timedelta(minutes=airflow.retry_delay_minutes)},
    }
    pipeline = scheduled_monitor_pipeline(config) if monitor else create_pipeline(config)
    # The SQLite store's folder (run_local makes it too): TFX made the pipeline root only while packaging modules.
    config.output_dir.mkdir(parents=True, exist_ok=True)
    with scratch_tempdir():  # module wheels of the user's own are built here, at every parse of the DAG file
        dag = AirflowDagRunner(AirflowPipelineConfig(airflow_dag_config=dag_config)).run(pipeline)
    for node in pipeline.components:
        task = dag.get_task(node.id)
        predicates = conditional.get_predicates(node, pipeline.dsl_context_registry)
        if predicates:
            task.python_callable = _launch_if(task.python_callable, predicates, node.id)
        task.python_callable = in_scratch_tempdir(task.python_callable)
    return dag
