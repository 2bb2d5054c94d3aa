"""The decision record on PostgreSQL, as several replicas of the service share it: the whole suite of
tests/unit/serving/test_store.py against a server of the tests' own (tests.helpers.PostgresServer, one per session),
each test in a database of its own; then what only a server can get wrong: its URL, its reachability, its password."""

from __future__ import annotations

import subprocess
import threading
import uuid

import psycopg
import pytest
import yaml

from pipeline.serving.store import DecisionStoreError, PostgresStore, describe_location, open_store
from tests.unit.serving.test_decisions_cli import glassbox
from tests.unit.serving.test_store import (  # noqa: F401 - the suite, collected here again on PostgreSQL
    Backend,
    decision,
    store,
    test_a_batch_is_one_transaction_and_a_bad_payload_is_refused_without_its_content,
    test_a_deleted_record_is_named_in_the_middle_at_the_start_and_at_the_end,
    test_a_record_inserted_after_the_head_is_named,
    test_alerts_are_a_chain_of_their_own_and_say_which_checks_are_failing,
    test_an_altered_or_deleted_alert_is_named,
    test_an_altered_record_is_named,
    test_an_empty_store_verifies,
    test_append_and_get_round_trip,
    test_every_acknowledged_append_survives_kill_9,
    test_model_digests_are_checked_against_the_callable,
    test_outcomes_are_a_chain_of_their_own_bound_to_their_decisions,
    test_outcomes_are_recorded_once_per_decision_all_or_none,
    test_outcomes_of_the_earlier_unchained_table_move_onto_the_chain_when_the_store_is_opened,
    test_purge_leaves_a_chain_that_verifies_and_a_forged_tombstone_does_not,
    test_purge_refuses_to_sign_for_an_altered_record,
    test_records_are_read_and_purged_a_page_at_a_time,
    test_records_by_time_window_and_counts_by_day,
    test_threads_and_processes_appending_at_once_keep_one_chain,
    test_two_swapped_records_are_named,
)


def postgres_backend(server) -> Backend:
    name = f"decisions_{uuid.uuid4().hex[:12]}"
    url = server.create_database(name)
    return Backend("postgres", url, server.password, lambda: server.connect(name))


@pytest.fixture(params=["postgres"])
def backend(request, postgres) -> Backend:
    return postgres_backend(postgres)


def test_every_append_holds_the_chain_head_row_until_it_commits(postgres):
    """Replicas serialize on the head row: while one session holds it, another's append waits, then follows it."""
    backend = postgres_backend(postgres)
    with backend.open() as first, backend.open() as second:
        first.append([decision(0)])
        holder = backend.raw()
        holder.execute("BEGIN")
        holder.execute("SELECT seq FROM decision_head FOR UPDATE")
        done = []
        waiter = threading.Thread(target=lambda: done.extend(second.append([decision(1)])))
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and done == []  # waiting on the lock
        holder.execute("COMMIT")
        waiter.join(timeout=30)
        assert [r.seq for r in done] == [2] and first.verify() == []
        holder.close()


def test_server_errors_are_one_sentence_without_the_password(postgres, tmp_path):
    backend = postgres_backend(postgres)
    password = postgres.password
    url_with_password = backend.location.replace("glassbox@", f"glassbox:{password}@")
    with open_store(url_with_password, create=True) as opened:  # a password in the URL works, and is not shown
        assert password not in opened.description and opened.description == describe_location(backend.location)
    cases = {
        "wrong password": (backend.location, "not-" + password, "cannot be reached: .*password authentication failed"),
        "no server there": (f"postgresql://glassbox:{password}@127.0.0.1:1/x", None, "cannot be reached: "),
        "bad port": (f"postgresql://glassbox:{password}@127.0.0.1:port/x", None, "(not a valid PostgreSQL URL|"
                                                                              "cannot be reached)"),
        "no database": (postgres.url("absent_database"), password, "cannot be reached: .*does not exist"),
    }
    for name, (url, given, says) in cases.items():
        with pytest.raises(DecisionStoreError, match=says) as refused:
            open_store(url, password=given)
        message = str(refused.value)
        assert password not in message and "\n" not in message, (name, message)
    # A database whose `decisions` table is someone else's is not a decision store; an empty one is not made unasked.
    other = postgres_backend(postgres)
    with pytest.raises(DecisionStoreError, match="No decision store in postgresql://glassbox@127.0.0.1"):
        open_store(other.location, password=password)
    other.tamper("CREATE TABLE decisions (anything TEXT)")
    with pytest.raises(DecisionStoreError, match="is not a decision store"):
        open_store(other.location, create=True, password=password)


def test_synchronous_commit_is_on_where_the_database_turned_it_off_also_after_a_reconnection(postgres):
    backend = postgres_backend(postgres)
    with postgres.connect("postgres") as admin:
        admin.execute(f'ALTER DATABASE "{backend.location.rsplit("/", 1)[1]}" SET synchronous_commit TO off')
    with backend.open() as opened:
        assert isinstance(opened, PostgresStore)
        assert opened._connection.execute("SHOW synchronous_commit").fetchone() == ("on",)
        opened.append([decision(0)])
        with postgres.connect("postgres") as admin:
            admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'glassbox-decisions'")
        with pytest.raises(psycopg.OperationalError):
            opened.append([decision(1)])  # the session died under it: this one is not acknowledged
        assert [r.seq for r in opened.append([decision(2)])] == [2]  # a new session
        assert opened.verify() == []
        assert opened._connection.execute("SHOW synchronous_commit").fetchone() == ("on",)


def test_glassbox_decisions_on_a_postgresql_record_never_prints_its_password(postgres, tmp_path):
    backend = postgres_backend(postgres)
    with backend.open() as opened:
        opened.append([decision(0), decision(1)])
    config = tmp_path / "serve.yaml"
    config.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "out"),
                                      "serving": {"decisions": backend.location, "password_env": "TEST_PG_PASSWORD"}}))
    printed = []

    def run(*args, password: str) -> subprocess.CompletedProcess:
        done = glassbox("decisions", *args, "--config", config, env={"TEST_PG_PASSWORD": password})
        printed.append(done.stdout + done.stderr)
        return done

    assert run("purge", "--older-than", "0d", password=postgres.password).stdout.startswith("Purged 2 decision(s)")
    done = run("verify", password=postgres.password)  # the tombstones, with the key file the purge made
    assert done.returncode == 0 and f"Decision record {backend.location}: 2 record(s), chain intact" in done.stdout
    wrong = run("verify", password="not-" + postgres.password)
    assert wrong.returncode == 2 and wrong.stdout == "" and wrong.stderr.count("\n") == 1
    assert wrong.stderr.startswith(f"glassbox: The decision store {backend.location} cannot be reached: ")
    assert "password authentication failed" in wrong.stderr
    inline = backend.location.replace("glassbox@", f"glassbox:{postgres.password}@")
    config.write_text(yaml.safe_dump({"output_dir": str(tmp_path / "out"), "serving": {"decisions": inline}}))
    assert run("verify", password="").returncode == 0
    assert all(postgres.password not in output for output in printed)
