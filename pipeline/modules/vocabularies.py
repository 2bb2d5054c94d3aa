"""Every string column's vocabulary from one tf.Transform analyzer, in place of one `tft.vocabulary` per column.

The files, their names and their registration are what `tft.compute_and_apply_vocabulary(x, num_oov_buckets=1,
vocab_filename=name)` makes, so that `TFTransformOutput.vocabulary_by_name`, the transformed schema and the indices
are unchanged: tokens ordered by descending count, then by descending bytes; no empty token and none with a line
break; tf.Transform's placeholder token in a vocabulary with no token at all. What changes is the Beam pipeline:
tf.Transform plans stages of its own for each vocabulary (counting, merging, sizes, ordering, writing, and a binding
of each of its three outputs), which cost more than the counting on small data; here every column is counted in one
pass and every file is written by one step. With the numeric columns' analyzers merged as well
(preprocessing.z_scores), TFX's Transform executor on the 1,000 German-credit rows took 16.7 s before and 8.7 s
after (bench/transform.py, bench/README.md).

The analyzer is tf.Transform's `ptransform_analyzer` with a Beam PTransform, built with the private function under it
(`_apply_analyzer`, whose public form makes every output an asset once one is), and the vocabularies are registered
and annotated with tf.Transform's own functions; tests/unit/test_vocabularies.py checks the result against
`tft.compute_and_apply_vocabulary` on both stacks.
"""

from __future__ import annotations

import collections
import os
from typing import Dict, Iterable, List, Sequence, Tuple

import apache_beam as beam
import numpy as np
import tensorflow as tf
import tensorflow_transform as tft
from tensorflow_transform import analyzers as tft_analyzers
from tensorflow_transform.analyzer_nodes import TemporaryAssetInfo, TensorInfo
from tensorflow_transform.beam.experimental.analyzer_impls import PTransformAnalyzer
from tensorflow_transform.experimental.analyzers import _apply_analyzer

# What tf.Transform writes in an empty vocabulary, so that a lookup table can still be built on it.
EMPTY_VOCABULARY_TOKEN = tft_analyzers.get_empy_vocabulary_dummy_value(tf.string)[1]


def _kept(token: bytes) -> bool:
    """tf.Transform's filter of text vocabularies: no empty token, none holding a line break."""
    return bool(token) and b"\n" not in token and b"\r" not in token


def _batch_counts(batch: Sequence[np.ndarray]) -> Iterable[Tuple[Tuple[int, bytes], int]]:
    """((column index, token), count) of one batch of every column."""
    counts = collections.Counter()
    for index, column in enumerate(batch):
        counts.update((index, token) for token in column.tolist() if _kept(token))
    return counts.items()


def ordered_tokens(counts: Iterable[Tuple[int, bytes]]) -> List[bytes]:
    """A vocabulary's tokens from (count, token) pairs, in tf.Transform's order."""
    return [token for _, token in sorted(counts, reverse=True)]


def _write(_, counts, temp_dir: str, filenames: Sequence[str]) -> List[np.ndarray]:
    """Writes each column's vocabulary file; returns their paths, then their sizes."""
    by_column: List[list] = [[] for _ in filenames]
    for (index, token), count in counts:
        by_column[index].append((count, token))
    tf.io.gfile.makedirs(temp_dir)
    paths, sizes = [], []
    for filename, column in zip(filenames, by_column):
        path = os.path.join(temp_dir, filename)
        tokens = ordered_tokens(column) or [EMPTY_VOCABULARY_TOKEN]
        with tf.io.gfile.GFile(path, "wb") as out:
            out.write(b"".join(token + b"\n" for token in tokens))
        paths.append(np.array(path))
        sizes.append(np.array(len(column), np.int64))
    return paths + sizes


class _CountAndWrite(PTransformAnalyzer):
    """Batches of the string columns in; each column's vocabulary path, then each one's size, out."""

    def __init__(self, filenames: Sequence[str]):
        super().__init__()
        self._filenames = list(filenames)

    def expand(self, batches):
        counts = (batches
                  | "CountPerBatch" >> beam.FlatMap(_batch_counts)
                  | "Count" >> beam.CombinePerKey(sum))
        written = (batches.pipeline
                   | "Once" >> beam.Create([None])
                   | "Write" >> beam.Map(_write, beam.pvalue.AsIter(counts), self.base_temp_dir, self._filenames))
        return tuple(written | f"Output[{index}]" >> beam.Map(lambda outputs, index=index: outputs[index])
                     for index in range(2 * len(self._filenames)))


def vocabulary_indices(columns: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
    """Each dense string column's index in its own vocabulary (named after the column), one out-of-vocabulary
    bucket after the last token."""
    if not columns:
        return {}
    filenames = [tft_analyzers.sanitized_vocab_filename(filename=name) for name in columns]
    count = len(filenames)
    path = TensorInfo(tf.string, [], TemporaryAssetInfo(EMPTY_VOCABULARY_TOKEN, "text"))
    with tf.compat.v1.name_scope("vocabularies"):
        outputs = _apply_analyzer(_CountAndWrite(filenames), *columns.values(),
                                  output_tensor_info_list=[path] * count + [TensorInfo(tf.int64, [], None)] * count)
    indices = {}
    for index, (name, tensor) in enumerate(columns.items()):
        path, size = outputs[index], outputs[count + index]
        tft_analyzers._maybe_annotate_vocab_metadata(filenames[index], size, size)  # noqa: SLF001 (as tft.vocabulary)
        tft_analyzers.register_vocab(filenames[index], vocabulary_size=size)
        indices[name] = tft.apply_vocabulary(tensor, path, num_oov_buckets=1)
    return indices
