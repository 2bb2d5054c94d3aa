"""The decision record (pipeline/serving/store.py) on a real database: appends come back as recorded, an acknowledged
append survives its process's SIGKILL, writers in threads and processes keep one chain, every kind of tampering is
named, and retention leaves a chain that verifies. The suite runs on SQLite here and, unchanged, on a PostgreSQL server
of its own in tests/integration/test_decision_store_postgres.py (the `backend` fixture, overridden there)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from pipeline.config import REPO_ROOT
from pipeline.serving.store import (
    ALERTS,
    GENESIS,
    OUTCOMES,
    ChainError,
    DecisionStoreError,
    open_store,
    record_hash,
    retention_cutoff,
)

PASSWORD_ENV = "GLASSBOX_TEST_DECISIONS_PASSWORD"
KEY = b"test-decisions-key"
MODEL_SHA = "a" * 64


def decision(i: int, model_id: int = 7, sha256: str = MODEL_SHA, outcome: str = "decline") -> dict:
    """A payload shaped like the engine's."""
    return {"model": {"artifact_id": model_id, "sha256": sha256}, "policies": {"privacy": "b" * 64},
            "inputs": {"duration": 24 + i, "purpose": "car", "applicant_id": f"pseudonym-{i}"},
            "score": 0.25 + i / 1000, "decision": outcome, "attributions": {"duration": -0.12, "purpose": 0.03},
            "reasons": ["Duration in months is too long"],
            "recourse": [{"changes": {"duration": [24 + i, 12]}, "score": 0.61}]}


@dataclass
class Backend:
    """Where a test's store lives, and a raw connection beside the store's own, to tamper with it."""

    name: str
    location: str
    password: str | None
    raw: Callable

    def open(self, create: bool = True):
        return open_store(self.location, create=create, password=self.password)

    def tamper(self, *statements: str, args: tuple = ()) -> None:
        connection = self.raw()
        try:
            for sql in statements:
                connection.execute(sql if self.name == "sqlite" else sql.replace("?", "%s"), args)
        finally:
            connection.close()

    def child_env(self) -> dict:
        """A child process's environment: this checkout first on its path; the server's password, not in argv."""
        return {**os.environ, "PYTHONPATH": str(REPO_ROOT), PASSWORD_ENV: self.password or ""}


def sqlite_backend(directory: Path) -> Backend:
    path = directory / "decisions.sqlite"
    return Backend("sqlite", str(path), None, lambda: sqlite3.connect(path, isolation_level=None))


@pytest.fixture(params=["sqlite"])
def backend(request, tmp_path) -> Backend:
    return sqlite_backend(tmp_path)


@pytest.fixture
def store(backend):
    with backend.open() as store:
        yield store


def test_append_and_get_round_trip(store):
    before = datetime.now(timezone.utc)
    first = store.append([decision(0)])
    batch = store.append([decision(1), decision(2, model_id=8)])
    records = first + batch
    assert [r.seq for r in records] == [1, 2, 3]
    assert len({r.id for r in records}) == 3 and all(len(r.id) == 32 for r in records)
    assert records[0].prev_hash == GENESIS and [r.prev_hash for r in records[1:]] == [r.hash for r in records[:2]]
    assert batch[0].time == batch[1].time and first[0].time <= batch[0].time
    assert before <= datetime.fromisoformat(records[0].time) <= datetime.now(timezone.utc)
    for record, payload in zip(records, [decision(0), decision(1), decision(2, model_id=8)]):
        got = store.get(record.id)
        assert got == record and got.payload == payload
        assert (got.model_id, got.model_sha256) == (payload["model"]["artifact_id"], MODEL_SHA)
        assert got.hash == record_hash(got.prev_hash, got.payload_sha256, got.id, got.seq, got.time, got.model_id,
                                       got.model_sha256)
    assert store.get("0" * 32) is None
    assert store.head() == (3, records[-1].hash)
    assert store.verify() == []


