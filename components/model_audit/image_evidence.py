"""What the audit reads from an image Explainer's artifact (the eval predictions, the explanation quality), and
the Explainer's figures the report shows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict

import numpy as np

from components.explainer.image.config import PREDICTIONS_FILE
from components.model_audit.inputs import AuditedExplanations, ClassPredictions

# The Explainer's figures shown in the report, by title.
REPORT_FIGURES = {
    "Attributions, one eval example per class": "overlays.png",
    "Pixel flipping: deletion and insertion against random order": "pixel_flipping.png",
}


def image_evidence(explanations) -> tuple[ClassPredictions, AuditedExplanations, str]:
    """(the model's classes on every example of the explained split, the explanations' global.json and quality.json,
    the split)."""
    uri = explanations.uri
    with np.load(os.path.join(uri, PREDICTIONS_FILE)) as arrays:
        classes = ClassPredictions(labels=arrays["label"], probabilities=arrays["probabilities"])
    read = {name: json.loads(Path(uri, name).read_text()) for name in ("global.json", "quality.json")}
    explained = AuditedExplanations(global_importance=read["global.json"], quality=read["quality.json"],
                             method=explanations.get_string_custom_property("primary_method"), features={})
    return classes, explained, explanations.get_string_custom_property("split")


def report_figures(explanations_uri: str) -> Dict[str, bytes]:
    """The report's figures: the overlays, the pixel-flipping curves and each conv layer's activations."""
    plots = Path(explanations_uri, "plots")
    names = dict(REPORT_FIGURES)
    names.update({f"Layer outputs: {p.stem.removeprefix('activations_')}": p.name
                  for p in sorted(plots.glob("activations_*.png"))})
    return {title: (plots / name).read_bytes() for title, name in names.items() if (plots / name).exists()}


def sensitivity_figures(explanations_uri: str) -> Dict[str, bytes]:
    """A tabular model's partial dependence and ICE plots, one per explained feature."""
    plots = Path(explanations_uri, "plots")
    return {f"Partial dependence and ICE: {p.stem.removeprefix('pdp_')}": p.read_bytes()
            for p in sorted(plots.glob("pdp_*.png"))}
