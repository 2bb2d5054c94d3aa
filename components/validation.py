"""Reading and validating the YAML files a component is configured with: one sentence for each error (where, which
field, what is wrong), and the canonical JSON in which the validated content travels into the component."""

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError


class PolicyError(ValueError):
    """A policy (or model card) that cannot be applied; the message names its file and the field. Each policy has its
    own subclass, so a caller can tell them apart or catch them all."""


def describe_validation_error(error: ValidationError, source: str) -> str:
    """The first error as one sentence: the source, the field (none for a check of the whole file) and the problem,
    without the "Value error, " that pydantic puts before a validator's own sentence."""
    first = error.errors()[0]
    message = first["msg"].removeprefix("Value error, ") if first["type"] == "value_error" else first["msg"]
    field = ".".join(str(part) for part in first["loc"])
    return f"{source}: field '{field}': {message}" if field else f"{source}: {message}"


def read_text(path: Path, what: str, error: type[Exception]) -> str:
    """The file's text; an unreadable file raises `error` naming it and saying why."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as problem:
        raise error(f"{path}: cannot read the {what} ({problem.strerror})") from None


def yaml_mapping(text: str, source: str, error: type[Exception], what: str = "policy", empty_ok: bool = False) -> dict:
    """YAML text that must hold a mapping of fields (or nothing, if `empty_ok`: then no fields); anything else raises
    `error` naming the source."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise error(f"{source}: not valid YAML ({problem})") from None
    if data is None and empty_ok:
        return {}
    if not isinstance(data, dict):
        raise error(f"{source}: the {what} must be a YAML mapping of fields")
    return data


def canonical_json(content: Any) -> str:
    """JSON with sorted keys and no spaces: the same content gives the same string, whatever the file's layout and
    comments, so an unchanged file keeps a component's execution parameters (its cache key) and digests as they were.
    A value JSON has no type for (a date YAML read from an unquoted 2025-01-31) is written as its text."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
