"""The run's ML Metadata store: its connection (SQLite file or MySQL server), one run at a time on SQLite, and
opening it to read. Building, running and reading a pipeline all start here."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from datetime import datetime
from typing import Iterator

from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline.config import PipelineConfig


class MetadataStoreError(RuntimeError):
    """The metadata store cannot be reached or opened; the message says which and why."""


def connection_config(config: PipelineConfig, readonly: bool = False) -> metadata_store_pb2.ConnectionConfig:
    """The MLMD connection of a configuration: its SQLite file, or its MySQL server (password from the env)."""
    store = config.metadata
    if store.kind == "mysql":
        password = os.environ.get(store.password_env)
        if password is None:
            raise MetadataStoreError(f"The MySQL metadata store {store.user}@{store.host}:{store.port}/"
                                     f"{store.database} needs its password in ${store.password_env}.")
        return metadata_store_pb2.ConnectionConfig(mysql=metadata_store_pb2.MySQLDatabaseConfig(
            host=store.host, port=store.port, database=store.database, user=store.user, password=password))
    connection = metadata_store_pb2.ConnectionConfig()
    connection.sqlite.filename_uri = str(config.metadata_path)
    connection.sqlite.connection_mode = (metadata_store_pb2.SqliteMetadataSourceConfig.READONLY if readonly else
                                         metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE)
    return connection


def describe_store(config: PipelineConfig) -> str:
    store = config.metadata
    if store.kind == "mysql":
        return f"mysql://{store.user}@{store.host}:{store.port}/{store.database}"
    return str(config.metadata_path)


class _Redaction(logging.Filter):
    def __init__(self, secret: str):
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg, record.args = message.replace(self._secret, "<redacted>"), ()
        return True


@contextlib.contextmanager
def password_kept_out_of_logs(config: PipelineConfig) -> Iterator[None]:
    """Blanks the server's password in every line logged through absl (TFX's logger) meanwhile: TFX's
    LocalDagRunner logs its deployment config and its connection config, password included, as a run starts."""
    password = os.environ.get(config.metadata.password_env) if config.metadata.kind != "sqlite" else None
    if not password:
        yield
        return
    absl_logger, redaction = logging.getLogger("absl"), _Redaction(password)
    absl_logger.addFilter(redaction)
    try:
        yield
    finally:
        absl_logger.removeFilter(redaction)


class MetadataStoreBusyError(MetadataStoreError):
    """Another run holds the SQLite store."""


@contextlib.contextmanager
def exclusive_use(config: PipelineConfig) -> Iterator[None]:
    """Holds a SQLite store for one run at a time: a second run fails at once, naming the first, instead
    of racing it for SQLite's write lock. The lock is an flock, so a killed run releases it with its
    process. A MySQL server arbitrates concurrent runs itself."""
    if config.metadata.kind != "sqlite":
        yield
        return
    config.metadata_path.parent.mkdir(parents=True, exist_ok=True)
    with open(f"{config.metadata_path}.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(config, lock) from None
        lock.truncate(0)
        lock.write(f"pid {os.getpid()} since {datetime.now():%Y-%m-%d %H:%M:%S}")
        lock.flush()
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _busy(config: PipelineConfig, lock) -> MetadataStoreBusyError:
    lock.seek(0)
    return MetadataStoreBusyError(
        f"The metadata store {config.metadata_path} is busy: another run is using it "
        f"({lock.read().strip() or 'holder unknown'}). Wait for it to finish, or give this run its own --output.")


def in_use(config: PipelineConfig) -> bool:
    """Whether a run holds the store now (always False for MySQL, which keeps no such lock)."""
    try:
        refuse_if_busy(config)
    except MetadataStoreBusyError:
        return True
    return False


def refuse_if_busy(config: PipelineConfig) -> None:
    """Raises MetadataStoreBusyError, as `exclusive_use` would, when a run holds the store now: what a command
    checks before it spends seconds importing TensorFlow only to be refused. `exclusive_use` stays the guard."""
    if config.metadata.kind != "sqlite" or not os.path.exists(f"{config.metadata_path}.lock"):
        return
    with open(f"{config.metadata_path}.lock") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(config, lock) from None
        fcntl.flock(lock, fcntl.LOCK_UN)


def open_store(config: PipelineConfig, writable: bool = False) -> metadata_store.MetadataStore:
    """The run's metadata store; read-only unless `writable`. A missing SQLite file is an error, not a new store."""
    if config.metadata.kind == "sqlite" and not config.metadata_path.is_file():
        raise MetadataStoreError(f"No metadata store at {config.metadata_path}: run `glassbox run` first "
                                 f"(or pass the --output/--config the run used).")
    return metadata_store.MetadataStore(connection_config(config, readonly=not writable))
