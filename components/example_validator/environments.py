"""Schema environments as TFDV reads them: which features a schema expects in data from an environment. A library
module, so that what else needs the rule (the decision service checks requests in SERVING) shares this one copy."""

from tensorflow_metadata.proto.v0 import schema_pb2


def in_environment(feature: schema_pb2.Feature, environment: str, schema: schema_pb2.Schema) -> bool:
    """TFDV's rule: a feature's own `in_environment` or `not_in_environment` decides, else the schema's defaults."""
    if environment in feature.in_environment:
        return True
    return environment not in feature.not_in_environment and environment in schema.default_environment
