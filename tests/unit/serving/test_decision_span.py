"""A window of the decision record as the batch monitor's span: the decisions of one model in [since, until), their
de-identified inputs as tf.Examples, an outcome as the label in the schema's type; purged decisions left out, an empty
window refused naming it, the same window the same directory."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import tensorflow as tf
from tensorflow_metadata.proto.v0 import schema_pb2

from components.privacy.examples import example_to_row
from components.schema_import.component import load_schema
from pipeline.config import REPO_ROOT
from pipeline.serving.decision_span import (
    SPAN_FILE,
    EmptyWindowError,
    baseline_label_values,
    export_span,
    label_values,
    moment,
)
from pipeline.serving.store import open_store
from tests.unit.serving.test_store import KEY, decision

SCHEMA = load_schema(REPO_ROOT / "schemas" / "german_credit" / "schema.pbtxt")
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def test_times_are_iso_8601_or_a_count_and_unit_ago():
    assert moment("2026-11-30", "--since") == datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert moment("2026-11-30T09:00:00+01:00", "--since") == datetime(2026, 11, 30, 8, tzinfo=timezone.utc)
    assert moment("24h", "--since", now=NOW) == NOW - timedelta(hours=24)
    assert moment(" 2w ", "--until", now=NOW) == NOW - timedelta(weeks=2)
    assert moment("30m", "--since", now=NOW) == NOW - timedelta(minutes=30)
    with pytest.raises(ValueError, match=r"^--since 'yesterday': give a time \(2026-11-30"):
        moment("yesterday", "--since")


def test_an_outcome_is_written_as_the_label_the_model_learnt():
    assert label_values(SCHEMA, "risk", "1") == (0, 1)  # INT, domain 0..1
    text = type(SCHEMA)()
    text.CopyFrom(SCHEMA)
    feature = next(f for f in text.feature if f.name == "risk")
    feature.ClearField("int_domain")
    feature.type = schema_pb2.BYTES
    feature.string_domain.value.extend(["good", "bad"])
    assert label_values(text, "risk", "good") == ("bad", "good")
    feature.string_domain.value.append("unknown")
    with pytest.raises(ValueError, match="does not name exactly one value besides 'good'"):
        label_values(text, "risk", "good")
    with pytest.raises(ValueError, match="^The schema has no label feature 'outcome'"):
        label_values(SCHEMA, "outcome", "1")
    # What `glassbox monitor --decisions` reads: the baseline's schema artifact directory.
    assert baseline_label_values(REPO_ROOT / "schemas" / "german_credit", "risk", "1") == (0, 1)


def _rows(directory) -> list[dict]:
    dataset = tf.data.TFRecordDataset(str(directory / SPAN_FILE), compression_type="GZIP")
    return [example_to_row(record.numpy()) for record in dataset]


def test_the_window_of_one_model_with_its_outcomes_and_without_purged_decisions(tmp_path):
    with open_store(tmp_path / "decisions.sqlite", create=True) as store:
        early = store.append([decision(i) for i in range(3)])
        cutoff = datetime.fromisoformat(early[-1].time) + timedelta(microseconds=1)
        store.purge(cutoff, KEY)  # the first three are tombstones now
        later = store.append([decision(i) for i in range(3, 6)])  # two batches, two record times
        later += store.append([decision(i) for i in range(6, 8)] + [decision(8, model_id=9)])
        store.record_outcomes([(later[0].id, 1), (later[2].id, 0)])

        span = export_span(store, 7, None, None, tmp_path / "spans", "risk", (0, 1))
        assert (span.decisions, span.labelled, span.purged) == (5, 2, 3)
        assert (span.first, span.last) == (later[0].time, later[4].time)
        rows = _rows(span.directory)
        assert [r["duration"] for r in rows] == [24 + i for i in range(3, 8)]  # model 9's decision is not there
        assert [r.get("risk") for r in rows] == [1, None, 0, None, None]
        assert rows[0]["purpose"] == "car" and rows[0]["applicant_id"] == "pseudonym-3"

        # the same window is the same span; a new outcome makes another
        assert export_span(store, 7, None, None, tmp_path / "spans", "risk", (0, 1)).directory == span.directory
        store.record_outcomes([(later[1].id, 1)])
        relabelled = export_span(store, 7, None, None, tmp_path / "spans", "risk", (0, 1))
        assert relabelled.directory != span.directory and relabelled.labelled == 3

        since = datetime.fromisoformat(later[3].time)
        assert export_span(store, 7, since, None, tmp_path / "spans", "risk", (0, 1)).decisions == 2
        with pytest.raises(EmptyWindowError, match=r"^The decision record holds no decision of model 7 before "
                                                   r".* \(3 purged\): nothing to monitor\.$"):
            export_span(store, 7, None, cutoff, tmp_path / "spans", "risk", (0, 1))
        with pytest.raises(EmptyWindowError, match="^The decision record holds no decision of model 8: nothing to"):
            export_span(store, 8, None, None, tmp_path / "spans", "risk", (0, 1))
