"""The Explainer: per-example and global attributions in raw-feature space, and their quality.

The mathematics lives in plain functions (`methods/`, `quality.py`) that take a differentiable
`predict_fn` on the model's dense input and the raw-feature column blocks of the feature map;
the TFX component around them only loads the SavedModel and the examples.
"""
