"""Converts grey images of any H x W into the image track's input: gzipped TFRecords of tf.Examples and the data
contract (a schema.pbtxt) for their shape.

Inputs, by the form of `--images`:
  an .npz file           arrays `images` [N, H, W] (or [N, H, W, 1]) and `labels` [N];
  an IDX file            MNIST's format (e.g. train-images-idx3-ubyte, optionally .gz), with `--labels` the IDX
                         label file (train-labels-idx1-ubyte);
  a folder of PNGs       <folder>/<label>/<any name>.png, one folder per class (grey, or converted to grey).
Each example holds `pixels` (H x W floats, row-major, the file's grey levels), `label` (int) and `image_id` (its
position). Then set `image: {height: H, width: W}` in the config (configs/digits28.yaml is a 28 x 28 example).

    python scripts/images_to_tfrecords.py --images train.npz --out data/mine --schema schemas/mine/schema.pbtxt
        [--max-level 255]
"""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_digits_data import write_tfrecords  # noqa: E402

SCHEMA = """# Data contract for {count} grey images of {height} x {width} pixels (scripts/images_to_tfrecords.py).
default_environment: "TRAINING"
default_environment: "SERVING"
feature {{
  name: "label"
  type: INT
  int_domain {{ name: "label" min: 0 max: {top_label} is_categorical: true }}
  presence {{ min_fraction: 1.0 min_count: 1 }}
  shape {{ dim {{ size: 1 }} }}
  not_in_environment: "SERVING"
}}
feature {{
  name: "pixels"
  type: FLOAT
  float_domain {{ name: "pixels" min: 0 max: {max_level} disallow_nan: true disallow_inf: true }}
  presence {{ min_fraction: 1.0 min_count: 1 }}
  shape {{ dim {{ size: {pixels} }} }}
}}
feature {{
  name: "image_id"
  type: INT
  int_domain {{ name: "image_id" min: 0 max: {top_id} }}
  presence {{ min_fraction: 1.0 min_count: 1 }}
  shape {{ dim {{ size: 1 }} }}
}}
"""


class ConversionError(ValueError):
    """Input the converter cannot read; the message names the file."""


def _read_idx(path: Path) -> np.ndarray:
    """An IDX array (magic 0x0000, type byte, dimension count, big-endian sizes, then the data)."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ConversionError(f"{path}: not an IDX file of unsigned bytes (magic {raw[:4].hex()})")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ConversionError(f"{path}: the header says {shape}, the file holds {data.size} values")
    return data.reshape(shape)


def _read_pngs(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        if not class_dir.name.isdigit():
            raise ConversionError(f"{class_dir}: class folders must be named by their label (0, 1, ...)")
        for png in sorted(class_dir.glob("*.png")):
            images.append(tf.image.decode_png(png.read_bytes(), channels=1).numpy()[..., 0])
            labels.append(int(class_dir.name))
    if not images:
        raise ConversionError(f"{folder}: no <label>/<name>.png files")
    if len({image.shape for image in images}) > 1:
        raise ConversionError(f"{folder}: the PNGs differ in size ({sorted({image.shape for image in images})})")
    return np.stack(images), np.array(labels)


def read_images(images: Path, labels: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, H, W] as float, labels [N] as int) from any of the accepted forms."""
    if images.is_dir():
        pixels, classes = _read_pngs(images)
    elif images.suffix == ".npz":
        with np.load(images) as arrays:
            if not {"images", "labels"} <= set(arrays.files):
                raise ConversionError(f"{images}: needs arrays 'images' and 'labels', has {sorted(arrays.files)}")
            pixels, classes = arrays["images"], arrays["labels"]
    else:
        if labels is None:
            raise ConversionError(f"{images}: an IDX image file needs --labels, the IDX label file")
        pixels, classes = _read_idx(images), _read_idx(labels)
    pixels = np.asarray(pixels, dtype=np.float64)
    if pixels.ndim == 4 and pixels.shape[3] == 1:
        pixels = pixels[..., 0]
    if pixels.ndim != 3 or len(pixels) != len(classes):
        raise ConversionError(f"{images}: expected images [N, H, W] and N labels, got {pixels.shape} and "
                              f"{len(classes)} labels")
    return pixels, np.asarray(classes).astype(np.int64)


def examples(pixels: np.ndarray, labels: np.ndarray) -> list[bytes]:
    return [tf.train.Example(features=tf.train.Features(feature={
        "pixels": tf.train.Feature(float_list=tf.train.FloatList(value=image.ravel())),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
        "image_id": tf.train.Feature(int64_list=tf.train.Int64List(value=[index])),
    })).SerializeToString() for index, (image, label) in enumerate(zip(pixels, labels))]


def convert(images: Path, labels: Path | None, out: Path, schema: Path, max_level: float | None = None
            ) -> tuple[int, int, int]:
    """Writes <out>/images.tfrecord.gz (the folder ImportExampleGen reads: nothing else in it) and the contract
    `schema`; returns (count, height, width)."""
    pixels, classes = read_images(images, labels)
    out.mkdir(parents=True, exist_ok=True)
    write_tfrecords(out / "images.tfrecord.gz", examples(pixels, classes))
    count, height, width = pixels.shape
    level = max_level if max_level is not None else float(max(pixels.max(), 1.0))
    schema.parent.mkdir(parents=True, exist_ok=True)
    schema.write_text(SCHEMA.format(
        count=count, height=height, width=width, top_label=int(classes.max()), max_level=f"{level:g}",
        pixels=height * width, top_id=count - 1))
    return count, height, width


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True, help=".npz, IDX image file, or folder of PNGs")
    parser.add_argument("--labels", type=Path, help="the IDX label file (with an IDX image file)")
    parser.add_argument("--out", type=Path, required=True, help="the data folder, for images.tfrecord.gz")
    parser.add_argument("--schema", type=Path, required=True, help="where to write the data contract (schema.pbtxt)")
    parser.add_argument("--max-level", type=float, help="the largest grey level the contract accepts "
                                                        "(default: the data's)")
    args = parser.parse_args()
    try:
        count, height, width = convert(args.images, args.labels, args.out, args.schema, args.max_level)
    except (ConversionError, OSError) as error:
        sys.exit(f"images_to_tfrecords: {error}")
    print(f"Wrote {count} images of {height} x {width} to {args.out}/images.tfrecord.gz, contract {args.schema}")


if __name__ == "__main__":
    main()
