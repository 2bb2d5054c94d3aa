"""The decision record: every decision the service makes, append-only and hash-chained, in SQLite (one host) or
PostgreSQL (several replicas of the service sharing one record).

One row per decision: its id (uuid4 hex), its place in the chain (seq, from 1 without gaps), the time the store
recorded it (UTC, ISO 8601 with microseconds, never earlier than the record before it), the model artifact's id and
sha256, and the payload the engine handed over (inputs as de-identified, score, decision, attributions, reasons,
recourse, policy digests) as canonical JSON with its sha256. Each record's hash covers the previous record's hash, its
payload's digest and its own id, seq, time and model; `decision_head` holds the last seq and hash. So a record altered,
removed from anywhere in the chain, moved or inserted is found by `verify`, which names it.

Retention (`purge`): a record older than the retention period loses its payload; a tombstone keeps its digest, so the
chain still verifies, with an HMAC signature over (id, seq, payload digest, purge time) under a key of the
installation's own, so a payload removed by anyone else, or a forged tombstone, does not.

Acknowledged means durable: `append` returns after its transaction committed with full durability (SQLite: WAL with
synchronous=FULL, an fsync per commit; PostgreSQL: synchronous_commit on). Writers keep one chain by serializing on
its head: SQLite's BEGIN IMMEDIATE (one writer per file), PostgreSQL's row lock on the head (SELECT ... FOR UPDATE),
which every replica's append takes. Payloads are never logged, nor put in an error message.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import sqlite3
import threading
import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Sequence
from urllib.parse import urlsplit

from pipeline.local_secret import SECRETS_DIR, local_secret

FORMAT = "1"  # of the tables and of the hashes below; a store of another format is refused, not misread
GENESIS = "0" * 64  # the previous hash of record 1
KEY_ENV = "GLASSBOX_DECISIONS_KEY"  # the tombstones' HMAC key; else a key file under the output directory
KEY_FILE = SECRETS_DIR / "decisions.key"
DEFAULT_FILE = "decisions.sqlite"
POSTGRESQL_SCHEMES = ("postgresql", "postgres")
BUSY_TIMEOUT_S = 60  # how long a SQLite writer waits for another to commit
PAGE = 500  # records read per query by `records`

# One statement each; the same text on SQLite and PostgreSQL. Times are text (fixed-width ISO 8601 in UTC, so they
# sort as they compare): the hash covers the exact string, which no database type conversion may change.
SCHEMA = (
    "CREATE TABLE decision_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE decision_head (one INTEGER PRIMARY KEY CHECK (one = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL, "
    "time TEXT NOT NULL)",
    "CREATE TABLE decisions (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, "
    "model_id BIGINT NOT NULL, model_sha256 TEXT NOT NULL, payload TEXT, payload_sha256 TEXT NOT NULL, "
    "prev_hash TEXT NOT NULL, hash TEXT NOT NULL, purged_at TEXT, tombstone TEXT)",
    "CREATE INDEX decisions_by_time ON decisions (time)",
    "CREATE INDEX decisions_by_model ON decisions (model_id, time)",
    f"INSERT INTO decision_store (key, value) VALUES ('format', '{FORMAT}')",
    f"INSERT INTO decision_head (one, seq, hash, time) VALUES (1, 0, '{GENESIS}', '')",
)
TABLES = ("decision_store", "decision_head", "decisions", "alerts", "outcome_chain", "outcomes")
CHAIN_COLUMNS = "seq, id, time, model_id, payload, payload_sha256, prev_hash, hash"


@dataclass(frozen=True)
class Chain:
    """A hash chain beside the decisions', in the same store, made with its first record (a store of format 1 made
    before it existed gains it then, unchanged otherwise): its table, its head (an entry of decision_store,
    "seq:hash", written in each append's transaction, so a truncated chain shows), the domain its hashes are in (no
    hash of one chain equals another's), and what its records are called."""

    table: str
    head_key: str
    domain: str
    noun: str

    @property
    def schema(self) -> str:
        return (f"CREATE TABLE IF NOT EXISTS {self.table} (seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, "
                "time TEXT NOT NULL, model_id BIGINT NOT NULL, payload TEXT NOT NULL, payload_sha256 TEXT NOT NULL, "
                "prev_hash TEXT NOT NULL, hash TEXT NOT NULL)")


# Monitoring alerts (README "Live monitoring"), each with a fresh id.
ALERTS = Chain("alerts", "alerts_head", "glassbox-alert", "alert")
# Outcomes (labels that arrive after the decision), one per decision and never replaced: the record's id is the
# decision's, its payload {decision_id, label, decision_hash}. Stores that kept outcomes in the unchained `outcomes`
# table (decision_id, label, time) have them moved onto the chain, in their order and with their times, when opened.
OUTCOMES = Chain("outcome_chain", "outcomes_head", "glassbox-outcome", "outcome")


class OutcomeError(ValueError):
    """An outcome the record does not take: an unknown decision (`unknown`), or one already labelled."""

    def __init__(self, message: str, unknown: bool = False):
        super().__init__(message)
        self.unknown = unknown
COLUMNS = "seq, id, time, model_id, model_sha256, payload, payload_sha256, prev_hash, hash, purged_at, tombstone"


class DecisionStoreError(RuntimeError):
    """The decision store cannot be opened or used: a bad location, a server out of reach, not a decision store. One
    sentence, naming the store (never its password)."""


class ChainError(RuntimeError):
    """The chain is broken where an operation needs it intact (purge will not sign a tombstone for an altered
    record); `glassbox decisions verify` lists every problem."""


@dataclass(frozen=True)
class Record:
    """One decision as recorded. `payload` is None once the record was purged (`purged_at`, `tombstone` say when and
    vouch for it)."""

    seq: int
    id: str
    time: str
    model_id: int
    model_sha256: str
    payload: dict | None
    payload_sha256: str
    prev_hash: str
    hash: str
    purged_at: str | None = None
    tombstone: str | None = None

    @property
    def purged(self) -> bool:
        return self.purged_at is not None

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in COLUMNS.split(", ")}