def test_a_batch_is_one_transaction_and_a_bad_payload_is_refused_without_its_content(store):
    store.append([decision(0)])
    secret = "pseudonym-that-must-not-leak"
    for bad, says in [({"model": {"artifact_id": "7", "sha256": MODEL_SHA}, "inputs": {"id": secret}},
                       "model.artifact_id"),
                      ({**decision(1), "score": float("nan"), "inputs": {"id": secret}}, "plain JSON"),
                      ({**decision(1), "score": object(), "inputs": {"id": secret}}, "plain JSON")]:
        with pytest.raises(ValueError, match=says) as refused:
            store.append([decision(1), bad])
        assert secret not in str(refused.value)
    assert store.head()[0] == 1 and len(list(store.records())) == 1


def test_records_by_time_window_and_counts_by_day(store):
    early = store.append([decision(i) for i in range(3)])
    time.sleep(0.01)
    late = store.append([decision(3), decision(4, model_id=8)])
    assert [r.id for r in store.records()] == [r.id for r in early + late]
    middle = datetime.fromisoformat(late[0].time)
    assert [r.id for r in store.records(since=middle)] == [r.id for r in late]
    assert [r.id for r in store.records(until=middle)] == [r.id for r in early]
    with pytest.raises(ValueError, match="time zone"):
        list(store.records(since=datetime.now()))
    counts = store.counts_by_day(7)
    assert counts.by_day == ((early[0].time[:10], 4),) and counts.total == 4
    assert (counts.first, counts.last) == (early[0].time, late[0].time)
    assert store.counts_by_day(8).total == 1 and store.counts_by_day(9).by_day == ()


def test_records_are_read_and_purged_a_page_at_a_time(store, monkeypatch):
    monkeypatch.setattr("pipeline.serving.store.PAGE", 4)
    made = store.append([decision(i) for i in range(10)])
    assert [r.seq for r in store.records()] == [r.seq for r in made]
    assert store.purge(datetime.now(timezone.utc) + timedelta(seconds=1), KEY) == 10  # a page per transaction
    assert store.verify(key=KEY) == [] and all(r.purged for r in store.records())


CHILD_APPENDS = """
import os, sys
from pipeline.serving.store import open_store
store = open_store(sys.argv[1], create=True, password=os.environ[sys.argv[2]] or None)
i = 0
while True:
    records = store.append([{"model": {"artifact_id": 7, "sha256": "a" * 64}, "score": i / 1000, "n": n}
                            for n in range(3)])
    print(" ".join(record.id for record in records), flush=True)
    i += 1
"""


def test_every_acknowledged_append_survives_kill_9(backend):
    backend.open().close()
    child = subprocess.Popen([sys.executable, "-c", CHILD_APPENDS, backend.location, PASSWORD_ENV],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=backend.child_env(),
                             cwd=REPO_ROOT)
    acknowledged = []
    try:
        while len(acknowledged) < 150:
            line = child.stdout.readline()
            assert line, f"the child stopped: {child.stderr.read()[-2000:]}"
            acknowledged.extend(line.split())
        os.kill(child.pid, signal.SIGKILL)  # most likely in the middle of its next transaction
    finally:
        child.kill()
        child.wait()
    acknowledged.extend(child.stdout.read().split())  # lines printed before it died were acknowledged too
    assert child.returncode == -signal.SIGKILL
    with backend.open(create=False) as store:
        missing = [i for i in acknowledged if store.get(i) is None]
        assert missing == [], f"{len(missing)} acknowledged decisions lost"
        assert store.head()[0] >= len(acknowledged)
        assert store.verify() == []
    if backend.name == "sqlite":
        with sqlite3.connect(backend.location) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)


CHILD_CONCURRENT = """
import os, sys
from pipeline.serving.store import open_store
store = open_store(sys.argv[1], create=True, password=os.environ[sys.argv[2]] or None)
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[3])):
    records = store.append([{"model": {"artifact_id": 7, "sha256": "a" * 64}, "writer": sys.argv[4], "i": i, "n": n}
                            for n in range(3)])
    print(" ".join(record.id for record in records), flush=True)
"""


