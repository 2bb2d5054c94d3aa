"""The model as the methods see it: a graph function from dense rows [rows, D] to one score per row."""

import functools
from typing import Callable

import numpy as np
import tensorflow as tf

PredictFn = Callable[[tf.Tensor], tf.Tensor]


@functools.lru_cache(maxsize=32)
def row_scores(predict_fn: PredictFn) -> Callable[[tf.Tensor], tf.Tensor]:
    """`predict_fn` traced once for any row count, its output flattened to [rows] (a [rows, 1] head is fine).

    Cached per `predict_fn` object, so that explaining batch after batch of the same model (as the Beam
    workers do) reuses the traced graphs instead of tracing them again for every call. This graph and the
    methods' own are traced without AutoGraph: they hold no Python control flow over tensors, and AutoGraph would
    rewrite every function they call, the model's included (components/tracing.py), for the same graph.
    """

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.float32)], autograph=False)
    def scores(dense: tf.Tensor) -> tf.Tensor:
        return tf.reshape(predict_fn(dense), [-1])

    return scores


def predict_in_chunks(scores: Callable[[tf.Tensor], tf.Tensor], dense: np.ndarray, batch_rows: int) -> np.ndarray:
    """Scores [rows] as float64, at most `batch_rows` rows per graph call to bound memory."""
    dense = np.asarray(dense, dtype=np.float32)
    chunks = [scores(dense[i : i + batch_rows]).numpy() for i in range(0, max(len(dense), 1), batch_rows)]
    return np.concatenate(chunks).astype(np.float64)
