"""SchemaImport executor: writes the schema it was given as content into its Schema artifact, then seals it."""

from __future__ import annotations

import os
from typing import Any, Dict, List

from tfx.dsl.components.base.base_executor import BaseExecutor
from tfx.types import artifact_utils

from components.digests import seal_artifact
from components.files import write_atomically

# The file name TFX's ImportSchemaGen and SchemaGen write (tfx/components/schema_gen/executor.py), which every
# reader of a Schema artifact looks for.
SCHEMA_FILE = "schema.pbtxt"


class Executor(BaseExecutor):
    def Do(  # noqa: N802 - the TFX executor interface
        self, input_dict: Dict[str, List], output_dict: Dict[str, List], exec_properties: Dict[str, Any]
    ) -> None:
        schema = artifact_utils.get_single_instance(output_dict["schema"])
        write_atomically(os.path.join(schema.uri, SCHEMA_FILE), exec_properties["contract"].encode("utf-8"))
        schema.set_string_custom_property("contract_source", exec_properties["contract_source"])
        seal_artifact(schema)
