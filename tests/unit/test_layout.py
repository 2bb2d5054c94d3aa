"""The dependency direction of the house (README, "Layout"), read from every import statement, including the ones
inside functions: components know no pipeline, code TFX loads by path knows no CLI or runner, building a pipeline
reads no finished runs, reading runs builds nothing, and the CLI sits on top: nothing imports it, and it reaches
components and DAGs only through the runners and the records."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Building and running a pipeline: these make DAGs and configuration, and must not depend on reading runs.
BUILDING = ["pipeline/pipeline.py", "pipeline/monitor.py", "pipeline/config.py", "pipeline/image.py",
            "pipeline/evaluation.py", "pipeline/metadata.py", "pipeline/modules", "pipeline/onboard"]


def _python_files(*relative: str) -> list[Path]:
    paths = [REPO / r for r in relative]
    return sorted(p for path in paths for p in ([path] if path.is_file() else path.rglob("*.py")))


def imported_modules(path: Path, root: Path) -> set[str]:
    """Every module a file imports, at any depth of the file (absolute imports; relative ones are resolved)."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def offending(files: list[Path], forbidden: tuple[str, ...], root: Path = REPO) -> dict[str, list[str]]:
    found = {}
    for path in files:
        bad = sorted(m for m in imported_modules(path, root) if any(m == f or m.startswith(f + ".")
                                                                    for f in forbidden))
        if bad:
            found[str(path.relative_to(root))] = bad
    return found


@pytest.mark.parametrize("files, forbidden", [
    (["components"], ("pipeline",)),
    (["pipeline/modules"], ("pipeline.cli", "pipeline.runners", "pipeline.records", "pipeline.pipeline")),
    (BUILDING, ("pipeline.records", "pipeline.cli")),
    (["pipeline/records"], ("pipeline.cli", "pipeline.runners", "pipeline.pipeline", "pipeline.monitor")),
    (["pipeline/runners", "pipeline/onboard"], ("pipeline.cli",)),
    # The decision service serves what runs made: it reads records and uses components' code, and builds nothing.
    (["pipeline/serving"], ("pipeline.cli", "pipeline.runners", "pipeline.pipeline", "pipeline.monitor")),
    # The CLI runs pipelines through the runners and reads them through the records: it builds no DAG and calls no
    # component itself.
    (["pipeline/cli"], ("components", "pipeline.pipeline", "pipeline.monitor", "pipeline.modules")),
], ids=["components", "modules", "building", "records", "runners", "serving", "cli"])
def test_dependency_direction(files, forbidden):
    assert offending(_python_files(*files), forbidden) == {}


def test_the_checker_sees_imports_inside_functions(tmp_path):
    """A rule that cannot fail proves nothing: a function-level import of a forbidden module is found."""
    probe = tmp_path / "components" / "explainer" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("from . import model\n\ndef f():\n    from pipeline.records import mlmd\n    return mlmd\n")
    assert imported_modules(probe, tmp_path) >= {"components.explainer", "components.explainer.model"}
    assert offending([probe], ("pipeline",), root=tmp_path) == {
        "components/explainer/probe.py": ["pipeline.records", "pipeline.records.mlmd"]}
