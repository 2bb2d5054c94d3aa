"""What-if for one applicant: `glassbox explain --example KEY --set feature=value ...`.

Reads the latest run's Explainer inputs from MLMD (the model and the examples it explained), changes the named raw
features of one eval example, and scores and explains it again with the Explainer's own code and settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import List, Mapping

from tfx.utils import path_utils

from components.explainer.explain import Background, attribute, decline_reasons, example_digest
from components.explainer.model import ExplainedModel, feature_kinds, raw_values, with_values
from components.files import split_records
from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.records import mlmd


@dataclass(frozen=True)
class WhatIf:
    key: str
    changes: Mapping[str, tuple[str, str]]  # feature -> (before, after), raw values as text
    score: float
    new_score: float
    reasons: List[str]  # the changed example's strongest negative attributions, in words
    method: str


def parse_changes(assignments: List[str]) -> dict[str, str]:
    changes = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or not name:
            raise ValueError(f"--set {assignment!r}: expected feature=value")
        changes[name] = value
    return changes


def _explainer_inputs(config: PipelineConfig):
    store = metadata.open_store(config)
    explainers = [n for n in mlmd.run_executions(store, config.pipeline_name) if n.node_id == "Explainer"]
    if not explainers:
        raise LookupError(f"The latest run of {config.pipeline_name} has no Explainer execution.")
    inputs = mlmd.input_artifacts(store, explainers[0].execution.id)
    return inputs["model"][0], inputs["examples"][0]


def what_if(config: PipelineConfig, key: str, assignments: List[str]) -> WhatIf:
    """The score of eval example `key` (its key or example_id in the attributions) before and after the changes."""
    settings = config.explainer
    if config.image:
        raise ValueError("what-if applies to tabular models; this config is an image model's")
    changes = parse_changes(assignments)
    model_artifact, examples = _explainer_inputs(config)
    split_uri = lambda split: os.path.join(examples.uri, f"Split-{split}")  # noqa: E731
    records = split_records(split_uri(settings.split))
    ids = raw_values(records, [settings.key_feature])[settings.key_feature] if settings.key_feature else []
    matches = [r for i, r in enumerate(records) if example_digest(r)[:16] == key or (ids and ids[i] == key)]
    if len(matches) != 1:
        raise LookupError(f"No single example with key or {settings.key_feature or 'id'} {key!r} in the "
                          f"'{settings.split}' split of {examples.uri}.")
    record = matches[0]
    model = ExplainedModel(path_utils.serving_model_path(model_artifact.uri))
    unknown = sorted(set(changes) - set(model.feature_names))
    if unknown:
        raise ValueError(f"--set {unknown[0]}: not a model feature (features: {', '.join(model.feature_names)})")
    changed = with_values(record, changes, feature_kinds(records, list(changes)))
    before, after = raw_values([record], list(changes)), raw_values([changed], list(changes))
    background_records = sorted(split_records(split_uri(settings.background_split)),
                                key=example_digest)[:settings.background_size]  # the Explainer's background
    background = Background.from_examples(model, background_records, settings)
    dense = model.dense([record, changed])
    result = attribute(settings.primary_method, model, dense, background, settings, [record, changed])
    reasons = decline_reasons(model, dense, raw_values([record, changed], model.feature_names), result.values, [1],
                              settings.top_k_reasons)[1]
    return WhatIf(key=key, changes={n: (before[n][0], after[n][0]) for n in changes},
                  score=float(result.prediction[0]), new_score=float(result.prediction[1]), reasons=reasons,
                  method=settings.primary_method)
