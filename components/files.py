"""Artifacts' files: outputs that are complete or absent (written to a temporary name, then renamed), and the
readers of examples and statistics that several components share."""

import json
import os
from typing import Any, Iterator, List

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


# Records read per step: one at a time, TensorFlow's iterator costs more than what is done with them
# (1,000,000 German-credit records: 67 s one by one against 2.7 s in batches of 4,096).
READ_BATCH = 4096


def record_batches(split_uri: str, limit: int | None = None) -> Iterator[List[bytes]]:
    """The serialized examples of one split of an Examples artifact, in file order, READ_BATCH at a time (at most
    `limit` in all): its TFRecord files, gzipped where named .gz as ExampleGen names them, read by the reader the
    Beam steps use (`components.tfrecords.read_batches`, each record checked against its CRCs)."""
    from components.tfrecords import read_batches  # only the readers of examples pay for Beam's file systems

    left = limit
    for path in sorted(fileio.glob(os.path.join(split_uri, "*"))):
        for records in read_batches(path, READ_BATCH):
            if left is not None:
                if left == 0:
                    return
                records, left = records[:left], left - min(left, len(records))
            yield records


def split_records(split_uri: str, limit: int | None = None) -> List[bytes]:
    """The serialized examples of one split of an Examples artifact, in file order (at most `limit`)."""
    return [record for records in record_batches(split_uri, limit) for record in records]


def sample_records(split_uri: str, size: int, seed: int) -> List[bytes]:
    """A seeded uniform sample of at most `size` serialized examples of one split, in file order, read in one pass
    that holds only the sample and one batch: each record draws a random key and the `size` smallest keys are kept
    (bottom-k sampling), so the same split and seed always give the same sample."""
    import numpy as np

    rng = np.random.default_rng(seed)
    keys, positions, kept = np.empty(0), np.empty(0, dtype=np.int64), np.empty(0, dtype=object)
    seen = 0
    for records in record_batches(split_uri):
        keys = np.concatenate([keys, rng.random(len(records))])
        positions = np.concatenate([positions, np.arange(seen, seen + len(records))])
        kept = np.concatenate([kept, np.array(records, dtype=object)])
        seen += len(records)
        if len(keys) > size:
            smallest = np.argpartition(keys, size)[:size]
            keys, positions, kept = keys[smallest], positions[smallest], kept[smallest]
    return list(kept[np.argsort(positions)])


def split_statistics(statistics, split: str):
    """One split's DatasetFeatureStatisticsList of an ExampleStatistics artifact (StatisticsGen's FeatureStats.pb)."""
    import tensorflow_data_validation as tfdv  # only the readers of statistics pay for TFDV's import
    from tfx.types import artifact_utils

    return tfdv.load_stats_binary(os.path.join(artifact_utils.get_split_uri([statistics], split), "FeatureStats.pb"))
