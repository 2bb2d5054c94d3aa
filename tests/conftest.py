"""Shared fixtures: one real pipeline run (Beam, MLMD, TFMA) reused by the e2e tests, and how the suite is spread
over pytest-xdist's workers."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT, load_config
from tests.helpers import GERMAN_CREDIT_CSV, MariaDBServer, PostgresServer

# The pipeline's pseudonymization key; a test that needs it absent removes it.
os.environ.setdefault("GLASSBOX_PSEUDONYM_KEY", "test-key-0123456789abcdef")
# Importing Airflow writes its config and logs under $AIRFLOW_HOME (default ~/airflow): not the tests' business,
# and one folder per xdist worker, so that two workers never write the same airflow.cfg.
os.environ.setdefault("AIRFLOW_HOME", os.path.join(
    tempfile.gettempdir(), f"glassbox-tests-airflow-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Tests that share an expensive module-scoped fixture (a module's own run) share an xdist group (`--dist
    loadgroup`: a group runs on one worker), so that it is made once; marked before xdist's own hook of this name
    turns the groups into work units. The session's pipeline run is made once in a process of its own (tests/
    session_run.py), so its readers need no group. xdist hands out work units in this order (pyproject.toml's
    --no-loadscope-reorder: by default it puts the groups with the most tests first): first the integration tests
    that need no session run (the run is made beside them), then those that read it, then the unit tests, which are
    short and even out the workers' ends."""
    for item in items:
        shared = sorted(name for name, defs in item._fixtureinfo.name2fixturedefs.items() if defs[-1].scope == "module")
        if shared:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}.{'+'.join(shared)}"))
    items.sort(key=lambda item: 2 if "integration" not in item.path.parts else int(_reads_session_run(item)))
    return (yield)


def _reads_session_run(item) -> bool:
    return bool({"pipeline_run", "upstream_run"} & set(item.fixturenames))


def pytest_collection_finish(session):
    """Starts the session's pipeline run as soon as the tests that read it are known."""
    if not session.config.option.collectonly and any(map(_reads_session_run, session.items)):
        _start_session_run(session.config)


def pytest_sessionfinish(session, exitstatus):
    """The session's pipeline run, if this process started it and it still runs: killed when the session was
    interrupted or stopped at a failure, else waited for (a test on another xdist worker may be reading it)."""
    process = session.config.stash.get(_SESSION_RUN, None)
    if process is None or process.poll() is not None:
        return
    if exitstatus == pytest.ExitCode.INTERRUPTED or session.shouldfail or session.shouldstop:
        os.killpg(process.pid, signal.SIGKILL)  # the run and its Beam workers
    process.wait()


_SESSION_RUN = pytest.StashKey[subprocess.Popen]()


def _session_run_folder(config) -> Path:
    """Where the session's pipeline run goes: beside the xdist workers' temporary folders (their common parent),
    or in the session's own without xdist."""
    basetemp = config._tmp_path_factory.getbasetemp()
    return (basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp) / "session-run"


def _start_session_run(config) -> Path:
    """Starts tests/session_run.py unless a worker did already (making its folder is the lock); returns the folder."""
    folder = _session_run_folder(config)
    try:
        folder.mkdir()
    except FileExistsError:
        return folder
    (folder / "tmp").mkdir()
    with (folder / "log.txt").open("w") as log:
        process = subprocess.Popen([sys.executable, "-m", "tests.session_run", str(folder)], cwd=REPO_ROOT,
                                   env={**os.environ, "TMPDIR": str(folder / "tmp")}, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    (folder / "pid").write_text(str(process.pid))
    config.stash[_SESSION_RUN] = process
    return folder


def _running(folder: Path) -> bool:
    """Whether the session's run process is alive (it may be another xdist worker's child: read from /proc)."""
    try:
        pid = int((folder / "pid").read_text())
    except (FileNotFoundError, ValueError):
        return True  # its starter has not written the pid yet
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


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
def run_tempdir(request):
    """The system temporary folder as the `pipeline_run` run saw it (Python's and its child processes')."""
    return _session_run_folder(request.config) / "tmp"


@pytest.fixture(scope="session")
def pipeline_run(request):
    """The default pipeline on the embedded data, run once per session in a process of its own (tests/
    session_run.py), whichever workers' tests read it; returns (config, seconds). Its store holds this one run: a test
    that runs more copies the store first (`tests.helpers.copy_of_store`), and no test changes the run's files, which
    tests on the other worker read at the same time."""
    folder = _session_run_file(request.config, "result.json").parent
    seconds = json.loads((folder / "result.json").read_text())["seconds"]
    return load_config(output_dir=folder / "outputs"), seconds


@pytest.fixture(scope="session")
def upstream_run(request):
    """The session's pipeline run as it was when Transform finished, before any model was trained (tests/
    session_run.py): its config, with a store of its own that a test copies (`tests.helpers.copy_of_store`) to train
    another model on the same data from TFX's cache. Ready about halfway through the run."""
    store = _session_run_file(request.config, "upstream.sqlite")
    config = load_config(output_dir=store.parent / "outputs")
    return config.model_copy(update={"metadata": config.metadata.model_copy(update={"sqlite_path": store})})


def _session_run_file(config, name: str) -> Path:
    """FOLDER/`name` of the session's run, once the run has written it (it starts the run if no worker did)."""
    folder = _start_session_run(config)
    deadline = time.monotonic() + 3600
    while not (folder / name).exists():
        if (folder / "failed.txt").exists():
            pytest.fail(f"the session's pipeline run failed:\n{(folder / 'failed.txt').read_text()[-4000:]}")
        if not _running(folder) and not (folder / name).exists():
            log = (folder / "log.txt").read_text()[-4000:]
            pytest.fail(f"the session's pipeline run ended without writing {name}:\n{log}")
        if time.monotonic() > deadline:
            pytest.fail(f"the session's pipeline run did not write {name} within an hour: {folder / 'log.txt'}")
        time.sleep(1)
    return folder / name


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
