"""SchemaImport: the reviewed data contract (a tensorflow_metadata Schema file) brought into the pipeline as content.

TFX's ImportSchemaGen takes the file's path as its execution parameter and copies the file when it runs. TFX's cache
key hashes execution parameters, not the files they name, so a schema edited in place was served from the cache:
the run kept checking the data against the old contract. Here the schema is read and parsed when the pipeline is
built, and its canonical text is the parameter, so an edit that changes the contract reruns the step (and
everything that reads its output), and an edit that does not (a comment, spacing) still hits the cache.
"""

from __future__ import annotations

from pathlib import Path

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import standard_artifacts
from tfx.types.component_spec import ChannelParameter, ExecutionParameter

from components.code import code_parameter
from components.schema_import import executor
from components.validation import read_text


class SchemaError(ValueError):
    """A schema file that cannot be read or parsed; the message names the file and why."""


def load_schema(path: Path | str) -> schema_pb2.Schema:
    """The Schema in a text-format file; a missing, unreadable or malformed file raises SchemaError naming it."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"Schema file {path} does not exist.")
    try:
        return text_format.Parse(read_text(path, "schema", SchemaError), schema_pb2.Schema())
    except (text_format.ParseError, UnicodeDecodeError) as problem:
        raise SchemaError(f"{path}: not a valid tensorflow_metadata Schema ({problem})") from None


class SchemaImportSpec(types.ComponentSpec):
    PARAMETERS = {
        # The parsed schema in canonical text format: what the contract says, not where it was read from.
        "contract": ExecutionParameter(type=str),
        "contract_source": ExecutionParameter(type=str),
        **code_parameter(),
    }
    INPUTS = {}
    OUTPUTS = {"schema": ChannelParameter(type=standard_artifacts.Schema)}


class SchemaImport(base_component.BaseComponent):
    """Outputs `schema`: a Schema artifact holding schema.pbtxt, as ImportSchemaGen's does."""

    SPEC_CLASS = SchemaImportSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, schema_file: Path | str):
        schema = load_schema(schema_file)  # a malformed schema fails when the pipeline is built
        super().__init__(spec=SchemaImportSpec(contract=text_format.MessageToString(schema),
                                               contract_source=str(schema_file),
                                               schema=types.Channel(type=standard_artifacts.Schema)))
