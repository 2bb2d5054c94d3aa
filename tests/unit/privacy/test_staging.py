"""Pass 2 on staged files (staging.py): it releases exactly the staged rows outside the suppressed classes, in their
order, as TensorFlow reads gzipped TFRecords; renames what it need not filter; releases only what the manifest names;
and moves nothing into the outputs when the count is not the one the report states."""

import glob
import os

import pytest
import tensorflow as tf

from components.privacy.staging import FILTERED_DIR, STAGED_DIR, StagedFile, release_staged, remove_folder

BATCHES = [  # (example, class) per row: three batches of one split, the classes mixed within them
    [(b"a1", ("f", "<25")), (b"b1", ("m", "25-34")), (b"a2", ("f", "<25"))],
    [(b"c1", ("m", None)), (b"b2", ("m", "25-34"))],
    [(b"b3", ("m", "25-34")), (b"", ("f", "<25"))],  # an empty example is a record too
]


def _stage(work_dir, split="train", batches=BATCHES) -> dict:
    staged = StagedFile(os.path.join(work_dir, STAGED_DIR), split)
    for batch in batches:
        staged.write([example for example, _ in batch], [group for _, group in batch])
    return staged.close()


def _read(pattern) -> list:
    files = sorted(glob.glob(pattern))
    return [record.numpy() for record in tf.data.TFRecordDataset(files, compression_type="GZIP")]


def _rows(batches=BATCHES):
    return [row for batch in batches for row in batch]


def test_suppressed_classes_are_left_out_and_the_rest_kept_in_order(tmp_path):
    work, prefix = str(tmp_path / "work"), str(tmp_path / "out" / "Split-train" / "data_tfrecord")
    manifest = [_stage(work)]
    suppressed = {("m", "25-34"), ("x", "never staged")}
    kept = [example for example, group in _rows() if group not in suppressed]

    release_staged(manifest, {"train": prefix}, suppressed, work, rows_out=len(kept))

    assert os.listdir(tmp_path / "out" / "Split-train") == ["data_tfrecord-00000-of-00001.gz"]
    assert _read(prefix + "-*") == kept == [b"a1", b"a2", b"c1", b""]


def test_a_staged_file_without_suppressed_classes_is_renamed_not_rewritten(tmp_path):
    work = str(tmp_path / "work")
    manifest = [_stage(work), _stage(work, batches=BATCHES[1:2])]
    staged_files = {line["file"]: os.path.join(work, STAGED_DIR, line["file"] + ".gz") for line in manifest}
    staged_bytes = {name: open(path, "rb").read() for name, path in staged_files.items()}

    release_staged(manifest, {"train": str(tmp_path / "out" / "data")}, {("f", "<25")}, work, rows_out=4 + 2)

    released = sorted(glob.glob(str(tmp_path / "out" / "data-*")))
    assert [os.path.basename(path) for path in released] == ["data-00000-of-00002.gz", "data-00001-of-00002.gz"]
    untouched = next(line["file"] for line in manifest if line["rows"] == 2)
    assert any(open(path, "rb").read() == staged_bytes[untouched] for path in released)
    assert not os.path.exists(staged_files[untouched])  # moved, not copied
    assert sorted(_read(str(tmp_path / "out" / "data-*"))) == sorted([b"b1", b"c1", b"b2", b"b3"] + [b"c1", b"b2"])


def test_only_the_files_the_manifest_names_are_released(tmp_path):
    """A bundle that failed and was retried leaves a staged file that no manifest line names."""
    work = str(tmp_path / "work")
    _stage(work, batches=[[(b"abandoned", ("f", "<25"))]])
    manifest = [_stage(work)]
    release_staged(manifest, {"train": str(tmp_path / "out" / "data")}, set(), work, rows_out=len(_rows()))
    assert _read(str(tmp_path / "out" / "data-*")) == [example for example, _ in _rows()]


def test_a_split_that_staged_nothing_gets_one_empty_file(tmp_path):
    work = str(tmp_path / "work")
    manifest = [_stage(work, split="train")]
    outputs = {"train": str(tmp_path / "train" / "data"), "eval": str(tmp_path / "eval" / "data")}
    release_staged(manifest, outputs, set(), work, rows_out=len(_rows()))
    assert os.listdir(tmp_path / "eval") == ["data-00000-of-00001.gz"]
    assert _read(str(tmp_path / "eval" / "data-*")) == []


def test_nothing_is_moved_into_the_outputs_when_the_rows_differ_from_the_report(tmp_path):
    work = str(tmp_path / "work")
    manifest = [_stage(work)]
    with pytest.raises(RuntimeError, match=r"^Privacy: 6 rows staged for release, but the report states 7; "
                                           r"nothing was released$"):
        release_staged(manifest, {"train": str(tmp_path / "out" / "data")}, {("m", None), ("x",)}, work, rows_out=7)
    assert not os.path.exists(tmp_path / "out")
    assert os.listdir(os.path.join(work, FILTERED_DIR))  # what was filtered stays in the work folder


def test_remove_folder_removes_everything_below_and_accepts_a_missing_one(tmp_path):
    work = tmp_path / "work"
    _stage(str(work))
    (work / "deeper" / "still").mkdir(parents=True)
    remove_folder(str(work) + "/")
    assert not work.exists()
    remove_folder(str(work))
