"""The two passes, pass 1 in-process on DirectRunner: they release what the per-row functions and the frame functions
release, report what they measure, and write nothing at all when the data fails the policy: the batches pass 1 staged
are removed, and a killed run's leftovers are never released."""

import glob
import json
import os
from collections import Counter

import apache_beam as beam
import pytest
import tensorflow as tf

from components.privacy.actions import PrivacyViolationError, apply_policy_to_row, quasi_identifier_tuple
from components.privacy.beam_pipeline import MANIFEST_FILE, deidentify_splits
from components.privacy.examples import example_to_row, row_to_example
from components.privacy.frames import (
    class_stats,
    deidentify_frame,
    examples_to_frame,
    frame_to_examples,
    without_classes,
)
from components.privacy.policy import load_policy
from components.privacy.report import anonymity_report, check_aggregates
from components.privacy.staging import STAGED_DIR
from tests.unit.privacy.helpers import (
    DEFAULT_POLICY,
    per_row_class_stats,
    per_row_column_counts,
    typed,
    write_splits,
)

SPLITS = {"train": slice(0, 300), "eval": slice(300, 400)}


class _Observed(beam.Pipeline):
    """A DirectRunner pipeline that notes the work folder's files when it has run: what pass 1 left for pass 2."""

    def __init__(self, work_dir, seen):
        super().__init__(runner="DirectRunner")
        self._work_dir, self._seen = work_dir, seen

    def run(self, *args, **kwargs):
        result = super().run(*args, **kwargs)
        result.wait_until_finish()
        self._seen.extend(os.path.relpath(path, self._work_dir)
                          for path in glob.glob(os.path.join(self._work_dir, "**"), recursive=True))
        return result


def _run(rows, tmp_path, monkeypatch, key, policy_file=DEFAULT_POLICY, seen=None):
    monkeypatch.setenv("GLASSBOX_PSEUDONYM_KEY", key.secret.decode())
    policy = load_policy(policy_file, list(rows[0]))
    inputs = write_splits({split: rows[part] for split, part in SPLITS.items()}, tmp_path / "raw")
    outputs = {split: str(tmp_path / "released" / f"Split-{split}" / "data_tfrecord") for split in SPLITS}
    work_dir = str(tmp_path / "work")
    report = deidentify_splits(lambda: _Observed(work_dir, [] if seen is None else seen), inputs=inputs,
                               outputs=outputs, policy=policy, work_dir=work_dir)
    return policy, report


