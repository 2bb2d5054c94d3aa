"""Checks of the run's inputs before any component starts, each failing with one sentence."""

from __future__ import annotations

from pathlib import Path

from components.csv_example_gen.dialect import CsvFormatError, read_csv
from components.privacy.policy import PrivacyPolicyError, load_policy
from components.schema_import.component import SchemaError, load_schema
from pipeline.config import PipelineConfig


class PreflightError(ValueError):
    """An input the pipeline cannot run on; the message says which and why."""


def _csv_header(path: Path) -> list:
    """The column names as CsvExampleGen reads them (components/csv_example_gen/dialect.py)."""
    try:
        return list(read_csv(str(path)).names)
    except CsvFormatError as e:
        raise PreflightError(str(e)) from e


def preflight_check(config: PipelineConfig) -> None:
    data_dir = config.data_dir
    if not data_dir.is_dir():
        raise PreflightError(f"Data directory {data_dir} does not exist.")
    files = sorted(p for p in data_dir.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        kind = {"csv": "CSV", "tfrecord": "TFRecord"}[config.data_format]
        raise PreflightError(f"Data directory {data_dir} holds no {kind} file.")
    headers = []
    for path in files if config.data_format == "csv" else []:
        header = _csv_header(path)
        headers.append(header)
        if config.label not in header:
            raise PreflightError(
                f"{path} has no label column '{config.label}' (columns: {', '.join(header)})."
            )
    if config.privacy_policy is not None:
        if not config.privacy_policy.is_file():
            raise PreflightError(f"Privacy policy {config.privacy_policy} does not exist.")
        try:
            load_policy(config.privacy_policy, headers[0] if headers else [])
        except PrivacyPolicyError as e:
            raise PreflightError(str(e)) from e
    if config.schema_file is not None:
        try:
            schema = load_schema(config.schema_file)
        except SchemaError as e:
            raise PreflightError(str(e)) from e
        if config.label not in {f.name for f in schema.feature}:
            raise PreflightError(f"Schema file {config.schema_file} does not declare the label '{config.label}'.")
    if config.training.devices != "auto":
        # A local run trains in this process: a device it cannot have fails now, not after Transform.
        from pipeline.modules.distribution import check_devices

        training = config.training
        try:
            check_devices(training.devices, strategy=training.strategy, tpu_address=training.tpu_address)
        except ValueError as e:
            raise PreflightError(str(e)) from e
