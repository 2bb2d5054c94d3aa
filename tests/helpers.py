"""Small helpers shared by the tests."""

import contextlib
import csv
import hashlib
import json
import logging
import math
import os
import pwd
import secrets
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.config import REPO_ROOT, load_config

GERMAN_CREDIT_CSV = REPO_ROOT / "data" / "german_credit" / "german_credit_raw.csv"
# The Explainer at a small budget, for runs whose subject is something else (a shared store, a kill, an orchestrator,
# the audit's fairness gate, interpretable models, onboarding): 40 examples explained against 10 background rows, one
# sensitivity feature, a planted-signal network trained on fewer rows for fewer epochs. The explanations themselves
# are tested on the session run, at the default budget. SMALL_BUDGET is that budget for any dataset, SMALL_EXPLAINER
# the embedded data's whole explainer section with it.
SMALL_BUDGET = {"max_examples": 40, "background_size": 10, "quality_examples": 40, "sensitivity_features": 1,
                "sensitivity_grid_points": 4, "permutation_repeats": 2, "shapley_max_permutations": 32,
                "planted_examples": 1000, "planted_epochs": 5}
SMALL_EXPLAINER = {"key_feature": "applicant_id", **SMALL_BUDGET}


def copy_of_store(config, directory, into=None):
    """`into` (by default `config`) with `config`'s SQLite store copied into `directory`: runs there leave the
    original store as it was, and TFX's cache serves them every step whose inputs and settings are those of a step in
    it (the cache key leaves out the pipeline root, so `into` may have an output folder of its own). The copy numbers
    its new executions from an offset of its own (a million times a number drawn from its path): TFX names a step's
    output folders in the pipeline root by execution id, and runs on two copies at once (tests on two xdist workers)
    must not write to the same ones."""
    into = into or config
    metadata = into.metadata.model_copy(update={"sqlite_path": directory / "metadata.sqlite"})
    copied = into.model_copy(update={"metadata": metadata})
    shutil.copy(config.metadata_path, copied.metadata_path)
    offset = 1_000_000 * (1 + int(hashlib.sha256(str(copied.metadata_path).encode()).hexdigest(), 16) % 1_000_000)
    with contextlib.closing(sqlite3.connect(copied.metadata_path)) as db, db:
        db.execute("UPDATE sqlite_sequence SET seq = seq + ? WHERE name = 'Execution'", (offset,))
    return copied


@dataclass
class Run:
    config: object
    run_id: str
    states: dict  # node id -> its execution's state
    outputs: dict  # (node id, output key) -> the first artifact
    seconds: float


def run_from_upstream(upstream_run, directory: Path, **overrides) -> Run:
    """A run of the pipeline of `load_config(**overrides)` into `directory`, on a copy of the store of the
    `upstream_run` fixture: the embedded data's steps up to Transform come from TFX's cache, and the store holds no
    earlier model to be a baseline, as in a first run."""
    from pipeline import metadata
    from pipeline.records import mlmd
    from pipeline.runners.local import run_local

    config = copy_of_store(upstream_run, directory, into=load_config(output_dir=directory / "outputs", **overrides))
    started = time.monotonic()
    run_id = run_local(config)
    seconds = time.monotonic() - started
    store = metadata.open_store(config)
    nodes = mlmd.run_executions(store, config.pipeline_name, run_id)
    states = {n.node_id: n.state for n in nodes}
    assert states["Transform"] == "CACHED", f"the upstream steps ran again, not from the cache: {states}"
    return Run(config, run_id, states, first_outputs(store, nodes), seconds)


def first_outputs(store, nodes) -> dict:
    """(node id, output key) -> the first artifact of that output, for the executions `nodes` (records.mlmd's)."""
    from pipeline.records import mlmd

    return {(n.node_id, key): artifacts[0] for n in nodes
            for key, artifacts in mlmd.output_artifacts(store, n.execution.id).items()}


