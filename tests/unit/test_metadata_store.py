"""The metadata store's configuration (SQLite or MySQL), its one-run-at-a-time lock, and content digests."""

import json

import pytest
from ml_metadata.proto import metadata_store_pb2

from components.digests import content_manifest, directory_digest, manifest_digest
from pipeline import metadata
from pipeline.config import ConfigError, load_config
from pipeline.records.integrity import _changes


def test_sqlite_is_the_default_and_a_relative_path_is_relative_to_the_config(tmp_path):
    config = load_config(output_dir=tmp_path / "out")
    connection = metadata.connection_config(config)
    assert connection.sqlite.filename_uri == str(tmp_path / "out" / "metadata.sqlite")
    assert metadata.connection_config(config, readonly=True).sqlite.connection_mode == \
        metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    path = tmp_path / "run.yaml"
    path.write_text("metadata:\n  sqlite_path: stores/mlmd.sqlite\n")
    assert load_config(path).metadata_path == tmp_path / "stores" / "mlmd.sqlite"


def test_mysql_connection_takes_its_password_from_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "kfp.yaml"
    path.write_text("metadata:\n  kind: mysql\n  host: mysql.kubeflow\n  database: metadb\n  user: root\n"
                    "  password_env: MLMD_TEST_PASSWORD\n")
    config = load_config(path)
    monkeypatch.delenv("MLMD_TEST_PASSWORD", raising=False)
    with pytest.raises(metadata.MetadataStoreError, match=r"\$MLMD_TEST_PASSWORD"):
        metadata.connection_config(config)
    monkeypatch.setenv("MLMD_TEST_PASSWORD", "s3cret")
    mysql = metadata.connection_config(config).mysql
    assert (mysql.host, mysql.port, mysql.database, mysql.user, mysql.password) == \
        ("mysql.kubeflow", 3306, "metadb", "root", "s3cret")
    assert "s3cret" not in path.read_text() and metadata.describe_store(config) == "mysql://root@mysql.kubeflow:3306/metadb"
    assert not metadata.in_use(config)  # MySQL arbitrates concurrent runs itself


def test_an_incomplete_mysql_configuration_names_what_is_missing(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("metadata:\n  kind: mysql\n  host: db\n")
    with pytest.raises(ConfigError, match="needs database, user"):
        load_config(path)


def test_the_server_password_is_blanked_in_what_tfx_logs(tmp_path, monkeypatch, caplog):
    """LocalDagRunner logs `Using connection config` with the whole proto: the password must not reach the log."""
    from absl import logging as absl_logging

    path = tmp_path / "server.yaml"
    path.write_text("metadata: {kind: mysql, host: db, database: metadb, user: glassbox, password_env: MLMD_PW}\n")
    config = load_config(path)
    monkeypatch.setenv("MLMD_PW", "pw-0f9e8d7c")
    with caplog.at_level("INFO", logger="absl"), metadata.password_kept_out_of_logs(config):
        absl_logging.info("Using connection config:\n %s", metadata.connection_config(config).mysql)
    assert 'password: "<redacted>"' in caplog.text and "pw-0f9e8d7c" not in caplog.text
    absl_logging.warning("after the run: %s", "pw-0f9e8d7c")  # the filter ends with its run
    assert caplog.records[-1].getMessage() == "after the run: pw-0f9e8d7c"


def test_a_missing_store_is_an_error_not_a_new_empty_store(tmp_path):
    config = load_config(output_dir=tmp_path / "nothing")
    with pytest.raises(metadata.MetadataStoreError, match="run `glassbox run` first"):
        metadata.open_store(config)
    assert not config.metadata_path.exists()


def test_a_second_holder_of_the_store_is_refused_with_the_first_named(tmp_path):
    config = load_config(output_dir=tmp_path / "out")
    with metadata.exclusive_use(config):
        assert metadata.in_use(config)
        with pytest.raises(metadata.MetadataStoreBusyError, match=r"is busy: another run is using it \(pid \d+"):
            with metadata.exclusive_use(config):
                pass
    assert not metadata.in_use(config)
    with metadata.exclusive_use(config):  # released: usable again
        pass


def test_manifest_digest_tracks_every_file_and_names_changes(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.bin").write_bytes(b"1")
    (tmp_path / "y.txt").write_text("y")
    before = content_manifest(str(tmp_path))
    assert set(before) == {"a/x.bin", "y.txt"} and directory_digest(str(tmp_path)) == manifest_digest(before)
    (tmp_path / "a" / "x.bin").write_bytes(b"2")
    (tmp_path / "y.txt").unlink()
    (tmp_path / "z").write_text("new")
    after = content_manifest(str(tmp_path))
    assert manifest_digest(after) != manifest_digest(before)
    assert _changes(before, after) == ["modified: a/x.bin", "removed: y.txt", "added: z"]
    assert content_manifest(str(tmp_path / "z")) == {".": json.loads(json.dumps(after))["z"]}


def _store_with_one_run(config, run_id="run-1"):
    """A real SQLite MLMD store holding one execution in a run of `config`'s pipeline, as TFX 1.16 records it."""
    from ml_metadata import metadata_store

    config.metadata_path.parent.mkdir(parents=True)
    store = metadata_store.MetadataStore(metadata.connection_config(config))
    types = {name: store.put_context_type(metadata_store_pb2.ContextType(name=name))
             for name in ("pipeline", "pipeline_run")}
    contexts = store.put_contexts([metadata_store_pb2.Context(type_id=types["pipeline"], name=config.pipeline_name),
                                   metadata_store_pb2.Context(type_id=types["pipeline_run"], name=run_id)])
    step = store.put_execution_type(metadata_store_pb2.ExecutionType(name="Step"))
    [execution] = store.put_executions([metadata_store_pb2.Execution(type_id=step)])
    store.put_attributions_and_associations([], [metadata_store_pb2.Association(context_id=c, execution_id=execution)
                                                 for c in contexts])


def test_sealing_a_run_is_refused_while_a_run_holds_the_store(tmp_path, capsys):
    from pipeline.cli import main as glassbox

    config = load_config(output_dir=tmp_path / "out")
    _store_with_one_run(config)
    with metadata.exclusive_use(config):
        assert glassbox(["lineage", "seal", "--output", str(config.output_dir)]) == 3
    assert "is busy: another run is using it" in capsys.readouterr().err
    assert glassbox(["lineage", "seal", "--output", str(config.output_dir)]) == 0
    assert "Run run-1: sealed 0 artifact(s)" in capsys.readouterr().out
