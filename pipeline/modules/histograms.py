"""TensorBoard histograms for both Trainers: Keras's weight histograms (`histogram_freq=1`) and, beside them, each
named layer's activations on a fixed batch of eval examples, once per epoch (the weights say what the network
learnt, the activations what it does with it, e.g. dead ReLU units)."""

import os
from typing import Sequence

import tensorflow as tf
import tf_keras as keras

ACTIVATIONS_LOGDIR = "activations"  # under the model_run directory, beside Keras's train/ and validation/


class ActivationHistograms(keras.callbacks.Callback):
    def __init__(self, log_dir: str, inputs: tf.Tensor, layer_names: Sequence[str]):
        super().__init__()
        self._log_dir, self._inputs, self._names = log_dir, inputs, list(layer_names)

    def on_train_begin(self, logs=None):
        self._probe = keras.Model(self.model.inputs, [self.model.get_layer(name).output for name in self._names])
        self._writer = tf.summary.create_file_writer(os.path.join(self._log_dir, ACTIVATIONS_LOGDIR))

    def on_epoch_end(self, epoch, logs=None):
        outputs = self._probe(self._inputs, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        with self._writer.as_default():
            for name, values in zip(self._names, outputs):
                tf.summary.histogram(f"activations/{name}", values, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        self._writer.close()


def tensorboard_callbacks(log_dir: str, dataset: tf.data.Dataset, layer_names: Sequence[str]) -> list:
    """The TensorBoard callback with weight histograms, and activation histograms of `layer_names` on the first
    batch of `dataset` ((inputs, labels) batches)."""
    inputs, _ = next(iter(dataset))
    return [keras.callbacks.TensorBoard(log_dir=log_dir, update_freq="epoch", histogram_freq=1),
            ActivationHistograms(log_dir, inputs, layer_names)]