@dataclass(frozen=True)
class Problem:
    """Something `verify` found: the record it concerns (seq, and id where that record is there) and what is wrong."""

    seq: int | None
    id: str | None
    what: str

    def __str__(self) -> str:
        if self.seq is None:
            return self.what
        return f"record {self.seq}{f' ({self.id})' if self.id else ''}: {self.what}"


@dataclass(frozen=True)
class DecisionCounts:
    """A model's decisions in the record: how many per UTC day, and the first and last one's time."""

    model_id: int
    by_day: tuple[tuple[str, int], ...]  # ("2025-01-31", 17), ... in date order
    first: str | None
    last: str | None

    @property
    def total(self) -> int:
        return sum(count for _, count in self.by_day)


def canonical_json(payload: dict) -> str:
    """Sorted keys, no spaces, UTF-8 as is, and nothing JSON cannot say exactly (NaN, or a value that is not a JSON
    type, such as a NumPy float: the engine hands over plain Python values)."""
    try:
        return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"a decision payload must be plain JSON: {error}") from None


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record_hash(prev_hash: str, payload_sha256: str, id: str, seq: int, time: str, model_id: int,
                model_sha256: str) -> str:
    """sha256 of the record's fields after the previous record's hash, as a JSON array (unambiguous whatever a field
    holds). The payload enters by its digest alone, so a tombstone that keeps the digest keeps the hash."""
    return sha256_hex(json.dumps([f"glassbox-decision/{FORMAT}", prev_hash, payload_sha256, id, seq, time, model_id,
                                  model_sha256], separators=(",", ":")))


def chain_hash(chain: Chain, prev_hash: str, payload_sha256: str, id: str, seq: int, time: str, model_id: int) -> str:
    """A chained record's hash, as `record_hash` but in `chain`'s own domain."""
    return sha256_hex(json.dumps([f"{chain.domain}/{FORMAT}", prev_hash, payload_sha256, id, seq, time, model_id],
                                 separators=(",", ":")))


@dataclass(frozen=True)
class ChainRecord:
    """A record of a chain beside the decisions' (an alert, an outcome): its place in the chain, time, model and
    payload."""

    seq: int
    id: str
    time: str
    model_id: int
    payload: dict
    payload_sha256: str
    prev_hash: str
    hash: str

    def to_json(self) -> dict:
        return {name: getattr(self, name) for name in CHAIN_COLUMNS.split(", ")}


def _outcome_entry(decision: Record, label: int) -> tuple[str, dict, int]:
    """An outcome as the outcome chain records it: under the decision's id, bound to the decision's hash."""
    return decision.id, {"decision_id": decision.id, "label": label, "decision_hash": decision.hash}, decision.model_id


def tombstone_signature(key: bytes, id: str, seq: int, payload_sha256: str, purged_at: str) -> str:
    message = json.dumps([f"glassbox-tombstone/{FORMAT}", id, seq, payload_sha256, purged_at], separators=(",", ":"))
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).hexdigest()


def utc_iso(moment: datetime) -> str:
    """A time as the store writes it: UTC, microseconds, fixed width (2025-01-31T09:30:00.000000+00:00)."""
    if moment.tzinfo is None:
        raise ValueError("a time given to the decision store must carry its time zone (datetime.now(timezone.utc))")
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _now() -> str:
    return utc_iso(datetime.now(timezone.utc))


def decisions_key(output_dir: Path, create: bool = True) -> bytes | None:
    """The tombstones' HMAC key: $GLASSBOX_DECISIONS_KEY, else <output_dir>/secrets/decisions.key, made on first use
    when `create` (purging makes it; verifying never does). Replicas sharing a PostgreSQL record share the variable."""
    secret = os.environ.get(KEY_ENV) or local_secret(Path(output_dir) / KEY_FILE, create=create)
    return secret.encode("utf-8") if secret else None


