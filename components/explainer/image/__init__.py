"""The Explainer for image classifiers: pixel attributions, layer activations and their quality."""
