"""One sentence for a pydantic validation error: where, which field, what is wrong."""

import yaml
from pydantic import ValidationError


def describe_validation_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{source}: field '{field}': {first['msg']}"


def yaml_mapping(text: str, source: str, error: type[Exception]) -> dict:
    """YAML text that must hold a mapping of fields; anything else raises `error` naming the source."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as problem:
        raise error(f"{source}: not valid YAML ({problem})") from None
    if not isinstance(data, dict):
        raise error(f"{source}: the policy must be a YAML mapping of fields")
    return data
