"""Writes scikit-learn's bundled handwritten digits as gzipped TFRecords of tf.Examples, for ImportExampleGen.

1,797 grey-level images of 8 x 8 pixels (values 0-16) with their digit 0-9, shipped inside scikit-learn:
no download. Each example holds `pixels` (64 floats, row-major), `label` (int) and `image_id` (the row in
scikit-learn's order). The output is deterministic: same scikit-learn data, same bytes.

    python scripts/make_digits_data.py [--out data/digits/digits.tfrecord.gz]

With `--size N` (e.g. 28, MNIST's size) it writes instead an .npz of the digits scaled up by whole pixels and
centred on an N x N canvas, for scripts/images_to_tfrecords.py (configs/digits28.yaml says how).
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

REPO_ROOT = Path(__file__).resolve().parent.parent


def digit_examples() -> list[bytes]:
    digits = load_digits()
    return [
        tf.train.Example(features=tf.train.Features(feature={
            "pixels": tf.train.Feature(float_list=tf.train.FloatList(value=image.astype(float).ravel())),
            "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
            "image_id": tf.train.Feature(int64_list=tf.train.Int64List(value=[index])),
        })).SerializeToString()
        for index, (image, label) in enumerate(zip(digits.images, digits.target))
    ]


def upscaled_digits(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, size, size] with grey levels 0-16, labels [N]): each 8 x 8 digit repeated size // 8 times along
    both axes (nearest neighbour) and centred, as MNIST centres its 20 x 20 digits on 28 x 28."""
    digits = load_digits()
    scale = size // 8
    if scale < 1:
        raise ValueError(f"--size must be at least 8, not {size}")
    pad = (size - 8 * scale) // 2
    canvas = np.zeros((len(digits.images), size, size))
    canvas[:, pad:pad + 8 * scale, pad:pad + 8 * scale] = np.kron(digits.images, np.ones((1, scale, scale)))
    return canvas, digits.target


def write_tfrecords(path: Path, records: list[bytes]) -> None:
    """TFRecord framing written by TensorFlow, gzipped with a fixed mtime so the file is reproducible."""
    raw = path.with_suffix(".tmp")
    with tf.io.TFRecordWriter(str(raw)) as writer:
        for record in records:
            writer.write(record)
    with open(raw, "rb") as source, gzip.GzipFile(path, "wb", mtime=0) as target:
        target.write(source.read())
    raw.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "data" / "digits" / "digits.tfrecord.gz")
    parser.add_argument("--size", type=int, help="write an .npz of the digits upscaled to size x size instead")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.size:
        images, labels = upscaled_digits(args.size)
        np.savez_compressed(args.out, images=images, labels=labels)
        print(f"Wrote {len(images)} images of {args.size} x {args.size} to {args.out}")
        return
    records = digit_examples()
    write_tfrecords(args.out, records)
    print(f"Wrote {len(records)} examples to {args.out}")


if __name__ == "__main__":
    main()
