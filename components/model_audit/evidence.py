"""The audit's evidence, read from its input artifacts: the eval predictions and explanations, the statistics, the
anomalies, the privacy report, the last audit's figures and the challengers' data, each check family with the
digests of the artifacts its results rest on."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

import numpy as np
import pandas as pd
from tfx.types import artifact_utils

from components.data_gate.component import contract_violations
from components.digests import directory_digest, text_digest
from components.explainer.explain import PREDICTIONS_DIR, example_digest
from components.explainer.model import ExplainedModel, raw_values
from components.files import sample_records, split_records, split_statistics
from components.model_audit.challengers import ChallengerComparison, ChallengerData, compare
from components.model_audit.checks.result import Evidence
from components.model_audit.image_evidence import image_evidence
from components.model_audit.inputs import (
    EVAL_ROWS,
    AuditedExplanations,
    AuditInputError,
    AuditInputs,
    InterpretableModel,
    Predictions,
    judged_rows,
    labelled_predictions,
)
from components.model_audit.policy import AuditPolicy
from components.model_audit.report.audit_json import AUDIT_FILE, baseline_figures

# Which input artifacts each check family's results rest on.
FAMILY_EVIDENCE = {
    "performance": ("model", "explanations", "evaluation", "blessing"),
    "challenger": ("model", "transformed_examples", "transform_graph"),
    "fairness": ("model", "explanations", "evaluation"),
    "explanation": ("explanations",),
    "data": ("statistics", "anomalies", "schema"),
    "privacy": ("privacy_report",),
    "documentation": (),
}


def _single(input_dict: Dict[str, List], key: str):
    artifacts = input_dict.get(key) or []
    return artifacts[0] if artifacts else None


def _read_json(path: str) -> Any:
    with open(path) as f:
        return json.load(f)


# The challengers are fitted on at most this many train rows and judged on as many eval rows as the audit's other
# checks, for the same reason (inputs.EVAL_ROWS).
CHALLENGER_ROWS = {"train": 100_000, "eval": EVAL_ROWS}


def _judged_records(examples, split: str, keys: pd.Series) -> List[bytes]:
    """The serialized judged eval examples, by key, in their order: at 1,000,000 rows, 20,000 of the split's
    200,000 (inputs.EVAL_ROWS), so that only those are parsed."""
    records = split_records(artifact_utils.get_split_uri([examples], split))
    position = {example_digest(r)[:16]: i for i, r in enumerate(records)}
    return [records[position[k]] for k in keys]


def _eval_features(examples, split: str, keys: pd.Series, names: List[str]) -> Dict[str, np.ndarray]:
    """Raw feature values of the judged eval examples, by key, in their order."""
    values = raw_values(_judged_records(examples, split, keys), names)
    return {name: np.array(values[name], dtype=object) for name in names}


def _tabular_evidence(input_dict: Dict[str, List], explanations, decision_threshold: float, seed: int
                      ) -> tuple[Predictions, AuditedExplanations, str, pd.Series]:
    """A binary model's eval predictions and explanations, from the tabular Explainer's Parquet and JSON files, and
    the judged examples' keys in their order. The predictions are of the whole eval split (`judged_rows`), not
    only of the explained ones."""
    method = explanations.get_string_custom_property("primary_method")
    rows, labelled = judged_rows(explanations.uri, seed)
    if rows.empty:
        raise AuditInputError(f"{os.path.join(explanations.uri, PREDICTIONS_DIR)} holds no labelled example: "
                              "performance and fairness cannot be judged without labels")
    split = rows["split"].iloc[0]
    global_importance = _read_json(os.path.join(explanations.uri, "global.json"))
    feature_names = list(global_importance[method]["overall"]["mean_abs"])
    predictions = labelled_predictions(rows, decision_threshold, labelled)
    explained = AuditedExplanations(
        global_importance=global_importance,
        quality=_read_json(os.path.join(explanations.uri, "quality.json")),
        method=method,
        features=_eval_features(_single(input_dict, "examples"), split, rows["key"], feature_names),
    )
    return predictions, explained, split, rows["key"]


def _interpretable(input_dict: Dict[str, List], policy: AuditPolicy, split: str, keys: pd.Series
                   ) -> InterpretableModel | None:
    """The run's interpretable model scored on the candidate's judged eval examples, in their order, and whether
    it was blessed and passed its own audit (None without `prefer_interpretable` or without such a model)."""
    model_artifact = _single(input_dict, "interpretable_model")
    if policy.prefer_interpretable is None or model_artifact is None:
        return None
    from tfx.utils import path_utils

    model = ExplainedModel(path_utils.serving_model_path(model_artifact.uri))
    scores = model.predict(model.dense(_judged_records(_single(input_dict, "examples"), split, keys)))
    blessing, audit = _single(input_dict, "interpretable_blessing"), _single(input_dict, "interpretable_audit")
    passes = (blessing is not None and blessing.get_int_custom_property("blessed") == 1 and audit is not None
              and audit.get_string_custom_property("verdict") == "pass")
    return InterpretableModel(kind=model.kind, scores=scores, passes=passes, model_id=model_artifact.id)


def _transformed_split(model: ExplainedModel, transformed_examples, feature_spec, split: str, seed: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """(dense rows, labels) of one split of the Transform output, as the Trainer read it: every row up to
    CHALLENGER_ROWS[split], beyond that a seeded uniform sample of that many."""
    import tensorflow as tf

    records = sample_records(artifact_utils.get_split_uri([transformed_examples], split),
                             CHALLENGER_ROWS["train" if split == "train" else "eval"], seed)
    parsed = {k: v.numpy() for k, v in tf.io.parse_example(records, feature_spec).items()}
    return model.encode_transformed(parsed), parsed[model.label].reshape(-1)


def _challenger_comparison(input_dict: Dict[str, List], policy, split: str, decision_threshold: float
                           ) -> ChallengerComparison | None:
    """The challengers against the network on the Transform output's train and eval splits (None when the policy
    has no challenger check)."""
    check = policy.checks.challenger_margin
    transformed, graph = _single(input_dict, "transformed_examples"), _single(input_dict, "transform_graph")
    if check is None or transformed is None or graph is None:
        return None
    import tensorflow_transform as tft
    from tfx.utils import path_utils

    model = ExplainedModel(path_utils.serving_model_path(_single(input_dict, "model").uri))
    spec = tft.TFTransformOutput(graph.uri).transformed_feature_spec()
    (train_x, train_y), (eval_x, eval_y) = (_transformed_split(model, transformed, spec, s, policy.bootstrap.seed)
                                              for s in ("train", split))
    examples = split_records(artifact_utils.get_split_uri([_single(input_dict, "examples")], split), limit=100)
    data = ChallengerData(columns=model.raw_column_names, train_x=train_x, train_labels=train_y,
                          train_scores=model.predict(train_x), eval_x=eval_x, eval_labels=eval_y,
                          eval_scores=model.predict(eval_x), scales=model.numeric_scales(examples))
    return compare(data, check, policy.bootstrap, decision_threshold)


def gather(input_dict: Dict[str, List], exec_properties: Dict[str, Any], policy: AuditPolicy
           ) -> tuple[AuditInputs, List[Evidence]]:
    """Everything the checks read, and the evidence of every input artifact (the report's lineage)."""
    explanations = _single(input_dict, "explanations")
    image = explanations.get_string_custom_property("modality") == "image"
    if image:
        classes, explained, split = image_evidence(explanations)
        predictions = None
    else:
        classes = None
        predictions, explained, split, keys = _tabular_evidence(input_dict, explanations,
                                                                exec_properties["decision_threshold"],
                                                                policy.bootstrap.seed)
    statistics = _single(input_dict, "statistics")
    anomalies = _single(input_dict, "anomalies")
    privacy = _single(input_dict, "privacy_report")
    baseline = _single(input_dict, "baseline_audit")

    evidence_of = {key: Evidence(role=key, artifact_id=a.id, uri=a.uri, sha256=directory_digest(a.uri))
                   for key, artifacts in input_dict.items() for a in artifacts[:1]}
    evidence = {family: [evidence_of[k] for k in keys if k in evidence_of]
                for family, keys in FAMILY_EVIDENCE.items()}
    # The card's digest is of its content as the audit read it, like the policy's: the file is not read here.
    evidence["documentation"] = [Evidence(role="model_card", artifact_id="file",
                                          uri=exec_properties["model_card_source"],
                                          sha256=text_digest(exec_properties["model_card"]))]
    inputs = AuditInputs(
        predictions=predictions,
        explanations=explained,
        train_statistics=split_statistics(statistics, "train"),
        eval_statistics=split_statistics(statistics, split),
        anomalies=len(contract_violations(anomalies.uri, anomalies.split_names)),
        privacy_report=_read_json(os.path.join(privacy.uri, "privacy_report.json")) if privacy else {},
        model_card=json.loads(exec_properties["model_card"]),
        baseline=baseline_figures(_read_json(os.path.join(baseline.uri, AUDIT_FILE))) if baseline else None,
        evidence=evidence,
        classes=classes,
        challengers=None if image else _challenger_comparison(input_dict, policy, split,
                                                              exec_properties["decision_threshold"]),
        interpretable=None if image else _interpretable(input_dict, policy, split, keys),
    )
    return inputs, list(evidence_of.values())
