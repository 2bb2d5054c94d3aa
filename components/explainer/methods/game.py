"""The interventional game whose players are raw features.

v(S) for an example x is the mean over background rows b of f(hybrid), where the hybrid takes the
features in S from x and the others from b. The dense encoding is feature-separable, so the hybrid's
dense vector is x's columns where the owning feature is in S and b's columns elsewhere: no
re-encoding, one `tf.where`. Exact Shapley, sampled Shapley and the deletion/insertion curves are
all weighted sums of these values.
"""

import functools

import numpy as np
import tensorflow as tf

from components.explainer.methods.blocks import Blocks, column_owners
from components.explainer.methods.predict import PredictFn, row_scores


class InterventionalGame:
    """Coalition values v(S) for many examples and coalitions, in large batched graph calls."""

    def __init__(self, predict_fn: PredictFn, background_dense: np.ndarray, blocks: Blocks, *, batch_rows: int):
        self.background = np.atleast_2d(np.asarray(background_dense, dtype=np.float32))
        self.players = len(blocks)
        self.owners = column_owners(blocks, self.background.shape[1])
        self.batch_rows = batch_rows
        self._values = _coalition_value_graph(row_scores(predict_fn))

    def values(self, x_dense: np.ndarray, coalitions: np.ndarray) -> np.ndarray:
        """v(S) as float64 [N, C].

        `coalitions` is boolean [C, M] (the same coalitions for every example) or [N, C, M] (per example).
        Columns that no block owns are not players: they always keep x's value.
        """
        x = np.asarray(x_dense, dtype=np.float32)
        if x.shape[1] != self.background.shape[1]:
            raise ValueError(f"examples have {x.shape[1]} dense columns, the background {self.background.shape[1]}")
        coalitions = np.asarray(coalitions, dtype=bool)
        shared = coalitions.ndim == 2
        if shared:
            coalitions = coalitions[np.newaxis]
        # One always-true column for the columns that no block owns.
        coalitions = np.concatenate([coalitions, np.ones(coalitions.shape[:2] + (1,), dtype=bool)], axis=2)
        n, c, b = len(x), coalitions.shape[1], len(self.background)
        coalitions_per_call = max(1, min(c, self.batch_rows // b))
        examples_per_call = max(1, self.batch_rows // (coalitions_per_call * b))
        values = np.zeros((n, c), dtype=np.float64)
        for first in range(0, n, examples_per_call):
            rows = slice(first, first + examples_per_call)
            for start in range(0, c, coalitions_per_call):
                columns = slice(start, start + coalitions_per_call)
                masks = coalitions[:, columns] if shared else coalitions[rows, columns]
                values[rows, columns] = self._values(x[rows], self.background, masks, self.owners).numpy()
        return values


@functools.lru_cache(maxsize=32)
def _coalition_value_graph(scores):
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, None], tf.float32),  # x chunk [n, D]
            tf.TensorSpec([None, None], tf.float32),  # background [B, D]
            tf.TensorSpec([None, None, None], tf.bool),  # coalitions [n or 1, c, M + 1]
            tf.TensorSpec([None], tf.int32),  # owner of each dense column [D]
        ],
        autograph=False,
    )
    def values(x, background, coalitions, owners):
        column_masks = tf.gather(coalitions, owners, axis=2)[:, :, tf.newaxis, :]  # [n|1, c, 1, D]
        hybrids = tf.where(column_masks, x[:, tf.newaxis, tf.newaxis, :], background[tf.newaxis, tf.newaxis])
        shape = tf.shape(hybrids)
        predictions = tf.cast(scores(tf.reshape(hybrids, [-1, shape[3]])), tf.float64)
        # Averaged in float64 so that v(full) is f(x) to float64 rounding and efficiency holds as tightly.
        return tf.reduce_mean(tf.reshape(predictions, shape[:3]), axis=2)

    return values
