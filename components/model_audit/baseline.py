"""The baseline of an audit: the latest earlier AuditReport, if there is one."""

from typing import Dict, List

from tfx import types
from tfx.dsl.components.common import resolver


class LatestAuditStrategy(resolver.ResolverStrategy):
    """The newest artifact of each input channel, or none on a first run.

    TFX's LatestArtifactStrategy returns None when a channel is empty, which fails the resolver
    node of every first run; an audit without a baseline is expected and says `not_applicable`.
    """

    def resolve_artifacts(self, store, input_dict: Dict[str, List[types.Artifact]]) -> Dict[str, List[types.Artifact]]:
        return {key: sorted(artifacts, key=lambda a: a.id)[-1:] for key, artifacts in input_dict.items()}
