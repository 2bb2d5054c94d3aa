"""Age bands used as an evaluation slice."""

import tensorflow as tf

from pipeline.modules.preprocessing import age_band, age_band_names


def test_band_names():
    assert age_band_names([25, 35, 50]) == ["<25", "25-34", "35-49", "50+"]


def test_bands_include_their_lower_edge():
    ages = tf.constant([[18], [24], [25], [34], [35], [49], [50], [75]], dtype=tf.int64)
    bands = [b.decode() for b in age_band(ages, [25, 35, 50]).numpy()]
    assert bands == ["<25", "<25", "25-34", "25-34", "35-49", "35-49", "50+", "50+"]
