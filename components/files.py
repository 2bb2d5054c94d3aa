"""Output files that are complete or absent: written to a temporary name, then renamed."""

import hashlib
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


def _update(digest, path: str) -> None:
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    _update(digest, path)
    return digest.hexdigest()


def directory_digest(root: str) -> str:
    """sha256 over every file below `root` (relative path and content), in a stable order."""
    digest = hashlib.sha256()
    for directory, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = os.path.join(directory, name)
            digest.update(os.path.relpath(path, root).encode("utf-8") + b"\0")
            _update(digest, path)
    return digest.hexdigest()


def split_records(split_uri: str, limit: int | None = None) -> List[bytes]:
    """The serialized examples of one split of an Examples artifact (gzipped TFRecords), in file order."""
    import tensorflow as tf  # only the readers of examples pay for TensorFlow's import

    files = sorted(fileio.glob(os.path.join(split_uri, "*")))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP")
    return list((dataset.take(limit) if limit is not None else dataset).as_numpy_iterator())
