"""Known ground truth: a label that depends on two of seven features, learned by the Trainer's network; the closed
form of a linear logit's Shapley values that quality.json's ground truth rests on."""

import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras

from components.explainer.ground_truth import (
    draw_rows,
    linear_logit_model,
    linear_shapley,
    planted_effects,
    train_like,
)
from components.explainer.methods import attribute_integrated_gradients, exact_shapley
from pipeline.modules.training import build_model

WEIGHTS = {0: 2.0, 3: -1.5}  # the label's logit is 2 x0 - 1.5 x3; the other five features are noise


@pytest.fixture(scope="module")
def trained():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 7)).astype(np.float32)
    logit = sum(w * x[:, j] for j, w in WEIGHTS.items())
    y = (rng.random(len(x)) < 1 / (1 + np.exp(-logit))).astype(np.float32)[:, None]
    keras.utils.set_random_seed(0)
    model = build_model(7, [16, 8], 0.0, 0.01)
    model.fit(x, y, epochs=15, batch_size=128, verbose=0)
    return model, x


def _check(attributions, explained, background):
    importance = np.abs(attributions).mean(axis=0)
    assert set(np.argsort(-importance)[:2]) == set(WEIGHTS), importance  # precision@2 = 1
    for j, w in WEIGHTS.items():
        known = w * (explained[:, j] - background[:, j].mean())
        assert np.corrcoef(attributions[:, j], known)[0, 1] >= 0.9


def test_shapley_finds_the_two_features_and_their_contributions(trained):
    model, x = trained
    background, explained = x[:50], x[1000:1300]
    shapley = exact_shapley(lambda d: model(d, training=False), explained, background, [(i, i + 1) for i in range(7)])
    _check(shapley.attributions, explained, background)


def test_integrated_gradients_finds_the_two_features_and_their_contributions(trained):
    model, x = trained
    background, explained = x[:50], x[1000:1300]
    ig = attribute_integrated_gradients(lambda d: model(d, training=False), explained, background.mean(axis=0),
                                        rule="trapezoid", tolerance=0.005)
    _check(ig.attributions, explained, background)


def test_the_closed_form_of_a_linear_logit_is_its_exact_shapley_values():
    rng = np.random.default_rng(1)
    weights, blocks = rng.normal(size=7), [(0, 1), (1, 4), (4, 5), (5, 7)]
    explained, background = rng.normal(size=(20, 7)), rng.normal(size=(9, 7))
    scorer = linear_logit_model(weights, 0.4, blocks)
    exact = exact_shapley(scorer.predict_fn, explained, background, blocks).attributions
    np.testing.assert_allclose(linear_shapley(weights, explained, background, blocks), exact, atol=1e-5)


def test_drawn_rows_take_every_feature_from_some_source_row_independently():
    rng = np.random.default_rng(2)
    blocks = [(0, 1), (1, 4), (4, 5)]
    source = np.concatenate([rng.normal(size=(50, 1)), np.eye(3)[rng.integers(0, 3, 50)], rng.normal(size=(50, 1))],
                            axis=1).astype(np.float32)
    rows = draw_rows(source, blocks, 2000, rng)
    for start, end in blocks:
        assert all((source[:, start:end] == row).all(axis=1).any() for row in rows[:100, start:end])
    # Independent draws: the two numerics, perfectly paired in no source row, are uncorrelated.
    assert abs(np.corrcoef(rows[:, 0], rows[:, 4])[0, 1]) < 0.1
    features = [{"kind": "numeric"}, {"kind": "categorical"}, {"kind": "numeric"}]
    effects = planted_effects(features, blocks, 2, rng)
    assert len(effects) == 2 and all(len(w) == blocks[j][1] - blocks[j][0] for j, w in effects.items())


@pytest.fixture
def unfused():
    """Grappler's remapper off for the test: it fuses ops (MatMul, BiasAdd, ReLU) by what the CPU offers, and fuses the
    two trainings' graphs differently on some CPUs (an AMD EPYC here: one float32 ulp in 128 of 300 scores), so only
    without it are the two compared op for op. Restored after, since the setting is the whole process's."""
    before = tf.config.optimizer.get_experimental_options().get("remapping", True)
    tf.config.optimizer.set_experimental_options({"remapping": False})
    yield
    tf.config.optimizer.set_experimental_options({"remapping": before})


def test_the_planted_signal_network_traced_without_autograph_is_the_same_to_the_bit(unfused):
    """train_like skips AutoGraph's rewrite of tf_keras (components/tracing.py) for speed, not for a different model:
    the same seed and data give the same weights as a plain Keras fit, whose train step AutoGraph converts."""
    rng = np.random.default_rng(3)
    rows = rng.normal(size=(300, 5)).astype(np.float32)
    labels = rng.random(300) < 0.5
    scores = train_like({"hidden_units": [8], "activation": "relu"}, rows, labels, seed=7, epochs=2)(rows).numpy()

    keras.utils.set_random_seed(7)
    plain = keras.Sequential([keras.Input((5,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    plain.compile(optimizer=keras.optimizers.Adam(0.01), loss=keras.losses.BinaryCrossentropy(from_logits=True))
    plain.fit(rows, labels.astype(np.float32), epochs=2, batch_size=128, verbose=0)
    np.testing.assert_array_equal(scores, plain(rows, training=False).numpy())
