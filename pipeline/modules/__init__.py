"""Code TFX loads: the Transform and Trainer modules and what they share.

Glassbox's own modules are imported from the installed project (pipeline/pipeline.py, `user_code`), and the digest
of this folder's Python files, and of components/tracing.py that traces their models, travels in the steps'
custom_config under CODE_DIGEST_KEY, so a cached step reruns when this code changes; TFX hashes the folder's files
into the version of the wheel it builds of a module file."""

from __future__ import annotations

import hashlib
from pathlib import Path

CODE_DIGEST_KEY = "module_sha256"
MODULES_DIR = Path(__file__).resolve().parent
TRACING = MODULES_DIR.parents[1] / "components" / "tracing.py"


def code_digest(directory: Path = MODULES_DIR) -> str:
    """sha256 over the names and contents of the folder's .py files, in name order, then components/tracing.py."""
    digest = hashlib.sha256()
    for path in [*sorted(directory.glob("*.py")), TRACING]:
        for part in (path.name.encode(), path.read_bytes()):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()