@contextlib.contextmanager
def root_logger_kept():
    """Importing Airflow configures the whole process's logging (airflow.settings.initialize): a root handler that
    prints every INFO record, in Airflow's "[time] {file:line} INFO - ..." format, to whatever sys.stdout is then.
    In a test process that mixes MLMD's "MetadataStore with DB connection initialized" into what a command run in
    the same process prints, its --json output included. A test module that imports Airflow does so inside this,
    which puts the root logger's handlers and level back as they were."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


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


def mariadb_program(name: str) -> str:
    """A MariaDB program's path (mariadbd lives in /usr/sbin, off a non-root user's PATH)."""
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"MariaDB's {name} is missing under CI: .ci/run installs Debian's mariadb-server-core and "
                        "mariadb-client-core packages")
        pytest.skip(f"MariaDB's {name} is not installed (apt-get install mariadb-server-core mariadb-client-core)")
    return path


@dataclass
class MariaDBServer:
    """A MariaDB server of the tests' own: a fresh data directory in `directory`, listening on a free loopback port
    (its Unix socket in `directory` too). Over TCP only `user` may connect, with `password`: the server checks it,
    as a real one would. The administrator (this OS user, by unix_socket authentication) connects over the socket."""

    directory: Path
    port: int
    user: str = "glassbox"
    password: str = ""
    process: subprocess.Popen | None = None

    @classmethod
    def start(cls, directory: Path) -> "MariaDBServer":
        install_db, mariadbd = mariadb_program("mariadb-install-db"), mariadb_program("mariadbd")
        mariadb_program("mariadb")
        # mariadbd refuses to run as root unless told to: the files stay root's, in pytest's folder private to root.
        # The same user owns the data and runs the server, so that no other account needs to enter the folder.
        os_user = _os_user()
        server = cls(directory, _free_port(), password=secrets.token_urlsafe(16))
        done = subprocess.run([install_db, "--no-defaults", f"--user={os_user}", f"--datadir={server.data}",
                               "--skip-test-db", "--skip-name-resolve"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"mariadb-install-db failed: {done.stdout}{done.stderr}"
        # Durability off (no fsync per commit): the tests kill runs, never the server, which lives one session.
        with open(directory / "server.log", "w") as log:
            server.process = subprocess.Popen(
                [mariadbd, "--no-defaults", f"--user={os_user}", f"--datadir={server.data}",
                 f"--socket={server.socket}", f"--pid-file={directory / 'mariadbd.pid'}", "--bind-address=127.0.0.1",
                 f"--port={server.port}", "--skip-name-resolve", "--innodb-flush-log-at-trx-commit=0",
                 "--innodb-doublewrite=0", "--innodb-log-file-size=16M",
                 # MariaDB 11.6 turned this on by default (Debian 13 has 11.8): a shared read of a row another
                 # transaction changed then fails with "Record has changed since last read", which ML Metadata does
                 # not retry, so concurrent runs fail. Off, as before 11.6 and as MySQL behaves (README, "Metadata").
                 "--innodb-snapshot-isolation=OFF"],
                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while server._admin("SELECT 1", check=False).returncode != 0:
                if server.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"mariadbd did not start: {(directory / 'server.log').read_text()[-3000:]}")
                time.sleep(0.2)
            # MLMD creates its database: the user may create and use any database named glassbox_*.
            server._admin(f"CREATE USER '{server.user}'@'127.0.0.1' IDENTIFIED BY '{server.password}'; "
                          f"GRANT ALL PRIVILEGES ON `glassbox\\_%`.* TO '{server.user}'@'127.0.0.1'")
            wrong = server.client("SELECT 1", password="not-" + server.password, check=False)
            assert wrong.returncode != 0 and "Access denied" in wrong.stderr, "the server let a wrong password in"
            server.client("SELECT 1")
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def socket(self) -> Path:
        return self.directory / "mariadbd.sock"

    def stop(self) -> None:
        """Stops the server (TERM, then KILL after 30 s) and removes its folder."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def metadata_config(self, database: str, password_env: str) -> dict:
        """The `metadata:` section of a Glassbox config for a store in `database` (glassbox_*; MLMD creates it)."""
        return {"kind": "mysql", "host": "127.0.0.1", "port": self.port, "database": database, "user": self.user,
                "password_env": password_env}

    def client(self, sql: str, password: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """`sql` run as `user` over TCP, the password checked; the password goes in the environment, not argv."""
        env = {**os.environ, "MYSQL_PWD": self.password if password is None else password}
        return self._run([mariadb_program("mariadb"), "--no-defaults", "--protocol=tcp", "--host=127.0.0.1",
                          f"--port={self.port}", f"--user={self.user}", "--batch", "-e", sql], env, check)

    def _admin(self, sql: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._run([mariadb_program("mariadb"), "--no-defaults", f"--socket={self.socket}",
                          f"--user={_os_user()}", "--batch", "-e", sql], None, check)

    @staticmethod
    def _run(command, env, check) -> subprocess.CompletedProcess:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        assert not check or done.returncode == 0, f"mariadb failed: {done.stdout}{done.stderr}"
        return done


def _os_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgresql_bin() -> Path:
    """The folder of PostgreSQL's server programs: Debian keeps them off the PATH, in /usr/lib/postgresql/<major>/bin
    (15 on Debian 12, 17 on Debian 13); the newest there, else initdb's folder on the PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    initdb = found[-1] if found else shutil.which("initdb")
    if initdb is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is missing under CI: .ci/run installs Debian's postgresql-15 package (the Debian "
                        "13 root of scripts/rootfs.sh its postgresql package)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql-15)")
    return Path(initdb).resolve().parent


@dataclass
class PostgresServer:
    """A PostgreSQL server of the tests' own: a fresh cluster in a temporary folder, listening on a free loopback port
    (its Unix socket in the folder too). Over TCP `user` (the cluster's superuser) must give `password`
    (scram-sha-256): the server checks it, as a real one would. PostgreSQL refuses to run as root, so as root its
    programs run as Debian's `postgres` user, which owns the folder; hence a folder of its own in the system's
    temporary directory rather than pytest's, which is private to root."""

    directory: Path
    port: int
    user: str = "glassbox"
    password: str = ""

    @classmethod
    def start(cls) -> "PostgresServer":
        bin_dir = postgresql_bin()
        server = cls(Path(tempfile.mkdtemp(prefix="glassbox-postgres-")), _free_port(),
                     password=secrets.token_urlsafe(16))
        try:
            (server.directory / "password").write_text(server.password)
            if os.geteuid() == 0:
                for path in (server.directory, server.directory / "password"):
                    shutil.chown(path, "postgres")
            server._as_owner(bin_dir / "initdb", "--pgdata", server.data, "--username", server.user, "--pwfile",
                             server.directory / "password", "--auth-host=scram-sha-256", "--auth-local=trust",
                             "--encoding=UTF8", "--no-instructions")
            (server.directory / "password").unlink()
            # fsync off: the tests kill clients, never the server, and its data lives one session.
            server._as_owner(bin_dir / "pg_ctl", "start", "--wait", "--timeout=60", "--pgdata", server.data, "--log",
                             server.directory / "server.log", "--options",
                             f"-p {server.port} -k {server.directory} -c listen_addresses=127.0.0.1 -c fsync=off")
            wrong = server.connect("postgres", password="not-" + server.password, check=False)
            assert isinstance(wrong, Exception) and "password authentication failed" in str(wrong), \
                "the server let a wrong password in"
            server.connect("postgres").close()
        except BaseException:
            server.stop()
            raise
        return server

    @property
    def data(self) -> Path:
        return self.directory / "data"

    def url(self, database: str) -> str:
        """The database's URL, without the password (it goes in the environment or a keyword)."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str, password: str | None = None, check: bool = True):
        """A psycopg connection (autocommit) as `user` over TCP; with `check` False, the error instead of raising."""
        import psycopg

        try:
            return psycopg.connect(self.url(database), password=self.password if password is None else password,
                                   autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as error:
            if check:
                raise
            return error

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        with self.connect("postgres") as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        """Stops the server (fast shutdown: its clients are cut off) and removes its folder."""
        if (self.data / "postmaster.pid").exists():
            self._as_owner(postgresql_bin() / "pg_ctl", "stop", "--wait", "--pgdata", self.data, "--mode=fast")
        shutil.rmtree(self.directory, ignore_errors=True)

    def _as_owner(self, *command) -> str:
        runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        done = subprocess.run([*runner, *map(str, command)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{Path(str(command[0])).name} failed: {done.stdout}{done.stderr}"
        return done.stdout


def first_run_executions(config):
    """The config's metadata store, and the executions of its first run of the pipeline by node id."""
    from pipeline import metadata
    from pipeline.records import mlmd

    store = metadata.open_store(config)
    run_id = mlmd.run_ids(store, config.pipeline_name)[0]
    return store, {n.node_id: n.execution for n in mlmd.run_executions(store, config.pipeline_name, run_id)}


def assert_histograms(model_run: str, layers: set) -> None:
    """The Trainer's TensorBoard logs hold weight histograms (Keras, histogram_freq=1) and activation histograms of
    each named layer (pipeline/modules/histograms.py)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    weights = EventAccumulator(os.path.join(model_run, "train"), size_guidance={"tensors": 0})
    weights.Reload()
    assert any("kernel" in tag for tag in weights.Tags()["tensors"]), weights.Tags()["tensors"]
    activations = EventAccumulator(os.path.join(model_run, "activations"), size_guidance={"tensors": 0})
    activations.Reload()
    assert {f"activations/{layer}" for layer in layers} <= set(activations.Tags()["tensors"])


def assert_close(ours, theirs, rel: float, path: str = "") -> None:
    """Equal structure (dicts, lists) and values: floats equal to `rel` relative, anything else exactly."""
    assert type(ours) is type(theirs), (path, ours, theirs)
    if isinstance(ours, dict):
        assert ours.keys() == theirs.keys(), (path, ours.keys() ^ theirs.keys())
        for key in ours:
            assert_close(ours[key], theirs[key], rel, f"{path}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), path
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, rel, f"{path}[{i}]")
    elif isinstance(ours, float):
        assert math.isclose(ours, theirs, rel_tol=rel, abs_tol=rel * 1e-3), (path, ours, theirs)
    else:
        assert ours == theirs, (path, ours, theirs)


def evaluate_with_tfma(config, node_id: str, out: Path, baseline_model=None, edit_eval_config=None):
    """TFX's own Evaluator executor (TFMA's Beam pipeline) and Glassbox's, each on the recorded inputs and
    parameters of `node_id`'s execution in the config's latest run (with `baseline_model`, an MLMD artifact, as the
    baseline where given; with `edit_eval_config`, a function that changes the recorded EvalConfig in place, on that
    EvalConfig), into `out`/tfma and `out`/glassbox; returns each one's outputs, TFX artifacts by key."""
    from google.protobuf import json_format
    from tensorflow_model_analysis.proto import config_pb2
    from tfx.components.evaluator import executor as tfx_evaluator
    from tfx.types import artifact_utils

    from components.evaluator import executor
    from pipeline import metadata
    from pipeline.records import mlmd
    from pipeline.runners.beam import in_memory_context

    store = metadata.open_store(config)
    execution = next(n.execution for n in mlmd.run_executions(store, config.pipeline_name) if n.node_id == node_id)
    results = {}
    for name, executor_class in (("tfma", tfx_evaluator.Executor), ("glassbox", executor.Executor)):
        inputs, outputs, properties = mlmd.executor_call(store, execution, str(out / name))
        if baseline_model is not None:
            artifact_type = next(t for t in store.get_artifact_types() if t.id == baseline_model.type_id)
            inputs["baseline_model"] = [artifact_utils.deserialize_artifact(artifact_type, baseline_model)]
        if edit_eval_config is not None:
            eval_config = json_format.Parse(properties["eval_config"], config_pb2.EvalConfig())
            edit_eval_config(eval_config)
            properties["eval_config"] = json_format.MessageToJson(eval_config)
        executor_class(in_memory_context(str(out / name / "tmp"), name)).Do(inputs, outputs, properties)
        results[name] = outputs
    return results


def evaluation_records(path: str) -> dict:
    """An Evaluator output's metrics and plots records as plain dicts, by slice key and kind; each record's keys and
    values in key order (TFMA writes them in no fixed order)."""
    from google.protobuf import json_format
    from tensorflow_model_analysis.writers import metrics_plots_and_validations_writer as writer

    records = {}
    for kind, protos in (("metrics", writer.load_and_deserialize_metrics(path)),
                         ("plots", writer.load_and_deserialize_plots(path))):
        for proto in protos:
            record = json_format.MessageToDict(proto)
            slice_key = json.dumps(record.pop("sliceKey", {}), sort_keys=True)
            for field in ("metricKeysAndValues", "plotKeysAndValues"):
                record[field] = sorted(record.get(field, []), key=lambda item: json.dumps(item["key"], sort_keys=True))
            records[(kind, slice_key)] = record
    return records


def assert_same_evaluation(ours: str, theirs: str) -> None:
    """Two Evaluator outputs hold the same slices, metrics, plots (every model's, and the diffs), validation result
    and eval config. Sums of scores may differ in the 8th digit: the model's float32 scores change with the batch it is
    called on, and TFMA's own runs differ as much."""
    import tensorflow_model_analysis as tfma

    assert_close(evaluation_records(ours), evaluation_records(theirs), rel=1e-6)
    assert tfma.load_validation_result(ours) == tfma.load_validation_result(theirs)
    assert Path(ours, "eval_config.json").read_text() == Path(theirs, "eval_config.json").read_text()
