"""scripts/setup.sh stops with one sentence when the disk cannot hold the virtualenv, before pip starts."""

import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT


@pytest.fixture
def checkout(tmp_path):
    """A checkout holding the setup scripts, with `df` reporting what the test sets in DF_AVAILABLE_KB."""
    (tmp_path / "scripts").mkdir()
    for name in ("setup.sh", "find_python.sh", "stack.sh"):
        shutil.copy(REPO_ROOT / "scripts" / name, tmp_path / "scripts" / name)
    (tmp_path / "requirements.lock").write_text("wheel==0.44.0\n")
    (tmp_path / "pyproject.toml").write_text("")
    fake_df = tmp_path / "bin" / "df"
    fake_df.parent.mkdir()
    fake_df.write_text("#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
                       "echo \"/dev/vda 263174212 1000 $DF_AVAILABLE_KB 99% /\"\n")
    fake_df.chmod(0o755)
    return tmp_path


def setup(checkout: Path, available_kb: int) -> subprocess.CompletedProcess:
    env = {"PATH": f"{checkout / 'bin'}:/usr/bin:/bin", "DF_AVAILABLE_KB": str(available_kb),
           "PYTHON": "/nonexistent/python3.10", "STACK": "legacy"}
    return subprocess.run(["bash", "scripts/setup.sh"], cwd=checkout, env=env, capture_output=True, text=True)


def test_too_little_disk_stops_before_anything_is_installed(checkout):
    result = setup(checkout, available_kb=300 * 1024)
    assert result.returncode == 1
    assert ".venv needs about 4096 MB of disk and only 300 MB is free here" in result.stderr
    assert not (checkout / ".venv").exists()


def test_enough_disk_goes_on_to_look_for_python(checkout):
    result = setup(checkout, available_kb=50 * 1024 * 1024)
    assert result.returncode == 1
    assert "PYTHON=/nonexistent/python3.10 is not a working Python 3.10 interpreter." in result.stderr
    assert "disk" not in result.stderr


def test_an_existing_venv_counts_as_space(checkout):
    venv = checkout / ".venv"
    venv.mkdir()
    (venv / "big").write_bytes(b"\0" * (5 * 2**20))
    assert "only 5 MB is free" in setup(checkout, available_kb=0).stderr
