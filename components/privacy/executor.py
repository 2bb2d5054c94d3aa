"""Privacy executor: validates the policy and key, runs the Beam de-identification, then
enforces what can only be judged over the whole data (detector rates, k, l) and writes the report."""

from __future__ import annotations

import glob
import os
import shutil
from collections import defaultdict
from typing import Any, Dict, List

import tensorflow as tf
from absl import logging
from tfx.components.util import examples_utils
from tfx.dsl.components.base.base_beam_executor import BaseBeamExecutor
from tfx.types import artifact_utils

from components.files import directory_digest, write_json
from components.privacy.actions import (
    PrivacyViolationError,
    check_detector_rate,
    classes_to_suppress,
    k_anonymity,
    l_diversity,
)
from components.privacy.beam_pipeline import CLASSES_FILE, COLUMNS_FILE, build_privacy_pipeline, read_lines
from components.privacy.examples import feature_names
from components.privacy.policy import PrivacyPolicy, load_key, load_policy, policy_digest

REPORT_FILE = "privacy_report.json"


def _first_record(pattern: str) -> bytes:
    files = sorted(glob.glob(pattern))
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP").take(1):
        return record.numpy()
    raise ValueError(f"Privacy: no examples under {pattern}")


def _column_report(lines: List[Dict], policy: PrivacyPolicy) -> Dict[str, Dict]:
    columns: Dict[str, Dict] = defaultdict(lambda: {"rows": 0, "affected": 0, "non_empty_text": 0,
                                                    "pii_before": 0, "pii_after": 0})
    for line in lines:
        columns[line["column"]][line["measure"]] = line["value"]
    report = {}
    for column, counts in sorted(columns.items()):
        rule = policy.columns.get(column)
        report[column] = {
            "action": rule.action if rule else "undeclared (redact_pii)",
            "released_as": None if rule and rule.action == "drop" else policy.output_name(column),
            "rows": counts["rows"],
            "rows_affected": counts["affected"],
            "text_values": counts["non_empty_text"],
            "detector_hits_before": counts["pii_before"],
            "detector_hits_after": 0 if rule and rule.action == "drop" else counts["pii_after"],
        }
    return report


def _anonymity(classes: List[Dict], policy: PrivacyPolicy) -> Dict[str, Any]:
    counts = {tuple(c["class"]): c["rows"] for c in classes}
    labels = {tuple(c["class"]): set(c["labels"]) for c in classes}
    # Raises with the measured figures when the policy says `on_k_violation: fail`.
    suppressed = classes_to_suppress(counts, labels, policy)
    kept = {group: n for group, n in counts.items() if group not in suppressed}
    measures = {
        "quasi_identifiers": policy.quasi_identifiers,
        "required_k": policy.k,
        "k_before": k_anonymity(counts),
        "k": k_anonymity(kept),
        "equivalence_classes": len(counts),
        "suppressed_classes": len(suppressed),
        "suppressed_rows": sum(counts[g] for g in suppressed),
    }
    if policy.l_diversity:
        measures.update({
            "l_label": policy.l_diversity.label,
            "required_l": policy.l_diversity.distinct,
            "l_before": l_diversity(labels),
            "l": l_diversity({g: labels[g] for g in kept}),
        })
    return measures


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
        columns = feature_names(_first_record(inputs[splits[0]]))
        policy = load_policy(exec_properties["policy_file"], columns)
        if any(rule.action == "pseudonymize" for rule in policy.columns.values()):
            load_key(policy)

        released.split_names = raw.split_names
        released.span = raw.span
        examples_utils.set_payload_format(released, examples_utils.get_payload_format(raw))
        outputs = {s: os.path.join(released.uri, f"Split-{s}", "data_tfrecord") for s in splits}
        work = os.path.join(report_artifact.uri, "_work")
        os.makedirs(work, exist_ok=True)
        logging.info("Privacy: applying %s to splits %s", policy.source, splits)
        with self._make_beam_pipeline() as pipeline:
            build_privacy_pipeline(pipeline, inputs=inputs, outputs=outputs, policy=policy, work_dir=work)

        column_report = _column_report(read_lines(os.path.join(work, COLUMNS_FILE)), policy)
        try:
            for column, counts in column_report.items():
                if column not in policy.columns:
                    check_detector_rate(column, counts["text_values"], counts["detector_hits_before"], policy)
            anonymity = _anonymity(read_lines(os.path.join(work, CLASSES_FILE)), policy)
        except PrivacyViolationError:
            # Fail closed: no released data is left behind for anyone to pick up (the artifact's own
            # directory stays: TFX cleans it up as a failed execution's output).
            for split in splits:
                shutil.rmtree(os.path.join(released.uri, f"Split-{split}"), ignore_errors=True)
            raise
        shutil.rmtree(work)

        rows_in = max(c["rows"] for c in column_report.values())
        report = {
            "policy": policy.source,
            "policy_digest": policy_digest(policy),
            "splits": splits,
            "rows_in": rows_in,
            "rows_out": rows_in - anonymity["suppressed_rows"],
            "columns": column_report,
            "anonymity": anonymity,
            "detector_hits_after_total": sum(c["detector_hits_after"] for c in column_report.values()),
        }
        write_json(os.path.join(report_artifact.uri, REPORT_FILE), report)
        for name in ("rows_in", "rows_out", "detector_hits_after_total"):
            report_artifact.set_int_custom_property(name, report[name])
        for name in ("k", "k_before", "suppressed_rows") + (("l",) if policy.l_diversity else ()):
            report_artifact.set_int_custom_property(name, anonymity[name])
        report_artifact.set_string_custom_property("policy_digest", report["policy_digest"])
        report_artifact.set_string_custom_property("sha256", directory_digest(report_artifact.uri))
        released.set_string_custom_property("deidentified_by_policy", report["policy_digest"])
