"""Shared fixtures: one real pipeline run (Beam, MLMD, TFMA) reused by the e2e tests."""

import shutil
import time

import pytest

from pipeline.config import REPO_ROOT, load_config

GERMAN_CREDIT_CSV = REPO_ROOT / "data" / "german_credit" / "german_credit.csv"


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory):
    """The default pipeline on the embedded data, run once; returns (config, seconds)."""
    from pipeline.runners.local import run_local

    config = load_config(output_dir=tmp_path_factory.mktemp("e2e") / "outputs")
    started = time.monotonic()
    run_local(config)
    return config, time.monotonic() - started


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the embedded data directory."""
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(GERMAN_CREDIT_CSV, target / GERMAN_CREDIT_CSV.name)
    return target / GERMAN_CREDIT_CSV.name