_RETENTION = re.compile(r"^\s*(\d+)\s*([dwmy])\s*$")


def retention_cutoff(older_than: str, now: datetime | None = None) -> datetime:
    """The moment before which records are older than `older_than`: a count and a unit, d(ays), w(eeks), m(onths) or
    y(ears); months and years are calendar ones (25m: the same day 25 months ago, Regulation B's retention period),
    so no record is purged a day early in a month of 31 days."""
    match = _RETENTION.match(older_than)
    if not match:
        raise ValueError(f"--older-than {older_than!r}: give a count and a unit, d, w, m (months) or y, e.g. 25m")
    count, unit = int(match.group(1)), match.group(2)
    now = now or datetime.now(timezone.utc)
    if unit in "dw":
        return now - timedelta(days=count * (7 if unit == "w" else 1))
    years, months = divmod(now.month - 1 - count * (12 if unit == "y" else 1), 12)
    year, month = now.year + years, months + 1
    return now.replace(year=year, month=month, day=min(now.day, monthrange(year, month)[1]))


def is_url(location: str) -> bool:
    return "://" in str(location)


def describe_location(location: str | Path) -> str:
    """A store's location to print: a path as is, a URL without its password or query (which may hold one)."""
    if not is_url(location):
        return str(location)
    try:
        parts = urlsplit(str(location))
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return f"{str(location).split('://')[0]}://(unreadable URL)"
    user = f"{parts.username}@" if parts.username else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


def open_store(location: str | Path, create: bool = False, password: str | None = None) -> DecisionStore:
    """The decision store at `location`: a SQLite file's path or a postgresql:// URL. `create` makes it when absent
    (the service does; reading commands do not). `password`: the server's, when the URL holds none (libpq's
    PGPASSWORD and ~/.pgpass work as well)."""
    if is_url(location):
        scheme = str(location).split("://")[0].lower()
        if scheme not in POSTGRESQL_SCHEMES:
            raise DecisionStoreError(f"The decision store {describe_location(location)} is neither a file path nor a "
                                     f"postgresql:// URL.")
        return PostgresStore(str(location), create, password)
    return SQLiteStore(Path(location), create)


def _prepare(payload: dict, index: int) -> tuple[str, str, int, str]:
    """(canonical text, its digest, model artifact id, model sha256) of one payload to append."""
    if not isinstance(payload, dict):
        raise ValueError(f"decision payload {index} is a {type(payload).__name__}, not a mapping")
    model = payload.get("model")
    artifact_id = model.get("artifact_id") if isinstance(model, dict) else None
    digest = model.get("sha256") if isinstance(model, dict) else None
    if not isinstance(artifact_id, int) or isinstance(artifact_id, bool) or not isinstance(digest, str) or not digest:
        raise ValueError(f"decision payload {index} needs model.artifact_id (an integer) and model.sha256 (a string)")
    text = canonical_json(payload)
    return text, sha256_hex(text), artifact_id, digest


