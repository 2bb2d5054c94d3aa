"""A Trainer module for the Trainer executor's tests (`run_fn` by import path): a one-layer model fitted on a few
seeded rows under the strategy and device check the pipeline's modules use, recording what it trained on as they do
(unless `custom_config["record"]` is false: a module of the user's own that writes no record)."""

import numpy as np
import tensorflow as tf
import tf_keras as keras
from tfx.components.trainer.fn_args_utils import FnArgs

from pipeline.modules import devices, distribution


def run_fn(fn_args: FnArgs):
    config = fn_args.custom_config
    requested = config.get("devices", "auto")
    strategy = distribution.make_strategy(config["strategy"], config.get("tpu_address"), requested,
                                          config.get("devices_asked_by", devices.ASKED_BY))
    with strategy.scope():
        model = keras.Sequential([keras.Input(shape=(2,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.1), loss="binary_crossentropy")
    x = np.random.default_rng(0).normal(size=(64, 2)).astype("float32")
    model.fit(x, (x[:, 0] > 0).astype("float32"), batch_size=16, epochs=2, verbose=0)
    if config.get("record", True):
        distribution.write_training_record(fn_args.model_run_dir, distribution.training_record(strategy, 16, requested))
    tf.saved_model.save(model, fn_args.serving_model_dir)
