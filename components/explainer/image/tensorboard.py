"""Explanations as TensorBoard image summaries, in the Explanations artifact's own log directory."""

from __future__ import annotations

from typing import Dict

import tensorflow as tf


def write_image_summaries(logdir: str, pngs: Dict[str, bytes]) -> None:
    """One image summary per PNG (tag = its name); `tensorboard --logdir` on the pipeline root shows them beside
    the training curves of the Trainer's model_run."""
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for tag, png in pngs.items():
            tf.summary.image(tag, tf.image.decode_png(png, channels=4)[tf.newaxis], step=0)
    writer.close()
