"""The Privacy executor through `Do`: it releases every split as the policy says, records the report's figures and
seals both outputs, and a policy that does not fit the data fails before anything is written."""

import json
import os
import re

import pytest
from tfx.types import artifact_utils, standard_artifacts

from components.artifacts import PrivacyReport
from components.privacy import executor as privacy
from components.privacy.actions import PrivacyViolationError
from components.privacy.policy import PrivacyPolicyError, policy_digest, read_policy
from tests.unit.executors.builders import (
    SPLIT_ROWS,
    artifact,
    assert_sealed,
    files_under,
    privacy_properties,
    split_rows,
)
from tests.unit.privacy.helpers import DEFAULT_POLICY, write_splits

# The session's chain of executor outputs (conftest.py) is made once, on one xdist worker.
pytestmark = pytest.mark.xdist_group("executors")


def _outputs(directory):
    return {"deidentified_examples": [artifact(standard_artifacts.Examples, directory / "examples")],
            "privacy_report": [artifact(PrivacyReport, directory / "privacy_report")]}


def _written(outputs):
    return [name for artifacts in outputs.values() for name in files_under(artifacts[0].uri)]


def test_releases_every_split_and_seals_the_report(privacy_run):
    released, report_artifact = privacy_run["deidentified_examples"][0], privacy_run["privacy_report"][0]
    with open(os.path.join(report_artifact.uri, privacy.REPORT_FILE)) as f:
        report = json.load(f)

    assert files_under(report_artifact.uri) == [privacy.REPORT_FILE]
    assert artifact_utils.decode_split_names(released.split_names) == list(SPLIT_ROWS)
    rows = {split: split_rows(released, split) for split in SPLIT_ROWS}
    assert sum(map(len, rows.values())) == report["rows_out"] == report["rows_in"] - report["anonymity"][
        "suppressed_rows"]
    assert report["rows_in"] == sum(part.stop - part.start for part in SPLIT_ROWS.values())
    released_columns = {column for split in rows.values() for row in split for column in row}
    assert {"applicant_id", "notes", "age", "risk"} <= released_columns
    assert not released_columns & {"applicant_name", "email", "phone", "iban", "street_address", "date_of_birth"}

    digest = policy_digest(read_policy(DEFAULT_POLICY))
    assert report_artifact.get_string_custom_property("policy_digest") == report["policy_digest"] == digest
    assert released.get_string_custom_property("deidentified_by_policy") == digest
    for name in ("rows_in", "rows_out", "detector_hits_after_total"):
        assert report_artifact.get_int_custom_property(name) == report[name]
    for name in ("k", "k_before", "suppressed_rows", "l"):
        assert report_artifact.get_int_custom_property(name) == report["anonymity"][name]
    assert report["anonymity"]["k"] >= 5 and report["detector_hits_after_total"] == 0
    assert_sealed(report_artifact)
    assert_sealed(released)


def test_a_policy_column_missing_from_the_data_fails_before_anything_is_written(raw_rows, tmp_path):
    write_splits({"train": [{k: v for k, v in row.items() if k != "notes"} for row in raw_rows[:10]]},
                 tmp_path / "raw")
    outputs = _outputs(tmp_path / "Privacy")
    with pytest.raises(PrivacyPolicyError,
                       match=rf"^{re.escape(str(DEFAULT_POLICY))}: field 'columns\.notes': unknown column 'notes'; "
                             r"the data has age, "):
        privacy.Executor().Do({"examples": [artifact(standard_artifacts.Examples, tmp_path / "raw", ["train"])]},
                              outputs, privacy_properties(read_policy(DEFAULT_POLICY)))
    assert _written(outputs) == []


def test_classes_below_k_fail_closed_when_the_policy_says_fail(raw_examples, tmp_path):
    """The first Beam pass measures, then the checks fail: no example and no report is written."""
    policy = read_policy(DEFAULT_POLICY).model_copy(update={"on_k_violation": "fail"})
    outputs = _outputs(tmp_path / "Privacy")
    with pytest.raises(PrivacyViolationError,
                       match=rf"^{re.escape(str(DEFAULT_POLICY))}: k=\d+ \(policy: 5\), l=\d+ \(policy: 2\) on "
                             r"quasi-identifiers "):
        privacy.Executor().Do({"examples": [raw_examples]}, outputs, privacy_properties(policy))
    assert _written(outputs) == []


def test_a_span_without_the_label_skips_l_diversity_in_serving_and_fails_closed_in_training(raw_rows, tmp_path):
    write_splits({"span": [{k: v for k, v in row.items() if k != "risk"} for row in raw_rows[:200]]}, tmp_path / "raw")
    inputs = {"examples": [artifact(standard_artifacts.Examples, tmp_path / "raw", ["span"])]}
    outputs = _outputs(tmp_path / "serving")
    privacy.Executor().Do(inputs, outputs, privacy_properties(read_policy(DEFAULT_POLICY), environment="SERVING"))
    report_artifact = outputs["privacy_report"][0]
    with open(os.path.join(report_artifact.uri, privacy.REPORT_FILE)) as f:
        anonymity = json.load(f)["anonymity"]

    reason = ("the sensitive column 'risk' is absent from this SERVING data (a span without labels): there is no "
              "label for a class to reveal")
    assert anonymity["l_diversity_skipped"] == reason and anonymity["l_label"] == "risk"
    assert "l" not in anonymity and anonymity["k"] >= 5
    assert report_artifact.get_string_custom_property("l_diversity_skipped") == reason
    assert not report_artifact.has_custom_property("l")
    released = split_rows(outputs["deidentified_examples"][0], "span")
    assert len(released) == 200 - anonymity["suppressed_rows"] and "applicant_id" in released[0]

    outputs = _outputs(tmp_path / "training")
    with pytest.raises(PrivacyPolicyError, match=r"field 'columns\.risk': unknown column 'risk'; the data has "):
        privacy.Executor().Do(inputs, outputs, privacy_properties(read_policy(DEFAULT_POLICY)))
    assert _written(outputs) == []
