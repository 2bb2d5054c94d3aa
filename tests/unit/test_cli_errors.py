"""The CLI's one table from error to exit code (pipeline/cli/errors.py): each error it names, raised by real inputs
that fail fast, ends `glassbox` with its code and one line on stderr; the rest are looked up directly."""

from __future__ import annotations

import importlib

import pytest
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata
from pipeline.cli import main
from pipeline.cli.errors import EXIT_CODES, RunError, exit_status
from pipeline.cli.output import logged
from pipeline.config import load_config


@pytest.fixture
def store(tmp_path):
    """A config file and its metadata store, which holds no run and one artifact; returns (config file, its id)."""
    config_file = tmp_path / "store" / "glassbox.yaml"
    config_file.parent.mkdir()
    config_file.write_text("output_dir: .\nmetadata: {sqlite_path: metadata.sqlite}\n")
    connection = metadata_store.MetadataStore(metadata.connection_config(load_config(config_file)))
    examples = connection.put_artifact_type(metadata_store_pb2.ArtifactType(name="Examples"))
    (artifact_id,) = connection.put_artifacts([metadata_store_pb2.Artifact(type_id=examples, uri=str(tmp_path))])
    return config_file, artifact_id


def _glassbox(capfd, *args) -> tuple[int, list[str]]:
    code = main([str(a) for a in args])
    return code, capfd.readouterr().err.strip().splitlines()


def test_every_class_in_the_table_is_an_exception():
    for name, code in EXIT_CODES:
        module, _, cls = name.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), cls), Exception), name
        assert code in (1, 2, 3, 4)


@pytest.mark.parametrize("args, code, message", [
    (["run", "--config", "{tmp}/missing.yaml"], 2, "Config file {tmp}/missing.yaml does not exist."),  # ConfigError
    (["run", "--beam-arg=--no_such_flag", "--output", "{tmp}/out"], 2,
     "glassbox: the command line: field 'beam_args': Beam does not know the flag(s) --no_such_flag"),
    (["run", "--data", "{tmp}/nope", "--output", "{tmp}/out"], 2, "Data directory {tmp}/nope does not exist."),
    (["init", "--data", "{tmp}/missing.csv", "--label", "risk", "--out", "{tmp}/x.yaml"], 2,  # OnboardError
     "{tmp}/missing.csv: no such file"),
    (["lineage", "runs", "--output", "{tmp}"], 2, "No metadata store at {tmp}/metadata.sqlite"),  # MetadataStoreError
    (["decisions", "verify", "--output", "{tmp}"], 2,  # DecisionStoreError
     "No decision store at {tmp}/decisions.sqlite"),
    (["monitor", "--data", "{tmp}/nope", "--output", "{tmp}/out"], 2,  # ValueError
     "--data {tmp}/nope is not a directory of span files."),
    (["monitor", "--data", "{tmp}", "--model", "latest", "--output", "{tmp}/out"], 2,
     "--model must be 'pushed' or a Model artifact id, not 'latest'."),
    (["monitor", "--data", "{tmp}", "--since", "24h", "--output", "{tmp}/out"], 2,
     "--since and --until choose a window of the decision record: they go with --decisions."),
    (["monitor", "--decisions", "--since", "yesterday", "--output", "{tmp}/out"], 2,
     "--since 'yesterday': give a time (2026-11-30, 2026-11-30T09:00:00+01:00; UTC unless a zone is named)"),
    (["monitor", "--decisions", "--since", "1h", "--until", "2h", "--output", "{tmp}/out"], 2,
     "--since 1h is not before --until 2h: the window is empty."),
    (["lineage", "artifact", "999999", "--config", "{config}"], 1, "No artifact 999999 in this metadata store."),
    (["lineage", "verify", "--config", "{config}"], 1, "No runs of glassbox-german-credit in "),  # LookupError
    # Any other error: one line with its type, code 1 (a traceback before the error table).
    (["lineage", "artifact", "{artifact}", "--svg", "/dev/null/graph.svg", "--config", "{config}"], 1,
     "FileExistsError: "),
], ids=["missing-config", "bad-beam-arg", "preflight", "onboard", "no-store", "no-decision-store", "monitor-data",
        "monitor-model", "monitor-since-with-data", "monitor-since", "monitor-empty-window", "lineage-error", "no-runs",
        "other"])
