"""Tracing Keras models without AutoGraph rewriting tf_keras: the Trainer's (pipeline/modules) and the networks the
Explainer trains for its planted-signal ground truth.

AutoGraph rewrites every Python function that a tf.function calls, unless its module is on AutoGraph's do-not-convert
list (tensorflow/python/autograph/core/config.py). That list names `keras`, whose code needs no rewriting, but not
`tf_keras`, the same code under the name TensorFlow 2.16 gives it: so the first `fit` of a tf_keras model rewrites some
1,200 of its functions (train step, layers, optimizer, metrics), most of the Trainer's time (bench/README.md), and 12
of the 15 s the Explainer took to train its planted-signal network. Keras steps need no rewriting (that is why `keras`
is on the list), and our signatures hold no Python control flow over tensor values, so both trace the same graph
without it: the same model, to the bit.
"""

from typing import Callable

import tensorflow as tf
import tf_keras as keras

STEPS = ("train_step", "test_step", "predict_step")


def without_autograph(model: keras.Model) -> keras.Model:
    """`model` with its Keras steps traced as plain Python (what AutoGraph's list does for `keras`)."""
    for step in STEPS:
        setattr(model, step, tf.autograph.experimental.do_not_convert(getattr(model, step)))
    return model


def signature(*specs: tf.TensorSpec):
    """A method of an exported tf.Module as a signature of these input specs, traced without AutoGraph."""
    return tf.function(input_signature=list(specs), autograph=False)


def transform_features(module: tf.Module, tf_transform_output) -> Callable[[dict], dict]:
    """Transform's features function for `module`'s signatures, exported without Keras. TFT's layer is a tf_keras
    Model: tracked as one, it is serialized with its call functions traced again, with AutoGraph, at save time (5.4 of
    a 6.0 s save on the German-credit Transform graph). `module` tracks what the layer keeps for that purpose
    instead, its loaded Transform graph with the graph's tables and vocabulary assets (0.7 s; the same outputs, and
    the same after the Transform folder is gone), and the layer is only called."""
    layer = tf_transform_output.transform_features_layer()
    # TransformFeaturesLayer holds its SavedModelLoader's attributes here so that a model assigning the layer tracks
    # them (tensorflow_transform/output_wrapper.py, TFT 1.16 and 1.21).
    module.transform_graph = layer._saved_model_loader_tracked_dict  # noqa: SLF001
    return lambda features: layer(features)
