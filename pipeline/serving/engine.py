"""The decision engine: raw applicants in, scored, explained and de-identified decisions out, with no HTTP around it.

`Engine.from_store(config)` loads the pushed model and what its run recorded (served.py); `decide(items)` takes a
list of raw applicants (the training CSV's columns as JSON values, the label left out) and returns one plain,
JSON-able dict per item, in order. Nothing is computed until every item has been checked: the first problem raises
`InvalidApplicantError` naming the item's index and the field, and a request with one bad item decides nothing.

For each item, in this order: the serving-time privacy policy (the training run's policy as Privacy received it, with
the run's pseudonymization key: dropped columns go, names become the same pseudonyms as in training), so that only
the de-identified row is kept and returned; the score of the model (the probability of the positive label, `risk` =
1, good credit); the decision, `approve` when the score is at least the threshold the model was audited at, else
`decline`, the adverse outcome; the Explainer's attributions (its primary method, exact Shapley values for up to
`max_exact_features` raw features, against the background rows the Explainer itself used, so a request and the
batch explanation of the same applicant agree) with their base value, so that base + sum = score; for a decline, the
Explainer's reason codes in words, and recourse (recourse.py). The whole list goes through the model together: one
Transform call, the Shapley coalitions of all items in batched calls, one call for every recourse option of every
declined item, one more to check the suggestions end to end.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Sequence, TypedDict

import numpy as np

from components.explainer.config import ExplainerConfig
from components.explainer.explain import Background, attribute, decline_reasons, read_background_records
from components.explainer.model import ExplainedModel, raw_values
from components.model_audit.policy import AuditPolicy
from components.model_audit.policy import policy_digest as audit_policy_digest
from components.model_audit.policy import policy_from_json as audit_policy_from_json
from components.privacy.policy import (
    PrivacyPolicy,
    PseudonymKey,
    load_key,
    policy_digest,
    policy_from_json,
    pseudonymizes,
)
from pipeline.config import PipelineConfig, ServingConfig
from pipeline.serving.applicant import ENVIRONMENT, ApplicantContract, InvalidApplicantError, encode
from pipeline.serving.recourse import RecourseSearch
from pipeline.serving.served import NoPushedModelError, Served, ServingSetupError, find_served

__all__ = ["Decision", "Engine", "InvalidApplicantError", "NoPushedModelError", "ServingSetupError"]

APPROVE, DECLINE = "approve", "decline"


class Decision(TypedDict):
    """One item's decision: a plain dict of JSON values."""

    score: float  # the model's probability of the positive label (good credit)
    decision: str  # "approve" (score >= threshold) or "decline", the adverse outcome
    threshold: float
    reasons: List[str]  # why it was declined, in words; empty when approved
    attributions: Dict[str, Any]  # {"method", "base_value", "values": {raw feature: value}}: base + sum = score
    recourse: List[Dict[str, Any]]  # [{"changes": {feature: [from, to]}, "score", "decision", "cost"}]; declines only
    inputs: Dict[str, Any]  # the de-identified applicant, as the model read it
    groups: Dict[str, str]  # the applicant's slices (explainer.slice_features), as the Explainer reports them
    model: Dict[str, Any]  # {"artifact_id", "uri", "sha256", "run_id", "pushed_uri", "explanations_artifact_id"}
    policies: Dict[str, Any]  # {"privacy": sha256, "audit": sha256}: the policies' digests, as lineage records them