class DecisionStore:
    """The record's operations, on either database; subclasses connect and say how a transaction begins. One
    connection per store object, used by one thread at a time (a lock): the database serializes writers anyway."""

    description: str
    _placeholder = "?"

    def __init__(self) -> None:
        self._lock = threading.Lock()

    # -- what each database does its own way ------------------------------------------------------------------------

    def _transaction(self, write: bool):  # a context manager yielding a cursor
        raise NotImplementedError

    def _stream(self, cursor, sql: str, args: Sequence) -> Iterator[tuple]:
        """Rows of a query read as they are used, not all at once."""
        yield from cursor.execute(self._sql(sql), args)

    _head_for_update = "SELECT seq, hash, time FROM decision_head WHERE one = 1"

    # -- the record ---------------------------------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        return sql if self._placeholder == "?" else sql.replace("?", self._placeholder)

    def _init_schema(self, cursor, tables: set[str], create: bool, other_tables: bool) -> None:
        if "decision_store" in tables:
            row = cursor.execute(self._sql("SELECT value FROM decision_store WHERE key = ?"), ("format",)).fetchone()
            if row is None or row[0] != FORMAT:
                raise DecisionStoreError(f"{self.description} holds a decision store of format "
                                         f"{row[0] if row else 'unknown'}; this Glassbox reads format {FORMAT}.")
            if "outcomes" in tables:
                self._chain_unchained_outcomes(cursor)
            return
        if other_tables or tables & set(TABLES):
            raise DecisionStoreError(f"{self.description} is not a decision store (it holds other tables).")
        if not create:
            raise DecisionStoreError(f"No decision store in {self.description} (the service makes it with its first "
                                     f"decision; pass the --config/--output it uses).")
        for statement in SCHEMA:
            cursor.execute(statement)

    def _chain_unchained_outcomes(self, cursor) -> None:
        """Moves the outcomes of the earlier, unchained `outcomes` table onto the outcome chain, in the order and
        with the times they were recorded, and drops the table (inside the opening transaction)."""
        if self._chain_lock:
            cursor.execute(self._chain_lock)
        decision = ", ".join(f"d.{column}" for column in COLUMNS.split(", "))
        rows = cursor.execute(f"SELECT o.label, o.time, {decision} FROM outcomes o JOIN decisions d "
                              "ON d.id = o.decision_id ORDER BY o.time, o.decision_id").fetchall()
        by_time: dict[str, list] = {}
        for label, time, *decision in rows:
            by_time.setdefault(time, []).append(_outcome_entry(self._record(tuple(decision)), int(label)))
        for time, entries in by_time.items():
            self._chain_append(cursor, OUTCOMES, entries, time=time)
        cursor.execute("DROP TABLE outcomes")

    def append(self, payloads: Iterable[dict]) -> List[Record]:
        """Records the decisions in one transaction, at the chain's end, and returns them as recorded (ids, seqs and
        time assigned) once the transaction is durably committed: all of them, or none."""
        prepared = [_prepare(payload, index) for index, payload in enumerate(payloads)]
        if not prepared:
            return []
        with self._transaction(write=True) as cursor:
            seq, prev_hash, head_time = cursor.execute(self._head_for_update).fetchone()
            time = max(_now(), head_time)  # never before the record it follows: windows by time are chain ranges
            records = []
            for text, payload_sha256, model_id, model_sha256 in prepared:
                seq += 1
                record_id = uuid.uuid4().hex
                digest = record_hash(prev_hash, payload_sha256, record_id, seq, time, model_id, model_sha256)
                records.append(Record(seq, record_id, time, model_id, model_sha256, json.loads(text), payload_sha256,
                                      prev_hash, digest))
                prev_hash = digest
            cursor.executemany(
                self._sql(f"INSERT INTO decisions ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)"),
                [(r.seq, r.id, r.time, r.model_id, r.model_sha256, text, r.payload_sha256, r.prev_hash, r.hash)
                 for r, (text, *_) in zip(records, prepared)])
            cursor.execute(self._sql("UPDATE decision_head SET seq = ?, hash = ?, time = ? WHERE one = 1"),
                           (seq, prev_hash, time))
        return records

    @staticmethod
    def _record(row: tuple) -> Record:
        seq, id, time, model_id, model_sha256, payload, *rest = row
        return Record(int(seq), id, time, int(model_id), model_sha256, None if payload is None else json.loads(payload),
                      *rest)

    def get(self, id: str) -> Record | None:
        with self._transaction(write=False) as cursor:
            row = cursor.execute(self._sql(f"SELECT {COLUMNS} FROM decisions WHERE id = ?"), (id,)).fetchone()
        return None if row is None else self._record(row)

    def head(self) -> tuple[int, str]:
        """(the last record's seq, its hash); (0, GENESIS) when none was made."""
        with self._transaction(write=False) as cursor:
            seq, digest, _ = cursor.execute(self._sql("SELECT seq, hash, time FROM decision_head")).fetchone()
        return int(seq), digest

    def records(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[Record]:
        """The records made at or after `since` and before `until` (aware datetimes), in chain order, read a page at
        a time (appends meanwhile are seen if they fall in the window)."""
        bounds = [("time >= ?", utc_iso(since)) if since else None, ("time < ?", utc_iso(until)) if until else None]
        where = "".join(f" AND {clause}" for clause, _ in filter(None, bounds))
        args = tuple(value for _, value in filter(None, bounds))
        after = 0
        while True:
            with self._transaction(write=False) as cursor:
                rows = cursor.execute(self._sql(f"SELECT {COLUMNS} FROM decisions WHERE seq > ?{where} ORDER BY seq "
                                                f"LIMIT {PAGE}"), (after, *args)).fetchall()
            yield from map(self._record, rows)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def recent(self, model_id: int, limit: int) -> List[Record]:
        """Model `model_id`'s last `limit` records, in chain order: what a live window is rebuilt from."""
        with self._transaction(write=False) as cursor:
            rows = cursor.execute(self._sql(f"SELECT {COLUMNS} FROM decisions WHERE model_id = ? ORDER BY seq DESC "
                                            f"LIMIT {int(limit)}"), (model_id,)).fetchall()
        return [self._record(row) for row in reversed(rows)]

    # -- monitoring alerts ------------------------------------------------------------------------------------------

    _chain_lock: str | None = None  # PostgreSQL: one writer of the alert and outcome chains at a time (SQLite: BEGIN
    # IMMEDIATE does it)

    def _has_table(self, cursor, name: str) -> bool:
        raise NotImplementedError

    def _chain_append(self, cursor, chain: Chain, entries: Sequence[tuple[str, dict, int]],
                      time: str | None = None) -> List[ChainRecord]:
        """Appends (id, payload, model id) entries at `chain`'s end inside the caller's write transaction, at `time`
        (default: now, never before the chain's last record)."""
        cursor.execute(chain.schema)
        row = cursor.execute(self._sql("SELECT value FROM decision_store WHERE key = ?"), (chain.head_key,)).fetchone()
        seq, prev_hash = (int(row[0].split(":")[0]), row[0].split(":")[1]) if row else (0, GENESIS)
        if time is None:
            time = max(_now(), cursor.execute(f"SELECT MAX(time) FROM {chain.table}").fetchone()[0] or "")
        records, rows = [], []
        for id, payload, model_id in entries:
            text = canonical_json(payload)
            seq += 1
            payload_sha256 = sha256_hex(text)
            digest = chain_hash(chain, prev_hash, payload_sha256, id, seq, time, model_id)
            records.append(ChainRecord(seq, id, time, model_id, json.loads(text), payload_sha256, prev_hash, digest))
            rows.append((seq, id, time, model_id, text, payload_sha256, prev_hash, digest))
            prev_hash = digest
        cursor.executemany(self._sql(f"INSERT INTO {chain.table} ({CHAIN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                           rows)
        head = f"{seq}:{prev_hash}"
        if row:
            cursor.execute(self._sql("UPDATE decision_store SET value = ? WHERE key = ?"), (head, chain.head_key))
        else:
            cursor.execute(self._sql("INSERT INTO decision_store (key, value) VALUES (?, ?)"), (chain.head_key, head))
        return records

    def append_alerts(self, payloads: Iterable[dict]) -> List[ChainRecord]:
        """Records monitoring alerts at the alert chain's end, in one durable transaction."""
        entries = []
        for index, payload in enumerate(payloads):
            model_id = (payload.get("model") or {}).get("artifact_id") if isinstance(payload, dict) else None
            if not isinstance(model_id, int) or isinstance(model_id, bool):
                raise ValueError(f"alert payload {index} needs model.artifact_id (an integer)")
            entries.append((uuid.uuid4().hex, payload, model_id))
        if not entries:
            return []
        with self._transaction(write=True) as cursor:
            if self._chain_lock:
                cursor.execute(self._chain_lock)
            return self._chain_append(cursor, ALERTS, entries)

    def _chain_records(self, chain: Chain, where: str = "", args: Sequence = ()) -> List[ChainRecord]:
        with self._transaction(write=False) as cursor:
            if not self._has_table(cursor, chain.table):
                return []
            rows = cursor.execute(self._sql(f"SELECT {CHAIN_COLUMNS} FROM {chain.table} {where}ORDER BY seq"),
                                  tuple(args)).fetchall()
        return [ChainRecord(int(seq), id, time, int(mid), json.loads(payload), *rest)
                for seq, id, time, mid, payload, *rest in rows]

    def alerts(self, model_id: int | None = None) -> List[ChainRecord]:
        """The alert records (of one model), in chain order."""
        return self._chain_records(ALERTS, *(("WHERE model_id = ? ", (model_id,)) if model_id is not None else ()))

    def record_outcomes(self, outcomes: Sequence[tuple[str, int]]) -> List[tuple[Record, int]]:
        """Records each (decision id, 0/1 label) on the outcome chain in one transaction, all or none: OutcomeError
        names an unknown decision or one already labelled. Returns the decisions with their labels."""
        found, entries = [], []
        with self._transaction(write=True) as cursor:
            if self._chain_lock:
                cursor.execute(self._chain_lock)
            cursor.execute(OUTCOMES.schema)
            for decision_id, label in outcomes:
                row = cursor.execute(self._sql(f"SELECT {COLUMNS} FROM decisions WHERE id = ?"),
                                     (decision_id,)).fetchone()
                if row is None:
                    raise OutcomeError(f"No decision {decision_id[:64]} in the decision record.", unknown=True)
                if decision_id in {e[0] for e in entries} or cursor.execute(
                        self._sql(f"SELECT 1 FROM {OUTCOMES.table} WHERE id = ?"), (decision_id,)).fetchone():
                    raise OutcomeError(f"Decision {decision_id} already has its outcome; an outcome is never replaced.")
                record = self._record(row)
                entries.append(_outcome_entry(record, int(label)))
                found.append((record, int(label)))
            self._chain_append(cursor, OUTCOMES, entries)
        return found

    def outcomes(self, decision_ids: Sequence[str]) -> dict[str, int]:
        """{decision id: label} of those of `decision_ids` that have an outcome."""
        out: dict[str, int] = {}
        with self._transaction(write=False) as cursor:
            if not self._has_table(cursor, OUTCOMES.table):
                return out
            ids = list(decision_ids)
            for start in range(0, len(ids), PAGE):
                chunk = ids[start:start + PAGE]
                marks = ", ".join("?" for _ in chunk)
                for decision_id, payload in cursor.execute(self._sql(
                        f"SELECT id, payload FROM {OUTCOMES.table} WHERE id IN ({marks})"), chunk).fetchall():
                    out[decision_id] = int(json.loads(payload)["label"])
        return out

    def failing_checks(self, model_id: int) -> List[str]:
        """The checks whose last alert record for the model says they crossed (status fail) and have not come back."""
        last: dict[str, str] = {}
        for alert in self.alerts(model_id):
            last[alert.payload.get("check")] = alert.payload.get("status")
        return sorted(check for check, status in last.items() if status == "fail")

    def verify_chain(self, chain: Chain) -> tuple[int, List[Problem]]:
        """(how many records `chain` holds, every problem with it): altered, missing, moved, inserted, truncated."""
        problems: List[Problem] = []
        noun = chain.noun
        with self._transaction(write=False) as cursor:
            row = cursor.execute(self._sql("SELECT value FROM decision_store WHERE key = ?"),
                                 (chain.head_key,)).fetchone()
            rows = (cursor.execute(f"SELECT {CHAIN_COLUMNS} FROM {chain.table} ORDER BY seq").fetchall()
                    if self._has_table(cursor, chain.table) else [])
        head_seq, head_hash = (int(row[0].split(":")[0]), row[0].split(":")[1]) if row else (0, GENESIS)
        expected, prev_hash = 1, GENESIS
        for seq, id, time, model_id, payload, payload_sha256, link, digest in rows:
            seq = int(seq)
            where = f"{noun} {seq} ({id})"
            if seq != expected:
                problems.append(Problem(None, None, f"{where}: follows {noun} {expected - 1}: {noun}s missing, moved "
                                                    "or inserted"))
            elif link != prev_hash:
                problems.append(Problem(None, None, f"{where}: does not link to {noun} {seq - 1}: altered, moved or "
                                                    "inserted"))
            if sha256_hex(payload) != payload_sha256:
                problems.append(Problem(None, None, f"{where}: its payload does not match its digest: altered"))
            if chain_hash(chain, link, payload_sha256, id, seq, time, int(model_id)) != digest:
                problems.append(Problem(None, None, f"{where}: its fields do not match its hash: altered"))
            expected, prev_hash = seq + 1, digest
        if expected - 1 != head_seq or prev_hash != head_hash:
            problems.append(Problem(None, None, f"the {noun} chain's head is {noun} {head_seq}, the last {noun} in "
                                                f"the store is {expected - 1 or 'none'}: {noun}s deleted or altered"))
        return len(rows), problems

    def counts_by_day(self, model_id: int) -> DecisionCounts:
        """How many decisions `model_id` made per UTC day, and the first and last one's time (purged ones count)."""
        with self._transaction(write=False) as cursor:
            rows = cursor.execute(self._sql(
                "SELECT substr(time, 1, 10), COUNT(*), MIN(time), MAX(time) FROM decisions WHERE model_id = ? "
                "GROUP BY substr(time, 1, 10) ORDER BY substr(time, 1, 10)"), (model_id,)).fetchall()
        return DecisionCounts(model_id, tuple((day, int(count)) for day, count, _, _ in rows),
                              rows[0][2] if rows else None, rows[-1][3] if rows else None)

    def verify(self, model_digests: Callable[[int], str | None] | None = None,
               key: bytes | None = None) -> List[Problem]:
        """Every problem with the chain, in chain order: a record whose payload, fields or hash were altered, records
        missing (deleted) from anywhere, a record that does not link to the one before it (moved or inserted), a
        tombstone not signed with `key`. With `model_digests` (artifact id -> its sha256 in ML Metadata, None when
        unknown there), each model whose recorded digest differs from ML Metadata's is named with its records."""
        problems: List[Problem] = []
        unsigned, mismatched = [], {}
        known: dict[int, str | None] = {}
        with self._transaction(write=False) as cursor:
            head_seq, head_hash, _ = cursor.execute(self._sql("SELECT seq, hash, time FROM decision_head")).fetchone()
            expected, prev_hash, last = 1, GENESIS, None
            for row in self._stream(cursor, f"SELECT {COLUMNS} FROM decisions ORDER BY seq", ()):
                seq, id, time, model_id, model_sha256, payload, payload_sha256, link, digest, purged_at, tomb = row
                seq = int(seq)

                def problem(what: str, seq=seq, id=id) -> None:
                    problems.append(Problem(seq, id, what))

                if seq > head_seq:
                    problem("after the chain's head: inserted outside the store")
                if seq < expected:
                    problem("numbered before the chain's first record: altered")
                elif seq > expected:
                    more = f", and so is every record up to {seq - 1}" if seq > expected + 1 else ""
                    problem(f"missing (deleted){more}: record {seq} ({id}) follows record {expected - 1}",
                            seq=expected, id=None)
                elif link != prev_hash:
                    problem(f"does not link to record {seq - 1} (its previous-record hash differs): a record was "
                            f"altered, moved or inserted here")
                if record_hash(link, payload_sha256, id, seq, time, int(model_id), model_sha256) != digest:
                    problem("its fields do not match its hash: altered, or moved from elsewhere in the chain")
                if payload is not None:
                    problems.extend(self._payload_problems(seq, id, payload, payload_sha256, model_id, model_sha256))
                elif purged_at is None or tomb is None:
                    problem("its payload was removed without a tombstone")
                elif key is None:
                    unsigned.append(seq)
                elif not hmac.compare_digest(tombstone_signature(key, id, seq, payload_sha256, purged_at), tomb):
                    problem("its tombstone's signature does not match: forged or altered")
                if model_digests is not None:
                    if int(model_id) not in known:
                        known[int(model_id)] = model_digests(int(model_id))
                    if known[int(model_id)] not in (None, model_sha256):
                        mismatched.setdefault(int(model_id), []).append((seq, id))
                expected, prev_hash, last = seq + 1, digest, seq
        if (last or 0) < head_seq:
            first_missing = (last or 0) + 1
            problems.append(Problem(first_missing, None, f"missing (deleted): the chain's head is record {head_seq}, "
                                                         f"the last record in the store is {last or 'none'}"))
        elif last == head_seq and prev_hash != head_hash:
            problems.append(Problem(last, None, "the chain's head does not match the last record's hash: altered"))
        if unsigned:
            problems.append(Problem(None, None, f"{len(unsigned)} tombstone(s) not checked (records {unsigned[0]}.."
                                                f"{unsigned[-1]}): no key (${KEY_ENV} or {KEY_FILE})"))
        for model_id, records in mismatched.items():
            (seq, id), count = records[0], len(records)
            problems.append(Problem(seq, id, f"model artifact {model_id}'s sha256 in ML Metadata "
                                             f"({known[model_id][:12]}...) is not the one {count} decision(s) recorded "
                                             f"(records {seq}..{records[-1][0]}): the model changed after deciding, or "
                                             f"the record names another"))
        return problems

    @staticmethod
    def _payload_problems(seq, id, payload, payload_sha256, model_id, model_sha256) -> List[Problem]:
        if sha256_hex(payload) != payload_sha256:
            return [Problem(seq, id, "its payload does not match its digest: altered")]
        model = json.loads(payload).get("model") or {}
        if model.get("artifact_id") != int(model_id) or model.get("sha256") != model_sha256:
            return [Problem(seq, id, "its model columns differ from its payload's model: altered")]
        return []

    def purge(self, before: datetime, key: bytes) -> int:
        """Replaces the payload of every record made before `before` by a tombstone signed with `key`; returns how many.
        A page of records per transaction, so that appends go on meanwhile. Stops (ChainError) at a record that does
        not match its digest or hash, purging nothing from its page on: a tombstone would vouch for the alteration."""
        cutoff, purged_at = utc_iso(before), _now()
        purged, after = 0, 0
        while True:
            with self._transaction(write=True) as cursor:
                rows = cursor.execute(self._sql(f"SELECT {COLUMNS} FROM decisions WHERE seq > ? AND time < ? AND "
                                                f"purged_at IS NULL ORDER BY seq LIMIT {PAGE}"),
                                      (after, cutoff)).fetchall()
                for seq, id, time, model_id, model_sha256, payload, payload_sha256, link, digest, _, _ in rows:
                    if (payload is None
                            or self._payload_problems(seq, id, payload, payload_sha256, model_id, model_sha256)
                            or record_hash(link, payload_sha256, id, int(seq), time, int(model_id), model_sha256)
                            != digest):
                        raise ChainError(f"Record {seq} ({id}) was altered: the purge stopped there, {purged} "
                                         f"decision(s) purged. Run `glassbox decisions verify` for every problem.")
                cursor.executemany(
                    self._sql("UPDATE decisions SET payload = NULL, purged_at = ?, tombstone = ? WHERE seq = ?"),
                    [(purged_at, tombstone_signature(key, row[1], int(row[0]), row[6], purged_at), row[0])
                     for row in rows])
            purged += len(rows)
            if len(rows) < PAGE:
                return purged
            after = rows[-1][0]

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> DecisionStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SQLiteStore(DecisionStore):
    """A SQLite file: WAL with synchronous=FULL, so a commit is on disk when `append` returns; writers in any thread or
    process take turns through BEGIN IMMEDIATE (waiting up to BUSY_TIMEOUT_S)."""

    def __init__(self, path: Path, create: bool):
        super().__init__()
        self.description = str(path)
        if path.is_dir():
            raise DecisionStoreError(f"The decision store {path} is a directory, not a SQLite file.")
        if not path.exists():
            if not create:
                raise DecisionStoreError(f"No decision store at {path} (the service makes it with its first decision; "
                                         f"pass the --config/--output it uses).")
            path.parent.mkdir(parents=True, exist_ok=True)
        # No look at the file's header with open(): closing any descriptor of a file drops every POSIX lock this
        # process holds on it, those of another store object's connection too (the service keeps a writer and a
        # reader), and another process closing its connection would then take the WAL for unused, checkpoint it and
        # delete it under the writer, whose later commits would go to an unlinked file. SQLite says NOTADB itself.
        self._connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                           check_same_thread=False)
        try:
            # WAL: readers never block the writer. A file system without shared memory keeps the rollback journal,
            # durable as well with synchronous=FULL.
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")
            with self._transaction(write=True) as cursor:
                tables = {name for (name,) in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
                self._init_schema(cursor, tables, create, bool(tables - set(TABLES)))
        except sqlite3.Error as error:
            self._connection.close()
            if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB" or "file is not a database" in str(error):
                raise DecisionStoreError(f"{path} is not a decision store (not a SQLite database).") from None
            raise DecisionStoreError(f"The decision store {path} cannot be opened: {error}.") from None
        except BaseException:
            self._connection.close()
            raise

    @contextlib.contextmanager
    def _transaction(self, write: bool):
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield cursor
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def _has_table(self, cursor, name: str) -> bool:
        return cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() \
            is not None

    def close(self) -> None:
        self._connection.close()


class PostgresStore(DecisionStore):
    """A PostgreSQL database that several service replicas share: each append locks the chain's head row (SELECT ...
    FOR UPDATE) until it commits, with synchronous_commit on. The tables live in the connection's current schema."""

    _placeholder = "%s"
    _head_for_update = "SELECT seq, hash, time FROM decision_head WHERE one = 1 FOR UPDATE"
    _chain_lock = "SELECT pg_advisory_xact_lock(hashtext('glassbox alerts'))"  # the name kept: replicas share it

    def _has_table(self, cursor, name: str) -> bool:
        return cursor.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND "
                              "table_name = %s", (name,)).fetchone() is not None

    def __init__(self, url: str, create: bool, password: str | None):
        super().__init__()
        import psycopg
        from psycopg import conninfo

        self.description = describe_location(url)
        secrets = [s for s in (password, urlsplit(url).password if "@" in url else None) if s]
        self._redact = lambda text: _redacted(str(text), secrets)
        try:
            params = conninfo.conninfo_to_dict(url)
        except (psycopg.Error, ValueError) as error:
            raise DecisionStoreError(f"The decision store {self.description} is not a valid PostgreSQL URL: "
                                     f"{_first_line(self._redact(error))}.") from None
        secrets.extend([params["password"]] if params.get("password") else [])
        extra = {"password": password} if password and not params.get("password") else {}

        def connect():
            connection = psycopg.connect(url, autocommit=True, connect_timeout=10,
                                         application_name="glassbox-decisions", **extra)
            # Acknowledged means durable: a server, database or role configured with synchronous_commit off is
            # overruled for this session (local, remote_write, remote_apply are kept: each waits for the local WAL).
            if connection.execute("SHOW synchronous_commit").fetchone()[0] == "off":
                connection.execute("SET synchronous_commit TO on")
            return connection

        self._connect = connect
        try:
            self._connection = self._connect()
        except psycopg.Error as error:
            raise DecisionStoreError(f"The decision store {self.description} cannot be reached: "
                                     f"{_first_line(self._redact(error))}.") from None
        try:
            with self._transaction(write=True) as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('glassbox decision store'))")  # one creator
                tables = {name for (name,) in cursor.execute(
                    "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()")}
                self._init_schema(cursor, tables, create, other_tables=False)
        except psycopg.Error as error:
            self._connection.close()
            raise DecisionStoreError(f"The decision store {self.description} cannot be used: "
                                     f"{_first_line(self._redact(error))}.") from None
        except DecisionStoreError:
            self._connection.close()
            raise

    @contextlib.contextmanager
    def _transaction(self, write: bool):
        with self._lock:
            if self._connection.closed:  # the server went away and came back: a new session
                self._connection = self._connect()
            with self._connection.transaction():
                cursor = self._connection.cursor()
                if not write:  # one snapshot for everything read in the transaction
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cursor

    def _stream(self, cursor, sql: str, args: Sequence) -> Iterator[tuple]:
        with self._connection.cursor(name="glassbox_decisions_stream") as server_side:
            server_side.itersize = 2000
            yield from server_side.execute(self._sql(sql), args)

    def close(self) -> None:
        self._connection.close()


def _redacted(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _first_line(text) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else "unknown error"
    return line.rstrip(".")
