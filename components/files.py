"""Output files that are complete or absent: written to a temporary name, then renamed."""

import json
import os
from typing import Any, List

from tfx.dsl.io import fileio


def write_atomically(path: str, data: bytes) -> None:
    # An orchestrator need not create an output artifact's directory (a KFP launcher does not; on GCS none is needed).
    fileio.makedirs(os.path.dirname(path))
    temporary = f"{path}.tmp-{os.getpid()}"
    with fileio.open(temporary, "wb") as f:
        f.write(data)
    fileio.rename(temporary, path, overwrite=True)


def write_json(path: str, value: Any) -> None:
    write_atomically(path, json.dumps(value, indent=2, sort_keys=True, default=float).encode("utf-8"))


def split_records(split_uri: str, limit: int | None = None) -> List[bytes]:
    """The serialized examples of one split of an Examples artifact (gzipped TFRecords), in file order."""
    import tensorflow as tf  # only the readers of examples pay for TensorFlow's import

    files = sorted(fileio.glob(os.path.join(split_uri, "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return list((dataset.take(limit) if limit is not None else dataset).as_numpy_iterator())


def sample_records(split_uri: str, size: int, seed: int) -> List[bytes]:
    """A seeded uniform sample of at most `size` serialized examples of one split, read in one pass that holds only
    the sample (reservoir sampling): the same split and seed always give the same sample."""
    import numpy as np
    import tensorflow as tf

    files = sorted(fileio.glob(os.path.join(split_uri, "*")))
    rng = np.random.default_rng(seed)
    sample: List[bytes] = []
    for seen, record in enumerate(tf.data.TFRecordDataset(files, compression_type="GZIP").as_numpy_iterator()):
        if seen < size:
            sample.append(record)
        else:
            slot = rng.integers(seen + 1)
            if slot < size:
                sample[slot] = record
    return sample
