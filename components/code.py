"""Glassbox's own component code in TFX's cache key.

TFX serves a step from its cache when its executor's class name, its execution parameters and its input artifacts
are those of an earlier execution (tfx/orchestration/portable/cache_utils.py): the executor's code is not in that
key, so after an upgrade that changes what a step computes, an unchanged input would still be served the old
output. Each of Glassbox's own steps therefore has an execution parameter, CODE_DIGEST, that the pipeline builders
set to the digest of every file under components/ (pipeline/pipeline.py, `with_code_digest`): any change to that
code reruns them, and the steps after them rerun on their new outputs. Not on Kubeflow, where the image, not the
compiling machine, holds the code (and its tag is in each task's spec); nor in TFX's own CsvExampleGen, whose spec
is TFX's, with our executor (the Evaluator, whose executor is ours too, has TFX's spec plus this parameter).
"""

from __future__ import annotations

from pathlib import Path

from components.digests import content_manifest, manifest_digest

COMPONENTS_DIR = Path(__file__).resolve().parent
CODE_DIGEST = "code_digest"


def code_parameter() -> dict:
    """The parameter in each of Glassbox's own component specs; optional, so that a component built outside the
    pipeline builders (a test's) needs none. TFX is imported here, not above: the lineage commands read CODE_DIGEST
    and start without it."""
    from tfx.types.component_spec import ExecutionParameter

    return {CODE_DIGEST: ExecutionParameter(type=str, optional=True)}


def components_digest(root: Path = COMPONENTS_DIR) -> str:
    """sha256 over every file under `root` (sources, templates, schemas) by relative path; Python's bytecode caches,
    which come and go, are left out."""
    manifest = content_manifest(str(root))
    return manifest_digest({path: digest for path, digest in manifest.items()
                            if "__pycache__" not in Path(path).parts})