def _released(tmp_path, split):
    files = sorted(glob.glob(str(tmp_path / "released" / f"Split-{split}" / "data_tfrecord-*.gz")))
    return [example_to_row(record.numpy()) for record in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _canonical(rows):
    return sorted(json.dumps(row, sort_keys=True) for row in rows)


def test_two_passes_release_and_report_what_the_per_row_functions_give(raw_rows, key, tmp_path, monkeypatch):
    rows = typed(raw_rows)
    policy, report = _run(rows, tmp_path, monkeypatch, key)

    deidentified = [apply_policy_to_row(row, policy, key) for row in rows[:400]]
    counts = Counter()
    for row, out in zip(rows, deidentified):
        counts.update(per_row_column_counts(row, out, policy))
    expected, suppressed = check_aggregates(counts, per_row_class_stats(deidentified, policy), policy, list(SPLITS), {})
    assert report == expected
    assert report["anonymity"]["suppressed_rows"] > 0 and report["rows_in"] == 400
    for split, part in SPLITS.items():
        kept = [out for out in deidentified[part] if quasi_identifier_tuple(out, policy) not in suppressed]
        assert _canonical(_released(tmp_path, split)) == _canonical(kept)
    assert not os.path.exists(tmp_path / "work")


def test_the_release_is_what_the_frame_functions_release_and_laid_out_as_beam_writes_it(raw_rows, key, tmp_path,
                                                                                       monkeypatch):
    """Pass 2 filters the staged examples by the class staged beside each: the rows are those the single-pass frame
    path gives (decode, de-identify, drop the suppressed classes, encode), split by split."""
    rows = typed(raw_rows)
    policy, report = _run(rows, tmp_path, monkeypatch, key)

    frames = {split: deidentify_frame(examples_to_frame([row_to_example(row) for row in rows[part]]), policy, key)
              for split, part in SPLITS.items()}
    everything = class_stats(deidentify_frame(examples_to_frame([row_to_example(row) for row in rows[:400]]),
                                              policy, key), policy)
    _, suppressed = anonymity_report(everything, policy)
    assert suppressed and report["anonymity"]["suppressed_classes"] == len(suppressed)
    for split, frame in frames.items():
        expected = [example_to_row(record) for record in frame_to_examples(without_classes(frame, policy, suppressed))]
        assert _canonical(_released(tmp_path, split)) == _canonical(expected)
        files = sorted(os.listdir(tmp_path / "released" / f"Split-{split}"))
        assert files == [f"data_tfrecord-{n:05d}-of-{len(files):05d}.gz" for n in range(len(files))]


def test_a_failed_check_removes_the_batches_pass_1_staged(raw_rows, key, tmp_path, monkeypatch):
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(DEFAULT_POLICY.read_text().replace("on_k_violation: suppress", "on_k_violation: fail"))
    seen = []
    with pytest.raises(PrivacyViolationError, match=r"equivalence classes with \d+ rows fall short"):
        _run(typed(raw_rows), tmp_path, monkeypatch, key, policy_file, seen)
    assert MANIFEST_FILE in seen and any(path.startswith(STAGED_DIR + os.sep) for path in seen)
    assert not os.path.exists(tmp_path / "released")
    assert not os.path.exists(tmp_path / "work")


def test_what_a_killed_run_left_in_the_work_folder_is_never_released(raw_rows, key, tmp_path, monkeypatch):
    """A staged file and a manifest naming it, as a run killed between its passes leaves them."""
    rows = typed(raw_rows)
    stale = tmp_path / "work" / STAGED_DIR
    stale.mkdir(parents=True)
    with tf.io.TFRecordWriter(str(stale / "stale.gz"), "GZIP") as f:
        f.write(row_to_example(rows[0]))
    (tmp_path / "work" / MANIFEST_FILE).write_text(
        json.dumps({"split": "train", "file": "stale", "rows": 1, "classes": []}) + "\n")
    seen = []
    policy, report = _run(rows, tmp_path, monkeypatch, key, seen=seen)

    assert os.path.join(STAGED_DIR, "stale.gz") not in seen
    assert sum(len(_released(tmp_path, split)) for split in SPLITS) == report["rows_out"] < 400
    assert rows[0]["applicant_name"] not in json.dumps([_released(tmp_path, split) for split in SPLITS])
    assert not os.path.exists(tmp_path / "work")


def test_undeclared_pii_fails_before_anything_is_written(raw_rows, key, tmp_path, monkeypatch):
    rows = [{**row, "contact": row["email"]} for row in typed(raw_rows)]
    with pytest.raises(PrivacyViolationError, match="column 'contact' is not declared"):
        _run(rows, tmp_path, monkeypatch, key)
    assert not os.path.exists(tmp_path / "released")
    assert not os.path.exists(tmp_path / "work")


def _as_example_gen_types_it(rows, column, value, row):
    """The rows with `value` in one row of `column`: ExampleGen then types the whole column as text."""
    return [{**r, column: value if i == row else (None if r[column] is None else str(r[column]))}
            for i, r in enumerate(rows)]


def test_a_value_its_bands_cannot_place_fails_naming_field_column_split_and_shape(raw_rows, key, tmp_path,
                                                                                   monkeypatch):
    """`abc` in age, which the policy bands to measure k: the run fails between the passes, nothing written."""
    rows = _as_example_gen_types_it(typed(raw_rows), "age", "abc", 310)  # an eval row
    with pytest.raises(PrivacyViolationError) as error:
        _run(rows, tmp_path, monkeypatch, key)
    assert str(error.value) == (
        f"{DEFAULT_POLICY}: field 'quasi_identifier_generalization.age' needs a number, and split 'eval' has 1 row "
        f"without one in column 'age' (shaped like 'aaa': letters as a, digits as 9); nothing was released")
    assert not os.path.exists(tmp_path / "released")
    assert not os.path.exists(tmp_path / "work")


def test_a_value_its_generalization_cannot_place_is_never_shown(raw_rows, key, tmp_path, monkeypatch):
    """A birth date the policy generalizes to the year, written as 22.03.1956 in a row: its shape, not the date."""
    policy_file = tmp_path / "policy.yaml"
    policy_file.write_text(DEFAULT_POLICY.read_text().replace(
        "date_of_birth: {action: drop}", "date_of_birth: {action: generalize, generalize: {date: year}}"))
    rows = typed(raw_rows)
    rows[3] = {**rows[3], "date_of_birth": "22.03.1956"}
    rows[4] = {**rows[4], "date_of_birth": "1956-03-22 (approx.)"}
    with pytest.raises(PrivacyViolationError) as error:
        _run(rows, tmp_path, monkeypatch, key, policy_file)
    assert str(error.value) == (
        f"{policy_file}: field 'columns.date_of_birth.generalize' needs an ISO date (YYYY-MM-DD), and split 'train' "
        f"has 2 rows without one in column 'date_of_birth' (shaped like '99.99.9999': letters as a, digits as 9); "
        f"nothing was released")
    assert "1956" not in str(error.value)
    assert not os.path.exists(tmp_path / "released")
