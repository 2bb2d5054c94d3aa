"""Intermediate layer outputs: each convolutional (or hidden dense) layer's activations on a sample, summarised per
class."""

from __future__ import annotations

from typing import Dict

import numpy as np


def sample_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first `per_class` examples of each class, in class order."""
    labels = np.asarray(labels)
    return np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]).astype(int)


def channel_means_per_class(outputs: Dict[str, np.ndarray], labels: np.ndarray) -> Dict:
    """{layer: {'shape': [..., k], 'per_class_channel_mean': {class: [k]}}}: the mean activation of each channel
    (a dense layer's unit, a conv layer's channel) over the examples of each class and all positions."""
    labels = np.asarray(labels)
    return {
        layer: {
            "shape": list(values.shape[1:]),
            "per_class_channel_mean": {
                str(c): values[labels == c].reshape(-1, values.shape[-1]).mean(axis=0).tolist()
                for c in np.unique(labels)
            },
        }
        for layer, values in outputs.items()
    }
