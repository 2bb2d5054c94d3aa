"""Reading the examples of a split: every record, or a seeded sample read in one pass."""

import tensorflow as tf

from components.files import READ_BATCH, record_batches, sample_records, split_records


def _write_split(root, records, shards=3):
    for shard in range(shards):
        with tf.io.TFRecordWriter(str(root / f"data_tfrecord-{shard:05d}-of-{shards:05d}.gz"), "GZIP") as f:
            for record in records[shard::shards]:
                f.write(record)


def test_a_sample_at_least_as_large_as_the_split_is_the_split_in_file_order(tmp_path):
    _write_split(tmp_path, [f"row-{i}".encode() for i in range(50)])
    assert sample_records(str(tmp_path), 50, seed=1) == split_records(str(tmp_path))
    assert sample_records(str(tmp_path), 1000, seed=1) == split_records(str(tmp_path))


def test_a_smaller_sample_is_seeded_distinct_and_spread_over_the_split(tmp_path):
    records = [f"row-{i}".encode() for i in range(3000)]
    _write_split(tmp_path, records)
    sample = sample_records(str(tmp_path), 300, seed=7)
    assert len(sample) == len(set(sample)) == 300 and set(sample) <= set(records)
    assert sample == sample_records(str(tmp_path), 300, seed=7)
    assert set(sample) != set(sample_records(str(tmp_path), 300, seed=8))
    # Uniform over the split, not its first rows: each third of the file order holds about a third of the sample.
    order = {r: i for i, r in enumerate(split_records(str(tmp_path)))}
    thirds = [sum(1 for r in sample if k * 1000 <= order[r] < (k + 1) * 1000) for k in range(3)]
    assert all(70 <= count <= 130 for count in thirds), thirds


def test_a_split_is_read_in_batches_in_file_order_up_to_a_limit_gzipped_or_not(tmp_path):
    records = [f"row-{i}".encode() for i in range(READ_BATCH + 10)]
    with tf.io.TFRecordWriter(str(tmp_path / "data_tfrecord-00000-of-00002.gz"), "GZIP") as f:
        for record in records[:READ_BATCH + 5]:
            f.write(record)
    with tf.io.TFRecordWriter(str(tmp_path / "data_tfrecord-00001-of-00002")) as f:
        for record in records[READ_BATCH + 5:]:
            f.write(record)
    assert [len(batch) for batch in record_batches(str(tmp_path))] == [READ_BATCH, 5, 5]
    assert split_records(str(tmp_path)) == records
    for limit in (0, 3, READ_BATCH, READ_BATCH + 7, 10 * READ_BATCH):
        assert split_records(str(tmp_path), limit) == records[:limit]
