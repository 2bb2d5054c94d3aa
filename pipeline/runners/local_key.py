"""A pseudonymization key for local runs, so that `make run` works on a fresh clone.

The Privacy component itself never invents a key: it reads the environment variable or the
secret file its policy names and fails when neither is there. Only the local CLI, when both are
absent, creates a random key under the output directory and exports it for this run.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from pipeline.local_secret import SECRETS_DIR, local_secret

LOCAL_KEY_FILE = SECRETS_DIR / "pseudonym.key"


def ensure_local_key(policy_file: Path, output_dir: Path, create: bool = True) -> Path | None:
    """Exports a local key when the policy's key is nowhere to be found; returns its path, else None. Without
    `create`, only a local key made before is exported (`glassbox serve` needs the one its model's run used)."""
    policy = yaml.safe_load(policy_file.read_text(encoding="utf-8")) or {}
    env, key_file = policy.get("key_env"), policy.get("key_file")
    if not env or os.environ.get(env):
        return None
    if key_file and (policy_file.parent / key_file).is_file():  # absolute paths survive the join
        return None
    path = output_dir / LOCAL_KEY_FILE
    secret = local_secret(path, create=create)
    if secret is None:
        return None
    os.environ[env] = secret
    return path
