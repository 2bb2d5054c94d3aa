"""`glassbox decisions show|verify|purge` as a user runs them (a `python -m pipeline.cli` process), on a SQLite record
found from --output or --config, with a real metadata store for the models' digests."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

import pytest
import yaml
from ml_metadata import metadata_store
from ml_metadata.proto import metadata_store_pb2

from pipeline import metadata
from pipeline.cli import main
from pipeline.config import REPO_ROOT, load_config
from pipeline.serving.store import KEY_ENV, open_store
from tests.unit.serving.test_store import MODEL_SHA, decision


def glassbox(*args, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **(env or {})}
    if KEY_ENV not in (env or {}):
        environment.pop(KEY_ENV, None)
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=environment, timeout=120)


def glassbox_here(capfd, *args) -> tuple[int, str, str]:
    """The same command in this process (no start-up to pay): (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out, err = capfd.readouterr()
    return code, out, err


def sealed_model(output_dir, sha256: str) -> int:
    """A metadata store at <output_dir>/metadata.sqlite holding one Model artifact sealed with `sha256`."""
    store = metadata_store.MetadataStore(metadata.connection_config(load_config(output_dir=output_dir)))
    model_type = store.put_artifact_type(metadata_store_pb2.ArtifactType(name="Model"))
    artifact = metadata_store_pb2.Artifact(type_id=model_type, uri=str(output_dir / "model"))
    artifact.custom_properties["sha256"].string_value = sha256
    (artifact_id,) = store.put_artifacts([artifact])
    return artifact_id


@pytest.fixture
def output(tmp_path):
    return tmp_path / "outputs"


def test_show_prints_the_record_and_its_adverse_action_notice(output, capfd):
    with open_store(output / "decisions.sqlite", create=True) as store:
        declined, approved = store.append([decision(0), decision(1, outcome="approve")])
    done = glassbox("decisions", "show", declined.id, "--output", output)
    assert done.returncode == 0, done.stderr
    assert f"Decision {declined.id} (record 1, {declined.time})" in done.stdout
    assert "decision     decline, score 0.250" in done.stdout and "inputs       applicant_id=pseudonym-0" in done.stdout
    notice = done.stdout.split("\n\n", 1)[1]
    assert notice.splitlines() == [
        f"Notice of action taken on your application (decision {declined.id}, {declined.time[:10]})",
        "Your application was declined.",
        "The principal reasons for this decision:",
        "  1. Duration in months is too long",
        "Any one of these changes would have led to a different outcome:",
        "  - duration from 24 to 12 (score 0.61)"]
    code, out, _ = glassbox_here(capfd, "decisions", "show", approved.id, "--output", output)
    assert code == 0 and out.rstrip().endswith("Your application was approved. No adverse action was taken.")
    code, out, _ = glassbox_here(capfd, "decisions", "show", declined.id, "--json", "--output", output)
    assert json.loads(out)["payload"] == decision(0) and json.loads(out)["hash"] == declined.hash
    missing = glassbox_here(capfd, "decisions", "show", "0" * 32, "--output", output)
    assert missing == (1, "", f"glassbox: No decision {'0' * 32} in the decision record {output}/decisions.sqlite.\n")


def test_verify_names_each_problem_and_checks_models_against_ml_metadata(output):
    output.mkdir()
    model_id = sealed_model(output, MODEL_SHA)
    with open_store(output / "decisions.sqlite", create=True) as store:
        records = store.append([decision(i, model_id=model_id) for i in range(3)] + [decision(3, model_id=999)])
    done = glassbox("decisions", "verify", "--output", output)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    assert done.stdout == (f"Decision record {output}/decisions.sqlite: 4 record(s), chain intact; model digests "
                           f"checked against ML Metadata for 1 of 2 model(s) (the others are not in it, or not "
                           f"sealed).\n")

    with open_store(output / "decisions.sqlite") as store:
        other = store.append([decision(4, model_id=model_id, sha256="e" * 64)])[0]
    with sqlite3.connect(output / "decisions.sqlite") as connection:
        connection.execute("UPDATE decisions SET payload = replace(payload, 'pseudonym-1', 'someone') WHERE seq = 2")
    done = glassbox("decisions", "verify", "--output", output)
    assert done.returncode == 1, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"  record 2 ({records[1].id}): its payload does not match its digest: altered"
    assert lines[1].startswith(f"  record 5 ({other.id}): model artifact {model_id}'s sha256 in ML Metadata "
                               f"(aaaaaaaaaaaa...) is not the one 1 decision(s) recorded")
    assert lines[2].startswith(f"Decision record {output}/decisions.sqlite: 5 record(s), 2 problem(s)")
    assert "someone" not in done.stdout and "pseudonym" not in done.stdout  # no payload content is printed


def test_purge_tombstones_old_decisions_and_the_chain_still_verifies(output, tmp_path, capfd, monkeypatch):
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump({"output_dir": "outputs", "serving": {"decisions": "records/decisions.db"}}))
    location = tmp_path / "records" / "decisions.db"  # relative to the config file
    with open_store(location, create=True) as store:
        records = store.append([decision(i) for i in range(3)])
    monkeypatch.delenv(KEY_ENV, raising=False)
    code, out, _ = glassbox_here(capfd, "decisions", "purge", "--older-than", "25m", "--config", config)
    assert code == 0 and out.startswith("Purged 0 decision(s) recorded before ")
    done = glassbox("decisions", "purge", "--older-than", "0d", "--config", config)
    assert done.returncode == 0, done.stderr
    key_file = output / "secrets" / "decisions.key"
    assert done.stdout.startswith("Purged 3 decision(s) recorded before ") and f"the key in {key_file}" in done.stdout
    assert (key_file.stat().st_mode & 0o077) == 0
    assert glassbox("decisions", "verify", "--config", config).returncode == 0
    code, shown, _ = glassbox_here(capfd, "decisions", "show", records[0].id, "--config", config)
    assert code == 0 and "removed on" in shown and "under the retention policy" in shown
    forged = glassbox("decisions", "verify", "--config", config, env={KEY_ENV: "another key"})
    assert forged.returncode == 1 and forged.stdout.count("tombstone's signature does not match") == 3


