"""The plain TFX side's Transform module (bench/end_to_end.py): Glassbox's features (pipeline/modules/preprocessing.py)
with one tf.Transform analyzer per column, as TFX's documentation writes a preprocessing_fn: a
`tft.compute_and_apply_vocabulary` per string column, a `tft.mean` and a `tft.scale_to_z_score` per numeric one.
The transformed examples and vocabularies are the same as Glassbox's (bench/transform.py --compare: vocabularies byte
for byte, z-scores to float rounding); Glassbox plans those analyzers once for all columns, as its CsvExampleGen
executor batches what TFX's writes row by row."""

import tensorflow as tf
import tensorflow_transform as tft

from pipeline.modules import preprocessing


def _vocabularies(columns):
    return {name: tft.compute_and_apply_vocabulary(tensor, num_oov_buckets=1, vocab_filename=name)
            for name, tensor in columns.items()}


def _z_scores(columns):
    scaled = {}
    for name, tensor in columns.items():
        mean = tft.mean(tensor.values if isinstance(tensor, tf.SparseTensor) else tensor)
        scaled[name] = tft.scale_to_z_score(preprocessing._dense_column(tensor, mean))
    return scaled


def preprocessing_fn(inputs, custom_config):
    return preprocessing.features(inputs, custom_config, _vocabularies, _z_scores)
