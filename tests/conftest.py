"""Shared fixtures: one real pipeline run (Beam, MLMD, TFMA) reused by the e2e tests."""

import os
import shutil
import tempfile
import time

import pytest

from pipeline.config import load_config
from tests.helpers import GERMAN_CREDIT_CSV

# The pipeline's pseudonymization key; a test that needs it absent removes it.
os.environ.setdefault("GLASSBOX_PSEUDONYM_KEY", "test-key-0123456789abcdef")
# Importing Airflow writes its config and logs under $AIRFLOW_HOME (default ~/airflow): not the tests' business.
os.environ.setdefault("AIRFLOW_HOME", os.path.join(tempfile.gettempdir(), "glassbox-tests-airflow"))


@pytest.fixture(scope="session")
def run_tempdir(tmp_path_factory):
    """The system temporary folder as the `pipeline_run` run saw it (Python's and its child processes')."""
    return tmp_path_factory.mktemp("system-tmp")


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, run_tempdir):
    """The default pipeline on the embedded data, run once; returns (config, seconds)."""
    from pipeline.runners.local import run_local

    config = load_config(output_dir=tmp_path_factory.mktemp("e2e") / "outputs")
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(run_tempdir))
        patch.setenv("TMPDIR", str(run_tempdir))
        run_local(config)
    return config, time.monotonic() - started


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the embedded data directory."""
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(GERMAN_CREDIT_CSV, target / GERMAN_CREDIT_CSV.name)
    return target / GERMAN_CREDIT_CSV.name

