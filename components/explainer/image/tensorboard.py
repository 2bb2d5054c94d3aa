"""Explanations as TensorBoard image summaries, in the Explanations artifact's own log directory."""

from __future__ import annotations

import struct
from typing import Dict

import tensorflow as tf
from tensorboard.plugins.image import metadata

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's header chunk, which follows the signature."""
    if png[:8] != PNG_SIGNATURE or png[12:16] != b"IHDR":
        raise ValueError("not a PNG image")
    return struct.unpack(">II", png[16:24])


def write_image_summaries(logdir: str, pngs: Dict[str, bytes]) -> None:
    """One image summary per PNG (tag = its name); `tensorboard --logdir` on the pipeline root shows them beside
    the training curves of the Trainer's model_run. Each PNG is stored as it is, with its width and height, the
    tensor TensorBoard's image plugin reads (what `tf.summary.image` writes after decoding the image and encoding
    it again as PNG)."""
    plugin = metadata.create_summary_metadata(display_name=None, description=None)
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default():
        for tag, png in pngs.items():
            width, height = png_size(png)
            tf.summary.write(tag, tf.constant([str(width).encode(), str(height).encode(), png]), step=0,
                             metadata=plugin)
    writer.close()
