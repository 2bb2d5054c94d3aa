"""One sentence for a pydantic validation error: where, which field, what is wrong."""

from pydantic import ValidationError


def describe_validation_error(error: ValidationError, source: str) -> str:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"{source}: field '{field}': {first['msg']}"
