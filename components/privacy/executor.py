"""Privacy executor: validates the policy and key against the input, then runs `deidentify_splits`
(measure in one Beam pipeline, staging the released batches; check; release the staged batches) and records the
report and its figures in MLMD."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from absl import logging
from tfx.components.util import examples_utils
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils

from components.artifacts import set_properties
from components.digests import seal_artifact
from components.files import split_records, write_json
from components.privacy.beam_pipeline import deidentify_splits
from components.privacy.examples import feature_names
from components.privacy.policy import load_key, policy_from_json, pseudonymizes

REPORT_FILE = "privacy_report.json"


def _first_record(split_uri: str) -> bytes:
    records = split_records(split_uri, limit=1)
    if not records:
        raise ValueError(f"Privacy: no examples under {split_uri}")
    return records[0]


class Executor(BaseBeamExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        raw = artifact_utils.get_single_instance(input_dict["examples"])
        released = artifact_utils.get_single_instance(output_dict["deidentified_examples"])
        report_artifact = artifact_utils.get_single_instance(output_dict["privacy_report"])
        splits = artifact_utils.decode_split_names(raw.split_names)
        inputs = {s: os.path.join(artifact_utils.get_split_uri([raw], s), "*") for s in splits}

        # Everything that can be wrong with the configuration fails here, before any data is processed.
        columns = feature_names(_first_record(artifact_utils.get_split_uri([raw], splits[0])))
        policy = policy_from_json(exec_properties["policy"], columns, source=exec_properties["policy_source"],
                                  environment=exec_properties["environment"])
        key_id = load_key(policy).key_id if pseudonymizes(policy) else ""

        released.split_names = raw.split_names
        released.span = raw.span
        examples_utils.set_payload_format(released, examples_utils.get_payload_format(raw))
        outputs = {s: os.path.join(released.uri, f"Split-{s}", "data_tfrecord") for s in splits}
        logging.info("Privacy: applying %s to splits %s", policy.source, splits)
        # Fails closed (PrivacyViolationError) before any example reaches the outputs (pass 1 stages them in _work).
        report = deidentify_splits(self._make_beam_pipeline, inputs=inputs, outputs=outputs, policy=policy,
                                   work_dir=os.path.join(report_artifact.uri, "_work"))

        write_json(os.path.join(report_artifact.uri, REPORT_FILE), report)
        anonymity = report["anonymity"]
        set_properties(report_artifact, {
            **{name: report[name] for name in ("rows_in", "rows_out", "detector_hits_after_total")},
            **{name: anonymity[name] for name in ("k", "k_before", "suppressed_rows")},
            "l": anonymity["l"] if policy.applied_l_diversity else None,
            "l_diversity_skipped": policy.l_diversity_skipped or None,
            "policy_digest": report["policy_digest"],
            "key_id": key_id or None,
        })
        released.set_string_custom_property("deidentified_by_policy", report["policy_digest"])
        seal_artifact(report_artifact)
        seal_artifact(released)
