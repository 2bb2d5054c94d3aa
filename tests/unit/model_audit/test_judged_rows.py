"""What performance and fairness are judged on: every labelled example of the Explainer's split, whatever it
explained, ordered by key, and beyond EVAL_ROWS a seeded sample of that many; and those examples' raw values."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from tfx.types import standard_artifacts

from components.explainer.explain import PREDICTIONS_DIR, example_digest
from components.model_audit.evidence import _eval_features
from components.model_audit.inputs import EVAL_ROWS, AuditInputError, judged_rows, labelled_predictions


def _write_predictions(uri, count, unlabelled_every=7, shards=3):
    """`count` rows in `shards` Parquet files, as Beam writes them; every `unlabelled_every`-th row has no label."""
    rng = np.random.default_rng(0)
    keys = [f"{k:016x}" for k in rng.permutation(count)]
    table = pd.DataFrame({
        "key": keys, "split": "eval",
        "label": [np.nan if i % unlabelled_every == 0 else float(i % 2) for i in range(count)],
        "prediction": rng.random(count), "slice.sex": np.where(np.arange(count) % 3 == 0, "female", "male"),
    })
    folder = uri / PREDICTIONS_DIR
    folder.mkdir(parents=True)
    for shard, part in enumerate(np.array_split(table, shards)):
        part.to_parquet(folder / f"predictions-{shard:05d}-of-{shards:05d}.parquet")
    return table


def test_every_labelled_example_is_judged_in_key_order(tmp_path):
    table = _write_predictions(tmp_path, 700)
    rows, labelled = judged_rows(str(tmp_path), seed=1)
    expected = table[table["label"].notna()].sort_values("key")
    assert labelled == len(rows) == 600
    assert list(rows["key"]) == list(expected["key"])
    predictions = labelled_predictions(rows, 0.5, labelled)
    np.testing.assert_array_equal(predictions.scores, expected["prediction"])
    assert set(predictions.groups) == {"sex"} and predictions.labelled_in_split == 600


def test_beyond_the_bound_a_seeded_sample_is_judged(tmp_path):
    table = _write_predictions(tmp_path, EVAL_ROWS + 5_000, unlabelled_every=10)
    labelled_keys = set(table.loc[table["label"].notna(), "key"])
    rows, labelled = judged_rows(str(tmp_path), seed=3)
    again, _ = judged_rows(str(tmp_path), seed=3)
    other, _ = judged_rows(str(tmp_path), seed=4)
    assert labelled == len(labelled_keys) > EVAL_ROWS == len(rows)
    assert set(rows["key"]) <= labelled_keys and rows["key"].is_unique and rows["key"].is_monotonic_increasing
    assert list(rows["key"]) == list(again["key"]) and list(rows["key"]) != list(other["key"])
    # Uniform: the sample keeps the groups' shares (a third female) to within sampling error.
    assert abs((rows["slice.sex"] == "female").mean() - 1 / 3) < 0.02


def test_an_unlabelled_split_leaves_nothing_to_judge(tmp_path):
    _write_predictions(tmp_path, 50, unlabelled_every=1)
    rows, labelled = judged_rows(str(tmp_path), seed=0)
    assert rows.empty and labelled == 0


def test_explanations_from_before_the_predictions_were_written_are_named(tmp_path):
    with pytest.raises(AuditInputError, match=f"{tmp_path / PREDICTIONS_DIR} is missing: .* run again with --no-cache"):
        judged_rows(str(tmp_path), seed=0)


def test_the_judged_examples_raw_values_come_in_the_judged_order(tmp_path):
    """The audit parses only the judged examples of the split (at 1,000,000 rows, 20,000 of 200,000), each
    found by its key, the first 16 hex digits of its digest, and returns them in the judged rows' order."""
    def example(index):
        return tf.train.Example(features=tf.train.Features(feature={
            "amount": tf.train.Feature(int64_list=tf.train.Int64List(value=[index * 10])),
            "purpose": tf.train.Feature(bytes_list=tf.train.BytesList(value=[f"p{index % 3}".encode()]))}
        )).SerializeToString()

    records = [example(i) for i in range(50)]
    split = tmp_path / "Split-eval"
    split.mkdir()
    with tf.io.TFRecordWriter(str(split / "data_tfrecord-00000-of-00001.gz"), "GZIP") as writer:
        for record in records:
            writer.write(record)
    examples = standard_artifacts.Examples()
    examples.uri, examples.split_names = str(tmp_path), '["eval"]'
    judged = [41, 3, 17, 0]
    features = _eval_features(examples, "eval", pd.Series([example_digest(records[i])[:16] for i in judged]),
                              ["amount", "purpose"])
    assert list(features["amount"]) == [str(i * 10) for i in judged]
    assert list(features["purpose"]) == [f"p{i % 3}" for i in judged]
