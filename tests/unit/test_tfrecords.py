"""TFRecord framing (tfrecords.py) against TensorFlow's own reader and writer: the same records, in batches, and a
damaged file refused rather than read."""

import gzip
import re

import pytest
import tensorflow as tf

from components.tfrecords import framed, read_batches, record_ends

RECORDS = [b"", b"x", bytes(range(256)) * 40, "Zoë".encode()] * 3  # empty, short, 10 KiB, UTF-8


@pytest.fixture(params=["gzip", "plain"])
def tf_written(request, tmp_path):
    """RECORDS as TensorFlow writes them, gzipped (`.gz`) or not."""
    gzipped = request.param == "gzip"
    path = str(tmp_path / ("records.gz" if gzipped else "records"))
    with tf.io.TFRecordWriter(path, "GZIP" if gzipped else None) as f:
        for record in RECORDS:
            f.write(record)
    return path


def test_batches_hold_the_records_tensorflow_wrote_in_order(tf_written):
    assert [len(batch) for batch in read_batches(tf_written, 5)] == [5, 5, 2]
    assert [record for batch in read_batches(tf_written, 5) for record in batch] == RECORDS


def test_tensorflow_reads_the_framed_records_and_record_ends_finds_them(tmp_path):
    data = framed(RECORDS)
    (tmp_path / "framed.gz").write_bytes(gzip.compress(data))
    read = [r.numpy() for r in tf.data.TFRecordDataset([str(tmp_path / "framed.gz")], compression_type="GZIP")]
    assert read == RECORDS
    ends = list(record_ends(data))
    assert [data[start + 12 : end - 4] for start, end in zip([0] + ends, ends)] == RECORDS


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:8] + bytes([data[8] ^ 1]) + data[9:], "a length does not match its CRC"),
    (lambda data: data[:-5] + bytes([data[-5] ^ 1]) + data[-4:], "a record does not match its CRC"),
    (lambda data: data[:-3], "it ends inside a record"),
])
def test_a_damaged_file_is_refused(tmp_path, damage, message):
    path = tmp_path / "damaged"
    path.write_bytes(damage(framed(RECORDS)))
    with pytest.raises(ValueError, match=f"^{path}: not a valid TFRecord file \\({message}\\)$"):
        list(read_batches(str(path), 100))


def test_beam_reads_every_matched_file_in_batches_under_its_split_and_refuses_a_pattern_that_matches_none(tmp_path):
    import apache_beam as beam
    from apache_beam.options.pipeline_options import PipelineOptions
    from apache_beam.testing.util import assert_that, equal_to

    from components.tfrecords import ReadRecordBatches
    from pipeline.runners.beam import IN_MEMORY

    for name in ("a.gz", "b.gz"):
        (tmp_path / name).write_bytes(gzip.compress(framed(RECORDS)))
    (tmp_path / "other").write_bytes(framed(RECORDS[:2]))
    patterns = {"eval": str(tmp_path / "*.gz"), "train": str(tmp_path / "other")}
    with beam.Pipeline(options=PipelineOptions(IN_MEMORY)) as pipeline:
        batches = pipeline | ReadRecordBatches(patterns, 5, "Explainer")
        assert_that(batches | beam.MapTuple(lambda split, batch: (split, len(batch))),
                    equal_to([("eval", 5), ("eval", 5), ("eval", 2)] * 2 + [("train", 2)]), label="sizes")
        assert_that(batches | beam.FlatMapTuple(lambda split, batch: [(split, r) for r in batch]),
                    equal_to([("eval", r) for r in RECORDS * 2] + [("train", r) for r in RECORDS[:2]]),
                    label="records")
    missing = str(tmp_path / "none-*")
    message = f"^Explainer: no file matches {re.escape(missing)}, the input of split 'eval'$"
    with pytest.raises(ValueError, match=message):
        ReadRecordBatches({"eval": missing}, 5, "Explainer")
