"""A window of the decision record as a span for the batch monitoring pipeline (`glassbox monitor --decisions`).

The decisions of one model made in [since, until) are written as gzipped TFRecords of the de-identified inputs the
model read (the record keeps nothing else of an applicant), each with its outcome as the label where one arrived
(POST /v1/outcomes). The monitoring pipeline then imports them as the span: no Privacy step (they were de-identified
when decided, with the training run's policy and key), no CSV. The directory is named by the decisions' first and
last record and a digest of their chain hashes and outcomes, so the same window makes the same span and a later
outcome a new one.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tensorflow_metadata.proto.v0 import schema_pb2

from pipeline.serving.store import PAGE

SPAN_FILE = "decisions.tfrecord.gz"
_AGO = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class EmptyWindowError(LookupError):
    """No decision of the model in the window: nothing to monitor."""


def moment(text: str, flag: str, now: datetime | None = None) -> datetime:
    """A time given on the command line: ISO 8601 (a date or a date and time; UTC unless it names its zone), or a
    count and a unit ago (m, h, d, w: 24h, 7d)."""
    match = _AGO.match(text)
    if match:
        return (now or datetime.now(timezone.utc)) - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{flag} {text!r}: give a time (2026-11-30, 2026-11-30T09:00:00+01:00; UTC unless a zone "
                         "is named) or how long ago (30m, 24h, 7d, 2w)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def label_values(schema: schema_pb2.Schema, label: str, positive: str) -> tuple:
    """(the value written for outcome 0, for outcome 1) in the label feature's type: 1 is the positive label the
    model predicts; 0 is another value of the schema's domain for it."""
    feature = next((f for f in schema.feature if f.name == label), None)
    if feature is None:
        raise ValueError(f"The schema has no label feature '{label}': outcomes cannot be written as labels.")
    if feature.type == schema_pb2.BYTES:
        domain = (feature.string_domain if feature.HasField("string_domain")
                  else next((d for d in schema.string_domain if d.name == feature.domain), None))
        others = [v for v in (domain.value if domain is not None else []) if v != positive]
        if len(others) != 1:
            raise ValueError(f"The label '{label}' is text and its schema domain does not name exactly one value "
                             f"besides '{positive}': an outcome of 0 has no value to be written as.")
        return others[0], positive
    cast = int if feature.type == schema_pb2.INT else float
    high = cast(positive)
    low = cast(0) if high != 0 else cast(1)
    if feature.HasField("int_domain") and feature.int_domain.HasField("min"):
        domain = feature.int_domain
        low = domain.min if domain.min != high else domain.max
    return low, high


def baseline_label_values(schema_dir: Path, label: str, positive: str) -> tuple:
    """`label_values` of the schema.pbtxt a SchemaGen (or ImportSchemaGen) wrote in `schema_dir`."""
    from components.schema_import.component import load_schema
    from components.schema_import.executor import SCHEMA_FILE

    return label_values(load_schema(Path(schema_dir) / SCHEMA_FILE), label, positive)


@dataclass(frozen=True)
class DecisionSpan:
    directory: Path
    decisions: int
    labelled: int
    purged: int
    first: str  # the first and last decision's record time
    last: str


def export_span(store, model_id: int, since: datetime | None, until: datetime | None, root: Path, label: str,
                values: tuple) -> DecisionSpan:
    """Writes model `model_id`'s decisions in [since, until) under `root`, an outcome as feature `label` with
    `values` (`label_values`: for 0, for 1). The record is read and written a page at a time, so a window of any
    length takes the memory of one page."""
    import tensorflow as tf

    from components.privacy.examples import row_to_example

    negative, positive = values
    model = Path(root) / f"model-{model_id}"
    model.mkdir(parents=True, exist_ok=True)
    partial = model / f".{uuid.uuid4().hex}.partial"
    # named by what was decided and learnt since: each record's chain hash (its payload's digest in it) and outcome
    digest, first, last, decisions, labelled, purged = hashlib.sha256(), None, None, 0, 0, 0
    records = (r for r in store.records(since, until) if r.model_id == model_id)
    try:
        with tf.io.TFRecordWriter(str(partial), options=tf.io.TFRecordOptions(compression_type="GZIP")) as out:
            while page := list(itertools.islice(records, PAGE)):
                kept = [r for r in page if r.payload is not None]
                purged += len(page) - len(kept)
                outcomes = store.outcomes([r.id for r in kept])
                for r in kept:
                    known = {label: positive if outcomes[r.id] else negative} if r.id in outcomes else {}
                    out.write(row_to_example({**r.payload["inputs"], **known}))
                    digest.update(f"{r.hash} {outcomes.get(r.id, '')}\n".encode())
                first, last = first or (kept[0] if kept else None), kept[-1] if kept else last
                decisions, labelled = decisions + len(kept), labelled + len(outcomes)
        if not decisions:
            window = "".join(filter(None, [since and f" since {since.isoformat()}",
                                           until and f" before {until.isoformat()}"]))
            raise EmptyWindowError(f"The decision record holds no decision of model {model_id}{window}"
                                   + (f" ({purged} purged)" if purged else "") + ": nothing to monitor.")
        directory = model / f"{first.seq}-{last.seq}-{digest.hexdigest()[:16]}"
        if not (directory / SPAN_FILE).exists():
            directory.mkdir(exist_ok=True)
            os.replace(partial, directory / SPAN_FILE)
    finally:
        partial.unlink(missing_ok=True)
    return DecisionSpan(directory=directory, decisions=decisions, labelled=labelled, purged=purged, first=first.time,
                        last=last.time)
