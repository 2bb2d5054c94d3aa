"""A secret of a local installation, kept in a file under the output directory's secrets/ folder: made once, on first
use, readable by its owner only. What a deployment would take from its vault (an environment variable) wins over it;
this file is what lets a fresh clone work without one. The pseudonymization key of local runs
(pipeline/runners/local_key.py) and the decision record's tombstone key (pipeline/serving/store.py) are such files."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

SECRETS_DIR = Path("secrets")


def local_secret(path: Path, create: bool = True) -> str | None:
    """The secret in `path`; made (64 random hex digits, mode 0600) when absent and `create`, else None.

    Made under a temporary name and linked into place, which fails when the name exists: of two processes making it at
    once, one wins and both read the winner's, never two keys for one installation, nor a half-written one."""
    path = Path(path)
    if not path.is_file():
        if not create:
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as f:
                f.write(secrets.token_hex(32))
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
        finally:
            os.unlink(temporary)
    return path.read_text().strip()
