"""Small helpers shared by the tests."""

import csv
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT

GERMAN_CREDIT_CSV = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"


def copy_of_store(config, directory):
    """`config` with its SQLite store copied into `directory`: runs there leave the original store as it was, while
    the pipeline root (and so TFX's cache of the original run's outputs) stays the same."""
    metadata = config.metadata.model_copy(update={"sqlite_path": directory / "metadata.sqlite"})
    copied = config.model_copy(update={"metadata": metadata})
    shutil.copy(config.metadata_path, copied.metadata_path)
    return copied


def read_rows(path: Path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def write_rows(path: Path, rows, columns):
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows({c: row[c] for c in columns} for row in rows)


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--no-first-run", "--disable-component-update", "--disable-sync", "--enable-logging=stderr"]


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing under CI: .ci/run installs Debian's chromium package")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return path


def browse(page: Path, *extra: str) -> tuple[str, list[str]]:
    """Loads a local page in headless Chromium: (the DOM after scripts ran, console messages). Chromium logs
    every console message, console.error and uncaught exceptions alike, as INFO:CONSOLE, so the pages we
    generate, which log nothing, must produce none."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *extra, "--dump-dom",
                               f"file://{page}"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
