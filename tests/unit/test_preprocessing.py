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
