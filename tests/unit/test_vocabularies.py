"""Every string column's vocabulary from one analyzer is what tf.Transform's own vocabulary per column makes: the
same files under the same names, the same indices, sizes and transformed schema."""

import tensorflow as tf
import tensorflow_transform as tft
import tensorflow_transform.beam as tft_beam
from tensorflow_transform.tf_metadata import schema_utils
from tensorflow_transform.tf_metadata.dataset_metadata import DatasetMetadata

from pipeline.modules.vocabularies import EMPTY_VOCABULARY_TOKEN, ordered_tokens, vocabulary_indices

# Ties in count (ordered by descending bytes), an empty value and values with line breaks (never in a vocabulary,
# so out of vocabulary), non-ASCII values, a column with no value at all (tf.Transform's placeholder token) and a
# column name that is no file name.
COLUMNS = {
    "colour": ["red", "blue", "red", "green", "blue", "", "red", "amber", "green", "blue"],
    "two\nlines": ["a\nb", "x", "x", "y\r", "y", "y", "z", "x", "z", "z"],
    "city name/x": ["Zürich", "Genève", "Zürich", "Bern", "Bern", "Genève", "Zürich", "Lugano", "Bern", "Chur"],
    "nothing": [""] * 10,
}


def _transform(tmp_path, vocabularies, columns=COLUMNS):
    rows = [{name: [values[i].encode()] for name, values in columns.items()} for i in range(10)]
    metadata = DatasetMetadata(schema_utils.schema_from_feature_spec(
        {name: tf.io.FixedLenFeature([1], tf.string) for name in columns}))

    def preprocessing_fn(inputs):
        return vocabularies({name: tf.reshape(tensor, [-1]) for name, tensor in inputs.items()})

    with tft_beam.Context(temp_dir=str(tmp_path / "tmp")):
        (transformed, _), transform_fn = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(preprocessing_fn)
        _ = transform_fn | tft_beam.WriteTransformFn(str(tmp_path / "out"))
    return transformed, tft.TFTransformOutput(str(tmp_path / "out"))


def _tft_own(columns):
    return {name: tft.compute_and_apply_vocabulary(tensor, num_oov_buckets=1, vocab_filename=name)
            for name, tensor in columns.items()}


def test_one_analyzer_makes_what_a_vocabulary_per_column_makes(tmp_path):
    ours, our_output = _transform(tmp_path / "ours", vocabulary_indices)
    theirs, their_output = _transform(tmp_path / "tft", _tft_own)

    assert ours == theirs
    assert our_output.transformed_metadata.schema == their_output.transformed_metadata.schema
    for name in COLUMNS:
        with open(our_output.vocabulary_file_by_name(name), "rb") as mine, \
                open(their_output.vocabulary_file_by_name(name), "rb") as reference:
            assert mine.read() == reference.read(), name
        assert our_output.vocabulary_size_by_name(name) == their_output.vocabulary_size_by_name(name), name
    assert our_output.vocabulary_by_name("colour") == [b"red", b"blue", b"green", b"amber"]
    assert our_output.vocabulary_by_name("nothing") == [EMPTY_VOCABULARY_TOKEN]
    assert [row["colour"] for row in ours][5] == 4  # the empty value: the out-of-vocabulary bucket


def test_ties_are_ordered_by_descending_bytes():
    assert ordered_tokens([(2, b"b"), (3, b"a"), (2, b"c"), (1, b"z")]) == [b"a", b"c", b"b", b"z"]


def test_a_column_named_in_any_script_gets_its_vocabulary(tmp_path):
    """tf.Transform's own vocabulary names TensorFlow scopes after the file and fails on 'größe'; this one does not."""
    columns = {"größe": ["a", "b", "a"] + ["c"] * 7}
    transformed, output = _transform(tmp_path, vocabulary_indices, columns)
    assert output.vocabulary_by_name("größe") == [b"c", b"a", b"b"]
    assert [row["größe"] for row in transformed][:4] == [1, 2, 1, 0]