def test_purge_will_not_sign_for_an_altered_record(output):
    with open_store(output / "decisions.sqlite", create=True) as store:
        records = store.append([decision(0), decision(1)])
    with sqlite3.connect(output / "decisions.sqlite") as connection:
        connection.execute("UPDATE decisions SET time = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 2")
    done = glassbox("decisions", "purge", "--older-than", "1y", "--output", output)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"glassbox: Record 2 ({records[1].id}) was altered: the purge stopped there, 0 decision(s) "
                           f"purged. Run `glassbox decisions verify` for every problem.\n")


def test_store_errors_are_one_line_with_exit_2_and_no_password(tmp_path, capfd):
    missing = glassbox("decisions", "verify", "--output", tmp_path)
    assert (missing.returncode, missing.stderr) == (2, f"glassbox: No decision store at {tmp_path}/decisions.sqlite "
                                                       f"(the service makes it with its first decision; pass the "
                                                       f"--config/--output it uses).\n")
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump({"serving": {"decisions": "mysql://glassbox:hunter2@db/decisions"}}))
    assert glassbox_here(capfd, "decisions", "verify", "--config", config) == (
        2, "", f"glassbox: {config}: field 'serving.decisions': the decision store is a file path or a "
               f"postgresql:// URL\n")
    config.write_text(yaml.safe_dump({"serving": {"decisions": "postgresql://glassbox:hunter2@127.0.0.1:1/x"}}))
    code, out, err = glassbox_here(capfd, "decisions", "show", "x", "--config", config)
    assert (code, out) == (2, "") and "hunter2" not in err and err.count("\n") == 1
    assert err.startswith("glassbox: The decision store postgresql://glassbox@127.0.0.1:1/x cannot be reached: ")
