"""tf.Transform preprocessing of images, loaded by the TFX Transform component by path.

As in the source material: non-finite grey levels are dropped (they become background, 0; the data contract
already rejects them in the data the pipeline ingests, this guards what serving receives), and the pixels are
scaled to [0, 1] by the range tf.Transform measures over the whole training data in its analyze pass.
"""

import tensorflow as tf
import tensorflow_transform as tft

# Keys of the Transform component's custom_config (set in pipeline/pipeline.py).
LABEL_KEY = "label"
IMAGE_FEATURE_KEY = "image_feature"


def preprocessing_fn(inputs, custom_config):
    label, feature = custom_config[LABEL_KEY], custom_config[IMAGE_FEATURE_KEY]
    pixels = tf.cast(inputs[feature], tf.float32)
    pixels = tf.where(tf.math.is_finite(pixels), pixels, tf.zeros_like(pixels))
    return {
        label: tf.reshape(inputs[label], [-1]),
        feature: tft.scale_to_0_1(pixels, elementwise=False),
    }
