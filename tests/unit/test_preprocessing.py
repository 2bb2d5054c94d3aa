"""Bands used as evaluation slices, the binary label, and the imputation of missing values."""

import numpy as np
import tensorflow as tf

from pipeline.modules.preprocessing import MISSING, _dense_column, band, band_names, binary_label


def test_band_names():
    assert band_names([25, 35, 50]) == ["<25", "25-34", "35-49", "50+"]
    assert band_names([0.5, 2.25]) == ["<0.5", "0.5 to <2.25", "2.25+"]


def test_bands_include_their_lower_edge():
    ages = tf.constant([[18], [24], [25], [34], [35], [49], [50], [75]], dtype=tf.int64)
    bands = [b.decode() for b in band(ages, [25, 35, 50]).numpy()]
    assert bands == ["<25", "<25", "25-34", "25-34", "35-49", "35-49", "50+", "50+"]


def test_a_missing_value_has_its_own_band():
    ages = tf.SparseTensor(indices=[[0, 0], [2, 0]], values=tf.constant([30, 60], tf.int64), dense_shape=[3, 1])
    assert [b.decode() for b in band(ages, [25, 35, 50]).numpy()] == ["25-34", MISSING, "50+"]


def test_the_positive_label_is_1_and_every_other_value_0():
    text = tf.constant([["approved"], ["denied"], ["approved"]])
    assert binary_label(text, "approved").numpy().tolist() == [1, 0, 1]
    numbers = tf.constant([[0], [1], [2]], dtype=tf.int64)
    assert binary_label(numbers, "1").numpy().tolist() == [0, 1, 0]


def test_missing_values_take_the_default():
    values = tf.SparseTensor(indices=[[1, 0]], values=tf.constant([2.5]), dense_shape=[3, 1])
    np.testing.assert_array_equal(_dense_column(values, 7.0).numpy(), [7.0, 2.5, 7.0])
    np.testing.assert_array_equal(_dense_column(tf.constant([[1.0], [2.0]]), 7.0).numpy(), [1.0, 2.0])


def test_numeric_columns_are_z_scored_after_a_missing_value_takes_its_column_s_mean(tmp_path):
    """The whole preprocessing_fn through tf.Transform's Beam implementation: dense and optional numeric columns of
    two dtypes, against numpy's mean and population standard deviation."""
    import tensorflow_transform.beam as tft_beam
    from tensorflow_transform.tf_metadata import schema_utils
    from tensorflow_transform.tf_metadata.dataset_metadata import DatasetMetadata

    from pipeline.modules.preprocessing import preprocessing_fn

    dense = [1.0, 4.0, 2.5, 8.0, -3.0]
    optional_int = [[10], [], [30], [], [5]]  # missing in rows 2 and 4
    optional_float = [[], [0.25], [0.75], [1.5], []]
    rows = [{"dense": [d], "optional_int": i, "optional_float": f, "colour": [c], "risk": [r]}
            for d, i, f, c, r in zip(dense, optional_int, optional_float, "rgbrr", "10101")]
    metadata = DatasetMetadata(schema_utils.schema_from_feature_spec({
        "dense": tf.io.FixedLenFeature([1], tf.float32),
        "optional_int": tf.io.VarLenFeature(tf.int64),
        "optional_float": tf.io.VarLenFeature(tf.float32),
        "colour": tf.io.FixedLenFeature([1], tf.string),
        "risk": tf.io.FixedLenFeature([1], tf.string),
    }))
    config = {"label": "risk", "positive_label": "1", "non_features": [], "band_features": {}}
    with tft_beam.Context(temp_dir=str(tmp_path)):
        (transformed, _), _ = (rows, metadata) | tft_beam.AnalyzeAndTransformDataset(
            lambda inputs: preprocessing_fn(inputs, config))

    def z_score(column):
        present = [value[0] for value in column if value]
        imputed = np.array([value[0] if value else np.mean(present) for value in column])
        return (imputed - imputed.mean()) / imputed.std()

    for name, column in [("dense", [[d] for d in dense]), ("optional_int", optional_int),
                         ("optional_float", optional_float)]:
        np.testing.assert_allclose([row[name] for row in transformed], z_score(column), rtol=1e-5, err_msg=name)
    assert [row["risk"] for row in transformed] == [1, 0, 1, 0, 1]
    colours = [row["colour"] for row in transformed]  # vocabulary indices, most frequent first
    assert colours[0] == colours[3] == colours[4] == 0 and {colours[1], colours[2]} == {1, 2}
