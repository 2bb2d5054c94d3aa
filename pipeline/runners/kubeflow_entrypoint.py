"""The container entrypoint of every compiled Kubeflow task: TFX's V2 entrypoint, knowing Glassbox's artifact types.

TFX's entrypoint (`kubeflow_v2_run_executor`) rebuilds each input and output artifact's Python class from its schema
title, and takes a title it does not know for the class's import path. Glassbox's types are titled with their MLMD
type names (`glassbox.AuditReport`, ...), which are no import path, so they are registered here first.
"""

from absl import app
from tfx.orchestration.kubeflow.v2 import compiler_utils
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor

from components import artifacts
from pipeline.runners.scratch import scratch_tempdir

for artifact_class in (artifacts.Explanations, artifacts.PrivacyReport, artifacts.AuditReport, artifacts.MonitorReport):
    compiler_utils.TITLE_TO_CLASS_PATH[artifact_class.TYPE_NAME] = (
        f"{artifact_class.__module__}.{artifact_class.__name__}"
    )

if __name__ == "__main__":
    with scratch_tempdir():
        app.run(kubeflow_v2_run_executor.main, flags_parser=kubeflow_v2_run_executor._parse_flags)  # noqa: SLF001
