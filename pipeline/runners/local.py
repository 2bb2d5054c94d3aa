"""Runs the pipeline on this machine: LocalDagRunner, Beam DirectRunner, its MLMD store (SQLite or a server)."""

from __future__ import annotations

import contextlib
import logging
import time
from datetime import datetime
from typing import Callable, Iterator

from absl import logging as absl_logging
from tfx.dsl.compiler import constants
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.pipeline import Pipeline
from tfx.orchestration.portable import runtime_parameter_utils

from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.monitor import create_monitor_pipeline
from pipeline.pipeline import create_pipeline
from pipeline.records.integrity import seal_run
from pipeline.records.lineage import Lineage
from pipeline.records.monitoring import resolve_baseline
from pipeline.runners.scratch import scratch_tempdir

# LocalDagRunner logs these two lines around every component (tfx/orchestration/local/local_dag_runner.py).
_STARTED = "Component %s is running."
_FINISHED = "Component %s is finished."

OnEvent = Callable[[str, str, float], None]  # (event 'start'|'finish', component id, seconds since start)


class _ComponentProgress(logging.Handler):
    """Turns LocalDagRunner's log lines into start/finish callbacks with durations."""

    def __init__(self, on_event: OnEvent):
        super().__init__(level=logging.INFO)
        self._on_event = on_event
        self._started = {}

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg not in (_STARTED, _FINISHED) or not record.args:
            return
        component = record.args[0]
        if record.msg == _STARTED:
            self._started[component] = time.monotonic()
            self._on_event("start", component, 0.0)
        else:
            seconds = time.monotonic() - self._started.pop(component, time.monotonic())
            self._on_event("finish", component, seconds)


@contextlib.contextmanager
def _component_progress(on_event: OnEvent) -> Iterator[None]:
    absl_logger = logging.getLogger("absl")
    progress = _ComponentProgress(on_event)
    previous_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    absl_logger.addHandler(progress)
    try:
        yield
    finally:
        absl_logger.removeHandler(progress)
        absl_logging.set_verbosity(previous_verbosity)


def run_local(config: PipelineConfig, on_event: OnEvent | None = None) -> str:
    """Runs the whole pipeline, sealing each component's outputs as it finishes, and returns the run's id; raises the
    failing component's exception (or MetadataStoreBusyError, before anything runs, when another run holds the
    store)."""
    return _run(config, create_pipeline(config), on_event)


def run_monitor(config: PipelineConfig, data_dir: str, model_id: int | None = None,
                on_event: OnEvent | None = None, decisions: bool = False) -> int:
    """Runs the monitoring pipeline on the span in `data_dir` (`decisions`: a window of the decision record, as
    decision_span.export_span writes it) against model `model_id` (default: the latest pushed model) and its training
    run's artifacts, found in the store; returns the model's id."""
    lineage = Lineage(metadata.open_store(config), config.pipeline_name)
    model_id = lineage.pushed_model() if model_id is None else model_id
    pipeline = create_monitor_pipeline(config, str(data_dir), resolve_baseline(lineage, model_id),
                                       decisions=decisions)
    _run(config.model_copy(update={"pipeline_name": config.monitor_pipeline_name}), pipeline, on_event)
    return model_id


class _NamedRunDagRunner(LocalDagRunner):
    """LocalDagRunner with the run id given, instead of one it makes up inside `run`: a run that shares its store
    with others (a metadata server) must know which run is its own."""

    def __init__(self, run_id: str):
        super().__init__()
        self._run_id = run_id

    def run_with_ir(self, pipeline, run_options=None) -> None:
        runtime_parameter_utils.substitute_runtime_parameter(
            pipeline, {constants.PIPELINE_RUN_ID_PARAMETER_NAME: self._run_id})
        super().run_with_ir(pipeline, run_options)


def _run(config: PipelineConfig, pipeline: Pipeline, on_event: OnEvent | None) -> str:
    """Runs `pipeline` (named `config.pipeline_name`) holding the store, sealing outputs as components finish;
    returns the run's id."""
    run_id = datetime.now().isoformat()  # the form of LocalDagRunner's own run ids

    def event(kind: str, component: str, seconds: float) -> None:
        if kind == "finish":
            # Sealed before anything downstream reads them: TFX's cache key hashes each serialized input
            # artifact, so a digest added at the end of the run would make every consumer miss the cache in
            # the next run. (LocalDagRunner runs one component at a time; this runs between two of them.)
            seal_run(config, run_id)
        if on_event is not None:
            on_event(kind, component, seconds)

    config.output_dir.mkdir(parents=True, exist_ok=True)
    with metadata.exclusive_use(config), metadata.password_kept_out_of_logs(config), _component_progress(event), \
            scratch_tempdir():
        _NamedRunDagRunner(run_id).run(pipeline)
    return run_id
