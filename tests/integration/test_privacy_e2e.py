"""Personal data never gets past the Privacy step, and a policy that cannot be met stops the run."""

import gzip
import io
import os
import subprocess
import sys

import pandas as pd
import pytest

from pipeline import metadata
from pipeline.config import load_config
from pipeline.records import mlmd
from pipeline.runners.local import run_local
from tests.helpers import GERMAN_CREDIT_CSV, first_run_executions, read_rows, write_rows

pytestmark = pytest.mark.e2e

PII_COLUMNS = ("applicant_name", "email", "phone", "iban", "street_address", "date_of_birth")
DOWNSTREAM = {"StatisticsGen", "ExampleValidator", "DataGate", "Transform", "Trainer", "Explainer", "Evaluator",
              "Pusher"}


def _text_of(path: str) -> bytes:
    """A file's content as a reader would see it: gzip and Parquet are opened, the rest read as bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        return gzip.decompress(data)
    if path.endswith(".parquet"):
        return pd.read_parquet(io.BytesIO(data)).to_csv().encode("utf-8")
    return data


def test_no_original_pii_anywhere_downstream_of_privacy(pipeline_run):
    config, _ = pipeline_run
    raw = pd.read_csv(GERMAN_CREDIT_CSV, dtype=str)
    needles = {value.encode("utf-8") for column in PII_COLUMNS for value in raw[column].dropna()}
    assert len(needles) > 5000
    scanned, hits = 0, []
    for directory, _, names in os.walk(config.pipeline_root):
        relative = os.path.relpath(directory, config.pipeline_root)
        if relative.startswith(("CsvExampleGen", "_wheels")):  # the raw data itself, and our own code
            continue
        for name in names:
            content = _text_of(os.path.join(directory, name))
            scanned += 1
            hits += [(os.path.join(relative, name), n) for n in needles if n in content]
    assert scanned > 50
    assert not hits, hits[:10]


def test_everything_downstream_reads_the_deidentified_examples(pipeline_run):
    config, _ = pipeline_run
    store, executions = first_run_executions(config)
    (deidentified,) = mlmd.output_artifacts(store, executions["Privacy"].id)["deidentified_examples"]
    (raw,) = mlmd.output_artifacts(store, executions["CsvExampleGen"].id)["examples"]
    for node in ("StatisticsGen", "Transform", "Explainer", "Evaluator"):
        (examples,) = mlmd.input_artifacts(store, executions[node].id)["examples"]
        assert examples.id == deidentified.id != raw.id, node
    (transformed,) = mlmd.input_artifacts(store, executions["Trainer"].id)["examples"]
    (transform_output,) = mlmd.output_artifacts(store, executions["Transform"].id)["transformed_examples"]
    assert transformed.id == transform_output.id

    (report,) = mlmd.output_artifacts(store, executions["Privacy"].id)["privacy_report"]
    properties = report.custom_properties
    assert properties["detector_hits_after_total"].int_value == 0
    assert properties["k"].int_value >= 5 and properties["l"].int_value >= 2
    assert properties["rows_out"].int_value == properties["rows_in"].int_value - properties["suppressed_rows"].int_value
    assert len(properties["policy_digest"].string_value) == 64


def _stopped_at_privacy(config):
    store = metadata.open_store(config)
    nodes = {n.node_id: n.state for n in mlmd.run_executions(store, config.pipeline_name)}
    assert nodes.get("Privacy") == "FAILED", nodes
    assert not DOWNSTREAM & set(nodes), nodes


def test_missing_key_fails_clearly_before_any_data_is_released(tmp_path, monkeypatch):
    monkeypatch.delenv("GLASSBOX_PSEUDONYM_KEY")
    config = load_config(output_dir=tmp_path / "outputs")
    with pytest.raises(Exception, match="GLASSBOX_PSEUDONYM_KEY") as error:
        run_local(config)
    assert "test-key" not in str(error.value)
    _stopped_at_privacy(config)


def test_undeclared_pii_column_fails_closed(data_copy, tmp_path):
    rows = read_rows(data_copy)
    for row in rows:
        row["contact"] = row["email"]
    write_rows(data_copy, rows, list(rows[0]))
    output = tmp_path / "outputs"
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--data", str(data_copy.parent), "--output", str(output)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1 and "column 'contact' is not declared" in error_lines[0], result.stderr
    assert rows[0]["email"] not in result.stderr
    _stopped_at_privacy(load_config(output_dir=output))


def test_malformed_policy_is_refused_before_the_run(tmp_path):
    policy = tmp_path / "policy.yaml"
    policy.write_text("key_env: K\ndetector_rate_threshold: 0.01\nquasi_identifiers: []\nk: 1\n"
                      "on_k_violation: fail\ncolumns:\n  email: {action: hash}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--privacy-policy", str(policy),
         "--output", str(tmp_path / "outputs")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert str(policy) in line and "columns.email.action" in line and "hash" in line
    assert not (tmp_path / "outputs" / "metadata.sqlite").exists()
