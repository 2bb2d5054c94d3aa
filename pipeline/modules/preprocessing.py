"""tf.Transform preprocessing, loaded by the TFX Transform component by path.

Feature handling derives from the raw data's types, not from a per-dataset list:
string columns get a vocabulary (index, one out-of-vocabulary bucket), numeric columns
are z-scored. The label passes through untouched, the configured non-features (identifiers,
free text) are left out, and an `age_band` string is added as an evaluation slice (it is
never a model input).
"""

import tensorflow as tf
import tensorflow_transform as tft

# Keys of the Transform component's custom_config (set in pipeline/pipeline.py).
LABEL_KEY = "label"
NON_FEATURES_KEY = "non_features"
AGE_FEATURE_KEY = "age_feature"
AGE_BAND_EDGES_KEY = "age_band_edges"
AGE_BAND_FEATURE = "age_band"


def age_band_names(edges):
    """['<25', '25-34', '35-49', '50+'] for edges [25, 35, 50]."""
    names = [f"<{edges[0]}"]
    names += [f"{lo}-{hi - 1}" for lo, hi in zip(edges[:-1], edges[1:])]
    names.append(f"{edges[-1]}+")
    return names


def age_band(age, edges):
    """Maps ages (any numeric tensor) to band names; works inside and outside tf.Transform."""
    index = tf.searchsorted(
        tf.constant(edges, dtype=tf.float32),
        tf.cast(tf.reshape(age, [-1]), tf.float32),
        side="right",
    )
    return tf.gather(tf.constant(age_band_names(edges)), index)


def preprocessing_fn(inputs, custom_config):
    label = custom_config[LABEL_KEY]
    skipped = set(custom_config.get(NON_FEATURES_KEY, []))
    outputs = {}
    for name, tensor in inputs.items():
        if name in skipped:
            continue
        if name == label:
            outputs[name] = tf.reshape(tensor, [-1])
        elif tensor.dtype == tf.string:
            outputs[name] = tft.compute_and_apply_vocabulary(
                tf.reshape(tensor, [-1]), num_oov_buckets=1, vocab_filename=name
            )
        else:
            outputs[name] = tft.scale_to_z_score(tf.cast(tf.reshape(tensor, [-1]), tf.float32))
    age_feature = custom_config.get(AGE_FEATURE_KEY)
    if age_feature in inputs:
        outputs[AGE_BAND_FEATURE] = age_band(inputs[age_feature], custom_config[AGE_BAND_EDGES_KEY])
    return outputs
