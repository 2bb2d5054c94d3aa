"""The planted-marker ground truth on a real CNN (the Trainer's build_cnn and network signatures) behind the image
explanation contract: the network retrained in place on marked images learns the marker, the methods find it, and
the weights come back."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from components.explainer.image.config import ImageExplainerConfig
from components.explainer.image.explain import attribute
from components.explainer.image.ground_truth import marker_mask, marker_scores, planted_marker_truth, stamped
from components.explainer.image.model import IMAGE_MODEL_ASSET, ExplainedImageModel
from pipeline.modules.image_training import ImageNetwork, build_cnn

SHAPE, CLASSES = (8, 8, 1), 3


class _ImageContract(ImageNetwork):
    """The Trainer's network signatures around a CNN of its architecture; no Transform graph (images go in as is)."""

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def transform_features(self, examples):
        return {"image": tf.zeros([tf.shape(examples)[0], *SHAPE])}


@pytest.fixture(scope="module")
def image_model(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("cnn"))
    module = _ImageContract(build_cnn(SHAPE, CLASSES, [4, 8], 0.0, 0.01))
    tf.saved_model.save(module, directory, signatures={
        name: getattr(module, name) for name in ("transform_features", "predict_from_features", "layer_outputs",
                                                 "predict_from_last_conv")})
    with open(os.path.join(directory, "assets", IMAGE_MODEL_ASSET), "w") as f:
        json.dump({"label": "label", "feature": "pixels", "height": 8, "width": 8, "channels": 1,
                   "classes": CLASSES, "conv_layers": ["conv1", "conv2"]}, f)
    return ExplainedImageModel(directory)


def test_marker_scores_of_maps_inside_and_outside_the_marker():
    mask = marker_mask(8, 8)
    assert mask.sum() == 4 and mask[:2, :2].all()
    inside, outside = np.zeros((2, 8, 8, 1)), np.zeros((2, 8, 8, 1))
    inside[:, 1, 1], outside[:, 5, 5] = 2.0, -3.0
    assert marker_scores(inside, mask) == {"mass_in_marker": 1.0, "pointing_game": 1.0}
    assert marker_scores(outside, mask) == {"mass_in_marker": 0.0, "pointing_game": 0.0}


def test_the_methods_find_the_marker_the_retrained_network_learnt_and_the_weights_come_back(image_model):
    rng = np.random.default_rng(0)
    images = (rng.random((150, *SHAPE)) * 0.6).astype(np.float32)
    labels = rng.integers(0, CLASSES, len(images))
    before = image_model.predict(images[:5])
    config = ImageExplainerConfig(methods=["integrated_gradients_black", "occlusion", "lime"],
                                  primary_method="occlusion", marker_epochs=15)
    truth = planted_marker_truth(image_model, images, labels, config, attribute)
    np.testing.assert_array_equal(image_model.predict(images[:5]), before)
    assert truth["marker_accuracy"] > 0.9 and truth["examples"] > 20, truth
    for method, found in truth["methods"].items():
        # The marker is 1/16 of the pixels; a map that ignored it would put about that share of its mass there.
        assert found["mass_in_marker"] > 0.3 and found["pointing_game"] > 0.8, (method, found)
    assert stamped(images[:1], marker_mask(8, 8))[0, :2, :2].min() == 1.0
