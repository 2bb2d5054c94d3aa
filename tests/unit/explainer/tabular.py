"""A small tabular layout and models on its dense encoding, shared by the explainer tests.

Raw features: `amount` (numeric), `purpose` (categorical, 3 values: a one-hot block), `age` and
`duration` (numeric) -> 6 dense columns, in the block layout of `pipeline/modules/dense_features.py`.
"""

import numpy as np
import tensorflow as tf
import tf_keras as keras

BLOCKS = [(0, 1), (1, 4), (4, 5), (5, 6)]
WIDTH = 6
NUMERIC_COLUMNS = [0, 4, 5]
CATEGORIES = 3


def dense_rows(n: int, seed: int) -> np.ndarray:
    """[n, 6] float32: standard-normal numerics and a one-hot category, as Transform + encode would give."""
    rng = np.random.default_rng(seed)
    rows = np.zeros((n, WIDTH), dtype=np.float32)
    rows[:, NUMERIC_COLUMNS] = rng.normal(size=(n, len(NUMERIC_COLUMNS)))
    rows[np.arange(n), 1 + rng.integers(0, CATEGORIES, n)] = 1.0
    return rows


def linear_logit(weights: np.ndarray, bias: float):
    """f(x) = w.x + c: every attribution method must give w * (x - baseline), summed per block."""
    w = tf.constant(weights, dtype=tf.float32)

    @tf.function
    def predict(dense):
        return tf.linalg.matvec(dense, w) + bias

    return predict


def random_mlp(seed: int, scale: float = 1.0):
    """A random tf_keras MLP with a sigmoid output, [rows, 6] -> [rows, 1]; `scale` sharpens its curvature.

    Smooth (tanh) on purpose: with ReLU the gradient jumps at every kink and any quadrature error only
    shrinks as 1/steps, too slowly for a fast test of the tolerance.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input((WIDTH,)),
        *(
            keras.layers.Dense(units, activation, kernel_initializer=keras.initializers.RandomNormal(stddev=scale))
            for units, activation in [(16, "tanh"), (8, "tanh"), (1, "sigmoid")]
        ),
    ])
    return tf.function(lambda dense: model(dense, training=False))


def float64_mlp(seed: int):
    """A tanh network computed in float64, and its numpy twin: brute force can match it to 1e-12."""
    rng = np.random.default_rng(seed)
    hidden, out = rng.normal(size=(WIDTH, 8)), rng.normal(size=8)

    def numpy_predict(dense: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-(np.tanh(dense.astype(np.float64) @ hidden) @ out)))

    @tf.function
    def predict(dense):
        return tf.sigmoid(tf.linalg.matvec(tf.tanh(tf.cast(dense, tf.float64) @ hidden), out))

    return predict, numpy_predict
