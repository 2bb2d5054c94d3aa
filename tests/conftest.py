"""Shared fixtures: one real pipeline run (Beam, MLMD, TFMA) reused by the e2e tests, and how the suite is spread
over pytest-xdist's workers."""

import os
import shutil
import tempfile
import time
from collections import defaultdict

import pytest

from pipeline.config import load_config
from tests.helpers import GERMAN_CREDIT_CSV, MariaDBServer, PostgresServer

# The pipeline's pseudonymization key; a test that needs it absent removes it.
os.environ.setdefault("GLASSBOX_PSEUDONYM_KEY", "test-key-0123456789abcdef")
# Importing Airflow writes its config and logs under $AIRFLOW_HOME (default ~/airflow): not the tests' business,
# and one folder per xdist worker, so that two workers never write the same airflow.cfg.
os.environ.setdefault("AIRFLOW_HOME", os.path.join(
    tempfile.gettempdir(), f"glassbox-tests-airflow-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Tests that read one expensive run share an xdist group (`--dist loadgroup`: a group runs on one worker), so
    the run is made once: the session's pipeline run, and each module-scoped fixture (a module's own run). Marked
    before xdist's own hook of this name turns the groups into work units."""
    for item in items:
        shared = sorted(name for name, defs in item._fixtureinfo.name2fixturedefs.items() if defs[-1].scope == "module")
        if "pipeline_run" in item.fixturenames:
            group = "pipeline_run"
        elif shared:
            group = f"{item.module.__name__}.{'+'.join(shared)}"
        else:
            continue
        item.add_marker(pytest.mark.xdist_group(group))
    return (yield)


def pytest_terminal_summary(terminalreporter):
    """Seconds per test file and per group (tests/unit, tests/integration): setup, call and teardown, added up over
    the workers. Where the suite's time goes."""
    seconds, groups = defaultdict(float), defaultdict(float)
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) and getattr(report, "duration", None):
                path = report.nodeid.split("::")[0]
                seconds[path] += report.duration
                groups["/".join(path.split("/")[:2])] += report.duration
    if not seconds:
        return
    terminalreporter.write_sep("=", "seconds per test file (summed over workers)")
    for path, total in sorted(seconds.items(), key=lambda item: -item[1])[:15]:
        terminalreporter.write_line(f"{total:8.1f} s  {path}")
    for group, total in sorted(groups.items()):
        terminalreporter.write_line(f"{total:8.1f} s  {group}/ in all")


@pytest.fixture(scope="session")
def run_tempdir(tmp_path_factory):
    """The system temporary folder as the `pipeline_run` run saw it (Python's and its child processes')."""
    return tmp_path_factory.mktemp("system-tmp")


@pytest.fixture(scope="session")
def pipeline_run(tmp_path_factory, run_tempdir):
    """The default pipeline on the embedded data, run once; returns (config, seconds). Its store holds this one run:
    a test that runs more copies the store first (`tests.helpers.copy_of_store`)."""
    from pipeline.runners.local import run_local

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:  # under xdist, the workers' temporary folders share a parent
        try:
            with open(tmp_path_factory.getbasetemp().parent / "pipeline_run.made-by", "x") as made_by:
                made_by.write(worker)
        except FileExistsError:
            pytest.fail("another worker made the session's pipeline run: xdist split its tests over workers "
                        "(tests/conftest.py groups them; requirements.in says which pytest that needs)")
    config = load_config(output_dir=tmp_path_factory.mktemp("e2e") / "outputs")
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(run_tempdir))
        patch.setenv("TMPDIR", str(run_tempdir))
        run_local(config)
    return config, time.monotonic() - started


@pytest.fixture(scope="session")
def mariadb(tmp_path_factory):
    """A MariaDB server for the session (tests.helpers.MariaDBServer), stopped and its data removed at the end, also
    when a test fails; each test names a database of its own (glassbox_*), which MLMD creates."""
    server = MariaDBServer.start(tmp_path_factory.mktemp("mariadb"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server for the session (tests.helpers.PostgresServer), stopped and its folder removed at the end,
    also when a test fails; each test makes a database of its own (`create_database`)."""
    server = PostgresServer.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def data_copy(tmp_path):
    """A writable copy of the embedded data directory."""
    target = tmp_path / "data"
    target.mkdir()
    shutil.copy(GERMAN_CREDIT_CSV, target / GERMAN_CREDIT_CSV.name)
    return target / GERMAN_CREDIT_CSV.name
