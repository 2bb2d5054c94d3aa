"""scripts/images_to_tfrecords.py: the same images from an .npz, IDX files or a folder of PNGs become the same
examples, with a data contract of their shape; bad input is one sentence naming the file."""

import gzip
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from pipeline.config import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from images_to_tfrecords import ConversionError, convert  # noqa: E402

SCRIPT = REPO_ROOT / "scripts" / "images_to_tfrecords.py"


def _idx(array: np.ndarray) -> bytes:
    return bytes([0, 0, 8, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape) + array.tobytes()


def _parsed(folder):
    records = tf.data.TFRecordDataset(str(folder / "images.tfrecord.gz"), compression_type="GZIP")
    return [(list(e.features.feature["pixels"].float_list.value), e.features.feature["label"].int64_list.value[0])
            for e in (tf.train.Example.FromString(r.numpy()) for r in records)]


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (6, 5, 7)).astype(np.uint8), np.array([0, 1, 2, 0, 1, 2], dtype=np.uint8)


def test_npz_idx_and_pngs_give_the_same_examples_and_contract(tmp_path, images):
    pixels, labels = images
    np.savez(tmp_path / "in.npz", images=pixels, labels=labels)
    (tmp_path / "images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(pixels)))
    (tmp_path / "labels-idx1-ubyte").write_bytes(_idx(labels))
    for i, (image, label) in enumerate(zip(pixels, labels)):
        (tmp_path / "pngs" / str(label)).mkdir(parents=True, exist_ok=True)
        (tmp_path / "pngs" / str(label) / f"{i:03d}.png").write_bytes(tf.image.encode_png(image[..., None]).numpy())
    npz = convert(tmp_path / "in.npz", None, tmp_path / "npz", tmp_path / "npz.pbtxt", 255)
    idx = convert(tmp_path / "images-idx3-ubyte.gz", tmp_path / "labels-idx1-ubyte", tmp_path / "idx",
                  tmp_path / "idx.pbtxt", 255)
    pngs = convert(tmp_path / "pngs", None, tmp_path / "png", tmp_path / "png.pbtxt", 255)
    assert npz == idx == pngs == (6, 5, 7)
    assert _parsed(tmp_path / "npz") == _parsed(tmp_path / "idx")
    assert _parsed(tmp_path / "npz")[0] == (pixels[0].astype(float).ravel().tolist(), 0)
    # PNG folders list images by class: the same examples, in another order.
    assert sorted(_parsed(tmp_path / "png")) == sorted(_parsed(tmp_path / "npz"))
    contract = (tmp_path / "npz.pbtxt").read_text()
    assert "size: 35" in contract and "max: 255" in contract and contract == (tmp_path / "idx.pbtxt").read_text()


def test_bad_input_is_one_sentence_naming_the_file(tmp_path, images):
    pixels, _ = images
    (tmp_path / "short-idx3-ubyte").write_bytes(_idx(pixels)[:-3])
    with pytest.raises(ConversionError, match="short-idx3-ubyte: the header says"):
        convert(tmp_path / "short-idx3-ubyte", tmp_path / "short-idx3-ubyte", tmp_path / "o", tmp_path / "s")
    np.savez(tmp_path / "x.npz", pictures=pixels)
    result = subprocess.run([sys.executable, str(SCRIPT), "--images", str(tmp_path / "x.npz"), "--out",
                             str(tmp_path / "o"), "--schema", str(tmp_path / "s")], capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    # The last line (TensorFlow logs its start above it).
    assert result.stderr.strip().splitlines()[-1] == (
        f"images_to_tfrecords: {tmp_path / 'x.npz'}: needs arrays 'images' and 'labels', has ['pictures']")
