"""Renders Graphviz DOT with Debian's `dot` (package graphviz); `--dot` output needs nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class GraphvizError(RuntimeError):
    """`dot` is missing or rejected the graph."""


def render(dot_source: str, fmt: str) -> bytes:
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizError("Graphviz's `dot` is not installed (apt-get install graphviz); "
                            "`--dot` prints the graph without it.")
    done = subprocess.run([dot, f"-T{fmt}"], input=dot_source.encode("utf-8"), capture_output=True, timeout=120)
    if done.returncode != 0:
        raise GraphvizError(f"dot failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def render_image(dot_source: str, path: Path, fmt: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(render(dot_source, fmt))