class Engine:
    def __init__(self, served: Served, serving: ServingConfig, key: PseudonymKey | None = None):
        self.served = served
        self.settings: ExplainerConfig = served.settings
        self.threshold = served.threshold
        self.model = ExplainedModel(served.model_dir)
        self.privacy_policy, self._key = self._privacy_policy(key)
        self.audit_policy: AuditPolicy | None = (audit_policy_from_json(served.audit_policy, served.audit_source)
                                                 if served.audit_policy else None)
        self.contract = ApplicantContract(served.schema, self.privacy_policy, self._key, self.model.label)
        background_records = read_background_records(served.explanations_uri)
        self.background = Background.from_examples(self.model, background_records, self.settings)

        protected = set(self.audit_policy.protected_features) if self.audit_policy else set()
        unknown = sorted(set(serving.immutable) - set(self.model.feature_names))
        if unknown:
            raise ServingSetupError(f"serving.immutable names '{unknown[0]}', which is not a feature of model "
                                    f"{served.model_id} (its features: {', '.join(self.model.feature_names)}).")
        self.immutable = sorted((set(serving.immutable) | protected) & set(self.model.feature_names))
        self.mutable = [name for name in self.model.feature_names if name not in self.immutable]
        columns = {c.released: c.feature for c in self.contract.columns.values() if c.feature is not None}
        categories = {name: self.contract.domain(columns[name]) if name in columns else None
                      for name in self.mutable}
        self.recourse = RecourseSearch.from_background(
            self.model, background_records, self.mutable, categories, serving.recourse_grid_points, self.threshold,
            serving.max_recourse)
        self._lineage = {
            "model": {"artifact_id": served.model_id, "uri": served.model_uri, "sha256": served.model_sha256,
                      "run_id": served.run_id, "pushed_uri": served.pushed_uri,
                      "explanations_artifact_id": served.explanations_id},
            "policies": {"privacy": policy_digest(self.privacy_policy) if self.privacy_policy else None,
                         "audit": audit_policy_digest(self.audit_policy) if self.audit_policy else None},
        }

    @classmethod
    def from_store(cls, config: PipelineConfig, model_id: int | None = None, key: PseudonymKey | None = None
                   ) -> Engine:
        """The engine of the pushed model (or of Model artifact `model_id`), found in the config's metadata store.
        The pseudonymization key is `key`, else read where the privacy policy says (an environment variable or a
        secret file); it must be the key the model's run used."""
        return cls(find_served(config, model_id), config.serving, key)

    def _privacy_policy(self, key: PseudonymKey | None) -> tuple[PrivacyPolicy | None, PseudonymKey | None]:
        """The run's privacy policy, fitted to a request's columns (SERVING: no label), and the key it needs."""
        served = self.served
        if served.privacy_policy is None:
            return None, None
        columns = [c for c in json.loads(served.privacy_policy)["columns"] if c != self.model.label]
        policy = policy_from_json(served.privacy_policy, columns, served.privacy_source, environment=ENVIRONMENT)
        if not pseudonymizes(policy):
            return policy, None
        key = key or load_key(policy)
        if served.key_id and key.key_id != served.key_id:
            raise ServingSetupError(
                f"The pseudonymization key at hand (id {key.key_id}) is not the one run {served.run_id} de-identified "
                f"its data with (id {served.key_id}): pseudonyms would not match; set "
                f"{policy.key_env or policy.key_file} to that key.")
        return policy, key

    def describe(self) -> Dict[str, Any]:
        """What decisions are made with: the model, the policies, the threshold, the method, the frozen features."""
        return {**json.loads(json.dumps(self._lineage)), "threshold": self.threshold,
                "method": self.settings.primary_method, "features": list(self.model.feature_names),
                "immutable": list(self.immutable), "mutable": list(self.mutable),
                "fields": self.contract.raw_columns, "audit_verdict": self.served.audit_verdict}

    def validate(self, items: Sequence[Any]) -> None:
        """Raises InvalidApplicantError for the first problem of any item, computing nothing: what a caller that
        gathers several requests into one `decide` call checks for each request first."""
        for index, item in enumerate(items):
            self.contract.check(index, item)

    def decide(self, items: Sequence[Any]) -> List[Decision]:
        """One decision per raw applicant, in order (module docstring); InvalidApplicantError, before anything is
        computed, when any item breaks the contract. The raw items are read, never kept or returned."""
        rows = self.contract.checked(items)
        if not rows:
            return []
        records = encode(rows)
        dense = self.model.dense(records)
        settings = self.settings
        result = attribute(settings.primary_method, self.model, dense, self.background, settings, records)
        scores = result.prediction
        declined = np.flatnonzero(scores < self.threshold)
        texts = raw_values(records, self.model.feature_names)
        # the slices the Explainer reports (sex, the Transform graph's age band): what outcome checks group by
        groups = {name: list(texts[name]) for name in settings.slice_features if name in texts}
        groups.update({k: list(v) for k, v in self.model.slice_keys(records).items() if k in settings.slice_features})
        suggestions = self.recourse.search([rows[i] for i in declined], dense[declined], encode)
        recourse = {int(i): [s.as_dict(self.threshold) for s in found] for i, found in zip(declined, suggestions)}
        reasons_by_row = decline_reasons(self.model, dense, texts, result.values, declined, settings.top_k_reasons)

        decisions: List[Decision] = []
        for i, row in enumerate(rows):
            decline = bool(scores[i] < self.threshold)
            reasons = reasons_by_row.get(i, [])
            if decline and not reasons:  # every feature raised the score, and still not enough
                reasons = [f"the score {scores[i]:.2f} is below the threshold {self.threshold:.2f}, although no "
                           f"feature lowered it: the typical applicant scores {result.baseline_prediction[i]:.2f}"]
            lineage = json.loads(json.dumps(self._lineage))
            decisions.append(Decision(
                score=float(scores[i]),
                decision=DECLINE if decline else APPROVE,
                threshold=self.threshold,
                reasons=reasons,
                attributions={"method": result.method, "base_value": float(result.baseline_prediction[i]),
                              "values": {name: float(result.values[i, j])
                                         for j, name in enumerate(self.model.feature_names)}},
                recourse=recourse.get(i, []),
                inputs=dict(row),
                groups={name: str(values[i]) for name, values in groups.items()},
                model=lineage["model"],
                policies=lineage["policies"],
            ))
        return decisions