def test_threads_and_processes_appending_at_once_keep_one_chain(backend):
    rounds, threads = 30, 4
    backend.open().close()
    children = [subprocess.Popen([sys.executable, "-c", CHILD_CONCURRENT, backend.location, PASSWORD_ENV,
                                  str(rounds), f"process-{n}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, env=backend.child_env(), cwd=REPO_ROOT)
                for n in range(2)]
    try:
        for child in children:
            assert child.stdout.readline() == "ready\n", child.stderr.read()[-2000:]
        shared = backend.open()
        own = [backend.open() for _ in range(threads // 2)]  # half share one store object, half have their own
        appended, failures = [], []

        def write(store, name):
            try:
                for i in range(rounds):
                    appended.extend(r.id for r in store.append([{**decision(i), "writer": name},
                                                                {**decision(i), "writer": name}]))
            except Exception as error:  # noqa: BLE001 - reported by the assertion below
                failures.append(error)

        workers = [threading.Thread(target=write, args=(store, f"thread-{n}"))
                   for n, store in enumerate([shared] * (threads - len(own)) + own)]
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        outputs = [child.communicate(timeout=120) for child in children]
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert failures == []
    assert [child.returncode for child in children] == [0, 0], [err[-2000:] for _, err in outputs]
    from_children = [i for out, _ in outputs for i in out.split()]
    expected = threads * rounds * 2 + 2 * rounds * 3
    assert len(appended) + len(from_children) == expected
    records = list(shared.records())
    assert [r.seq for r in records] == list(range(1, expected + 1))
    assert len({r.id for r in records}) == expected and {r.id for r in records} == set(appended + from_children)
    assert shared.verify() == []
    # The writers really interleaved: not one of them wrote all its records before another started.
    writers = [r.payload["writer"] for r in records]
    assert sum(a != b for a, b in zip(writers, writers[1:])) > 6
    for store in [shared, *own]:
        store.close()


def _six(store) -> list:
    return store.append([decision(i) for i in range(3)]) + store.append([decision(i) for i in range(3, 6)])


@pytest.mark.parametrize("change", ["payload", "payload and its digest", "time", "model"])
def test_an_altered_record_is_named(backend, store, change):
    records = _six(store)
    statement = {"payload": "UPDATE decisions SET payload = replace(payload, '\"decline\"', '\"approve\"') "
                            "WHERE seq = 3",
                 "payload and its digest": "UPDATE decisions SET payload = '{}', payload_sha256 = "
                                           "'44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a' "
                                           "WHERE seq = 3",
                 "time": "UPDATE decisions SET time = '2020-01-01T00:00:00.000000+00:00' WHERE seq = 3",
                 "model": "UPDATE decisions SET model_id = 99 WHERE seq = 3"}[change]
    backend.tamper(statement)
    problems = store.verify()
    assert problems and {(p.seq, p.id) for p in problems} == {(3, records[2].id)}, problems
    assert "altered" in str(problems[0]) and f"record 3 ({records[2].id})" in str(problems[0])


def test_a_deleted_record_is_named_in_the_middle_at_the_start_and_at_the_end(backend, store):
    records = _six(store)
    backend.tamper("DELETE FROM decisions WHERE seq = 4")
    problems = store.verify()
    assert [(p.seq, p.id) for p in problems] == [(4, None)], problems
    assert f"missing (deleted): record 5 ({records[4].id}) follows record 3" in str(problems[0])
    backend.tamper("DELETE FROM decisions WHERE seq IN (1, 6)")
    problems = [str(p) for p in store.verify()]
    assert len(problems) == 3, problems
    assert problems[0].startswith("record 1: missing (deleted)") and problems[1].startswith("record 4: missing")
    assert problems[2].startswith("record 6: missing (deleted): the chain's head is record 6")


def test_two_swapped_records_are_named(backend, store):
    records = _six(store)
    backend.tamper("UPDATE decisions SET seq = -2 WHERE seq = 2", "UPDATE decisions SET seq = 2 WHERE seq = 5",
                   "UPDATE decisions SET seq = 5 WHERE seq = -2")
    problems = store.verify()
    named = {(p.seq, p.id) for p in problems}
    assert {(2, records[4].id), (5, records[1].id)} <= named, problems
    assert named <= {(seq, r.id) for seq, r in [(2, records[4]), (3, records[2]), (5, records[1]), (6, records[5])]}


def test_a_record_inserted_after_the_head_is_named(backend, store):
    last = _six(store)[-1]
    backend.tamper(f"INSERT INTO decisions SELECT seq + 1, 'f' || id, time, model_id, model_sha256, payload, "
                   f"payload_sha256, hash, hash, purged_at, tombstone FROM decisions WHERE seq = {last.seq}")
    problems = store.verify()
    assert {(p.seq, p.id) for p in problems} == {(7, "f" + last.id)} and "inserted" in str(problems[0])


def test_purge_leaves_a_chain_that_verifies_and_a_forged_tombstone_does_not(backend, store):
    old = store.append([decision(i) for i in range(3)])
    time.sleep(0.01)
    recent = store.append([decision(3), decision(4)])
    assert store.purge(datetime.fromisoformat(recent[0].time), KEY) == 3
    assert store.purge(datetime.fromisoformat(recent[0].time), KEY) == 0  # purged ones stay as they are
    for record in old:
        tomb = store.get(record.id)
        assert tomb.purged and tomb.payload is None and tomb.tombstone
        assert (tomb.hash, tomb.payload_sha256, tomb.time, tomb.model_id) == (record.hash, record.payload_sha256,
                                                                              record.time, record.model_id)
    assert store.get(recent[0].id).payload == decision(3)
    assert store.verify(key=KEY) == []
    assert store.counts_by_day(7).total == 5  # purged decisions still count, for lineage
    assert {p.seq for p in store.verify(key=b"another key")} == {1, 2, 3}
    unchecked = store.verify()
    assert len(unchecked) == 1 and "3 tombstone(s) not checked" in str(unchecked[0])

    backend.tamper("UPDATE decisions SET purged_at = '2000-01-01T00:00:00.000000+00:00' WHERE seq = 2")
    backend.tamper("UPDATE decisions SET payload = NULL, purged_at = ?, tombstone = ? WHERE seq = 4",
                   args=(recent[0].time, "0" * 64))
    backend.tamper("UPDATE decisions SET payload = NULL WHERE seq = 5")
    problems = store.verify(key=KEY)
    assert [(p.seq, p.id) for p in problems] == [(2, old[1].id), (4, recent[0].id), (5, recent[1].id)], problems
    assert "tombstone's signature does not match" in str(problems[0])
    assert "removed without a tombstone" in str(problems[2])


def test_purge_refuses_to_sign_for_an_altered_record(backend, store):
    records = _six(store)
    backend.tamper("UPDATE decisions SET payload = replace(payload, '\"decline\"', '\"approve\"') WHERE seq = 2")
    with pytest.raises(ChainError, match=f"Record 2 \\({records[1].id}\\) was altered: the purge stopped there, 0 "):
        store.purge(datetime.now(timezone.utc) + timedelta(seconds=1), KEY)
    assert store.get(records[0].id).payload is not None


def test_model_digests_are_checked_against_the_callable(store):
    store.append([decision(0), decision(1, model_id=8, sha256="c" * 64), decision(2, model_id=9)])
    bad = store.append([decision(3, sha256="d" * 64), decision(4, sha256="d" * 64)])
    asked = []

    def digests(artifact_id):
        asked.append(artifact_id)
        return {7: MODEL_SHA, 8: "c" * 64}.get(artifact_id)  # 9: not in ML Metadata

    problems = store.verify(digests)
    assert sorted(asked) == [7, 8, 9]  # once per model
    assert [(p.seq, p.id) for p in problems] == [(bad[0].seq, bad[0].id)]
    assert "model artifact 7's sha256 in ML Metadata" in str(problems[0]) and "2 decision(s)" in str(problems[0])


def test_an_empty_store_verifies(store):
    assert store.verify() == [] and store.head() == (0, GENESIS) and list(store.records()) == []


def test_retention_cutoff_counts_calendar_months():
    now = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    assert retention_cutoff("25m", now) == datetime(2024, 2, 29, 12, tzinfo=timezone.utc)
    assert retention_cutoff("2y", now) == datetime(2024, 3, 31, 12, tzinfo=timezone.utc)
    assert retention_cutoff("3w", now) == now - timedelta(days=21)
    assert retention_cutoff("10d", now) == now - timedelta(days=10)
    for bad in ("25", "m", "25 months", "-1d"):
        with pytest.raises(ValueError, match="count and a unit"):
            retention_cutoff(bad, now)


# SQLite only: the file's settings, and what is not a decision store.

def test_sqlite_commits_are_durable(tmp_path):
    with open_store(tmp_path / "d.sqlite", create=True) as store:
        connection = store._connection
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL: an fsync per commit


def test_a_second_store_in_the_process_keeps_the_writers_wal_when_another_process_closes(tmp_path):
    """The service holds a writer and a reader on one file. Opening the second must not drop the first's POSIX locks
    (any close() of a descriptor of the file would): else `glassbox decisions verify` closing its connection deletes
    the WAL under the writer, and every later acknowledged decision goes to an unlinked file."""
    path = tmp_path / "d.sqlite"
    child = ("import sys; from pipeline.serving.store import open_store; store = open_store(sys.argv[1]); "
             "print(store.head()[0]); store.close()")

    def other_process() -> int:
        done = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True, text=True, cwd=REPO_ROOT,
                              env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, timeout=60)
        assert done.returncode == 0, done.stderr
        return int(done.stdout)

    with open_store(path, create=True) as writer, open_store(path) as reader:
        writer.append([decision(0)])
        assert other_process() == 1 and (tmp_path / "d.sqlite-wal").exists()
        writer.append([decision(1)])
        assert reader.head()[0] == 2 and other_process() == 2


def test_sqlite_locations_that_are_no_decision_store(tmp_path):
    with pytest.raises(DecisionStoreError, match="^No decision store at .*missing.sqlite"):
        open_store(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()
    (tmp_path / "notes.txt").write_text("not a database at all")
    with pytest.raises(DecisionStoreError, match="notes.txt is not a decision store \\(not a SQLite database\\)"):
        open_store(tmp_path / "notes.txt", create=True)
    with sqlite3.connect(tmp_path / "metadata.sqlite") as other:
        other.execute("CREATE TABLE Artifact (id INTEGER)")
    with pytest.raises(DecisionStoreError, match="metadata.sqlite is not a decision store \\(it holds other tables"):
        open_store(tmp_path / "metadata.sqlite", create=True)
    with pytest.raises(DecisionStoreError, match="neither a file path nor a postgresql:// URL"):
        open_store("mysql://user:hunter2@host/db")
    store = open_store(tmp_path / "d.sqlite", create=True)
    store.close()
    with sqlite3.connect(tmp_path / "d.sqlite") as connection:
        connection.execute("UPDATE decision_store SET value = '2'")
    with pytest.raises(DecisionStoreError, match="format 2; this Glassbox reads format 1"):
        open_store(tmp_path / "d.sqlite")


def alert(check: str, status: str = "fail", model_id: int = 7) -> dict:
    return {"kind": "monitoring_alert", "model": {"artifact_id": model_id}, "check": check, "status": status,
            "severity": "warn", "value": 0.2, "threshold": 0.13, "window": {"size": 300, "count": 300}}


def test_alerts_are_a_chain_of_their_own_and_say_which_checks_are_failing(store):
    assert store.alerts() == [] and store.verify_chain(ALERTS) == (0, [])  # a store made before alerts: none, intact
    store.append([decision(1)])
    first = store.append_alerts([alert("data_drift.age"), alert("data_drift.credit_amount")])
    store.append_alerts([alert("data_drift.age", "pass"), alert("prediction_drift", model_id=8)])
    assert [a.seq for a in store.alerts()] == [1, 2, 3, 4] and first[1].prev_hash == first[0].hash
    assert store.failing_checks(7) == ["data_drift.credit_amount"] and store.failing_checks(8) == ["prediction_drift"]
    assert [a.payload["check"] for a in store.alerts(7)] == ["data_drift.age", "data_drift.credit_amount",
                                                             "data_drift.age"]
    assert store.verify_chain(ALERTS) == (4, []) and store.verify() == []  # the decisions' chain is untouched
    with pytest.raises(ValueError):
        store.append_alerts([{"check": "x"}])


def test_an_altered_or_deleted_alert_is_named(backend, store):
    store.append_alerts([alert("a"), alert("b"), alert("c")])
    backend.tamper("UPDATE alerts SET payload = REPLACE(payload, '0.2', '0.01') WHERE seq = 2")
    count, problems = store.verify_chain(ALERTS)
    assert count == 3 and [str(p) for p in problems] == ["alert 2 (" + store.alerts()[1].id + "): its payload does "
                                                         "not match its digest: altered"]
    backend.tamper("DELETE FROM alerts WHERE seq = 3")
    assert any("head is alert 3, the last alert in the store is 2" in str(p) for p in store.verify_chain(ALERTS)[1])


def test_outcomes_are_recorded_once_per_decision_all_or_none(store):
    from pipeline.serving.store import OutcomeError

    first, second, third = store.append([decision(1), decision(2), decision(3)])
    assert store.outcomes([first.id]) == {}  # before the first outcome, no table yet
    found = store.record_outcomes([(first.id, 1), (second.id, 0)])
    assert [(r.id, label) for r, label in found] == [(first.id, 1), (second.id, 0)]
    with pytest.raises(OutcomeError) as unknown:
        store.record_outcomes([(third.id, 1), ("f" * 32, 0)])
    assert unknown.value.unknown
    with pytest.raises(OutcomeError) as twice:
        store.record_outcomes([(first.id, 0)])
    assert not twice.value.unknown and "never replaced" in str(twice.value)
    assert store.outcomes([first.id, second.id, third.id]) == {first.id: 1, second.id: 0}  # third: rolled back
    assert store.verify() == []
    with pytest.raises(OutcomeError, match="already has its outcome"):  # twice in one request
        store.record_outcomes([(third.id, 1), (third.id, 0)])


def test_outcomes_are_a_chain_of_their_own_bound_to_their_decisions(backend, store):
    first, second, third = store.append([decision(1), decision(2), decision(3)])
    store.record_outcomes([(first.id, 1), (second.id, 0)])
    store.record_outcomes([(third.id, 1)])
    assert store.verify_chain(OUTCOMES) == (3, []) and store.verify_chain(ALERTS) == (0, [])
    # a label turned from 0 to 1 afterwards is named
    backend.tamper("UPDATE outcome_chain SET payload = REPLACE(payload, '\"label\":0', '\"label\":1') WHERE seq = 2")
    assert store.outcomes([second.id]) == {second.id: 1}
    count, problems = store.verify_chain(OUTCOMES)
    assert count == 3 and [str(p) for p in problems] == [f"outcome 2 ({second.id}): its payload does not match its "
                                                         "digest: altered"]
    backend.tamper("DELETE FROM outcome_chain WHERE seq = 3")
    assert any("head is outcome 3, the last outcome in the store is 2" in str(p)
               for p in store.verify_chain(OUTCOMES)[1])


def test_outcomes_of_the_earlier_unchained_table_move_onto_the_chain_when_the_store_is_opened(backend):
    with backend.open() as store:
        first, second = store.append([decision(1), decision(2)])
    # as the previous version recorded them: a plain table, one row per decision
    backend.tamper("CREATE TABLE outcomes (decision_id TEXT PRIMARY KEY, label INTEGER NOT NULL, time TEXT NOT NULL)",
                   f"INSERT INTO outcomes VALUES ('{second.id}', 0, '2026-12-01T10:00:00.000000+00:00')",
                   f"INSERT INTO outcomes VALUES ('{first.id}', 1, '2026-12-01T09:00:00.000000+00:00')")
    with backend.open(create=False) as store:
        chained = store._chain_records(OUTCOMES)
        assert [(r.id, r.payload["label"], r.time) for r in chained] == [
            (first.id, 1, "2026-12-01T09:00:00.000000+00:00"), (second.id, 0, "2026-12-01T10:00:00.000000+00:00")]
        assert chained[0].payload["decision_hash"] == first.hash
        assert store.outcomes([first.id, second.id]) == {first.id: 1, second.id: 0}
        assert store.verify_chain(OUTCOMES) == (2, []) and store.verify() == []
        store.record_outcomes([(store.append([decision(3)])[0].id, 1)])  # the chain goes on
        assert store.verify_chain(OUTCOMES)[0] == 3
