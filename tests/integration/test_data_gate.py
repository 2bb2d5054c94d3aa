"""Data that breaks the contract stops the run at the gate, through the real CLI and pipeline."""

import subprocess
import sys

import pytest
import yaml

from pipeline import metadata
from pipeline.config import load_config
from pipeline.records import mlmd
from tests.helpers import read_rows, write_rows

DEFAULT_POLICY = load_config().privacy_policy

pytestmark = pytest.mark.e2e


def _unseen_category(rows, columns):
    rows[3]["checking_account"] = "spaceship"
    return rows, columns


def _missing_column(rows, columns):
    return rows, [c for c in columns if c != "purpose"]


def _string_in_numeric_column(rows, columns):
    rows[5]["credit_amount"] = "a lot"
    return rows, columns


def _nan_and_inf(rows, columns):
    rows[7]["duration"] = "nan"
    rows[8]["duration"] = "inf"
    return rows, columns


# Each break in its own column, so that one run shows the gate names every one of them.
BREAKS = [
    (_unseen_category, "checking_account", "ENUM_TYPE_UNEXPECTED_STRING_VALUES"),
    (_missing_column, "purpose", "SCHEMA_MISSING_COLUMN"),
    (_string_in_numeric_column, "credit_amount", "UNEXPECTED_DATA_TYPE"),
    (_nan_and_inf, "duration", "UNEXPECTED_DATA_TYPE"),
]


def test_corrupted_data_stops_at_the_gate_with_every_break_named(data_copy, tmp_path):
    rows = read_rows(data_copy)
    columns = list(rows[0])
    for corrupt, _, _ in BREAKS:
        rows, columns = corrupt(rows, columns)
    write_rows(data_copy, rows, columns)
    output = tmp_path / "outputs"
    # The privacy policy must match the data's columns (else it is refused before the run, see below).
    policy = yaml.safe_load(DEFAULT_POLICY.read_text())
    policy["columns"] = {c: rule for c, rule in policy["columns"].items() if c in columns}
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy))

    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--data", str(data_copy.parent), "--output", str(output),
         "--privacy-policy", str(tmp_path / "policy.yaml")],
        capture_output=True, text=True, timeout=600,
    )

    assert result.returncode == 1, result.stdout + result.stderr
    error_lines = result.stderr.strip().splitlines()
    assert len(error_lines) == 1 and error_lines[0].startswith("glassbox: The data breaks its schema"), result.stderr
    for _, feature, kind in BREAKS:
        assert f"{feature} [" in error_lines[0] and kind in error_lines[0], (feature, kind, error_lines[0])

    config = load_config(output_dir=output)
    store = metadata.open_store(config)
    nodes = {n.node_id: n.state for n in mlmd.run_executions(store, config.pipeline_name)}
    assert nodes["DataGate"] == "FAILED"
    assert not {"Transform", "Trainer", "Evaluator", "Pusher"} & set(nodes), nodes


def test_a_column_missing_from_the_data_is_named_before_the_run(data_copy, tmp_path):
    rows = read_rows(data_copy)
    rows, columns = _missing_column(rows, list(rows[0]))
    write_rows(data_copy, rows, columns)
    result = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "run", "--data", str(data_copy.parent),
         "--output", str(tmp_path / "outputs")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert "unknown column 'purpose'" in line