def test_main_ends_each_error_with_its_code_and_one_line(args, code, message, capfd, tmp_path, store):
    config_file, artifact_id = store
    fill = dict(tmp=tmp_path, config=config_file, artifact=artifact_id)
    exit_code, err = _glassbox(capfd, *(a.format(**fill) for a in args))
    assert (exit_code, len(err)) == (code, 1), err
    assert err[0].startswith("glassbox: ") and message.format(**fill) in err[0], err


def test_a_missing_graphviz_is_one_line(capfd, tmp_path, monkeypatch, store):
    config_file, artifact_id = store
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    code, err = _glassbox(capfd, "lineage", "artifact", artifact_id, "--svg", tmp_path / "g.svg",
                          "--config", config_file)
    assert code == 1 and err == ["glassbox: Graphviz's `dot` is not installed (apt-get install graphviz); "
                                 "`--dot` prints the graph without it."]


def test_a_monitoring_run_without_a_store_says_so_on_the_terminal(capfd, tmp_path):
    """The store's own error leaves the log unwrapped, and is printed after the terminal is back."""
    (tmp_path / "span").mkdir()
    code, err = _glassbox(capfd, "monitor", "--data", tmp_path / "span", "--output", tmp_path / "out")
    assert code == 2 and err == [f"glassbox: No metadata store at {tmp_path}/out/metadata.sqlite: run `glassbox run` "
                                 f"first (or pass the --output/--config the run used)."]
    (log,) = (tmp_path / "out" / "logs").iterdir()
    assert "No metadata store" not in log.read_text()


def test_a_busy_store_exits_3_with_its_advice(tmp_path):
    config = load_config(output_dir=tmp_path)
    with metadata.exclusive_use(config):
        with pytest.raises(metadata.MetadataStoreBusyError) as busy:
            with metadata.exclusive_use(config):
                pass
    code, message = exit_status(busy.value)
    assert code == 3 and message.startswith(f"The metadata store {config.metadata_path} is busy")
    assert message.endswith("Wait for it to finish, or give this run its own --output.")


def test_a_bad_policy_exits_2_naming_its_file(tmp_path):
    from components.monitor.policy import MonitorPolicyError, load_monitor_policy

    with pytest.raises(MonitorPolicyError) as bad:
        load_monitor_policy(tmp_path / "missing.yaml")
    assert exit_status(bad.value) == (2, str(bad.value)) and str(tmp_path) in str(bad.value)


def test_a_key_error_says_its_message_without_quotes():
    assert exit_status(KeyError("the example has no feature 'income' (it has age)")) == (
        2, "the example has no feature 'income' (it has age)")


def test_an_error_outside_the_table_exits_1_with_its_type():
    assert exit_status(RuntimeError("boom")) == (1, "RuntimeError: boom")


def _run_failure(tmp_path, error: Exception) -> RunError:
    with pytest.raises(RunError) as failed:
        with logged(load_config(output_dir=tmp_path), "run", "run"):
            raise error
    return failed.value


def test_a_failed_run_names_the_error_and_the_log(tmp_path):
    failure = _run_failure(tmp_path, ZeroDivisionError("division by zero"))
    (log,) = (tmp_path / "logs").iterdir()
    assert exit_status(failure) == (1, f"the run failed: ZeroDivisionError: division by zero (full log: {log})")


def test_a_broken_data_contract_is_its_own_sentence(tmp_path):
    from components.data_gate.component import DataContractError

    failure = _run_failure(tmp_path, DataContractError("The data breaks its schema: age [LOW]"))
    (log,) = (tmp_path / "logs").iterdir()
    assert exit_status(failure) == (1, f"The data breaks its schema: age [LOW] (log: {log})")
