"""Tamper evidence: every artifact of a run carries a sha256 of its content in MLMD, and can be checked.

Glassbox's own components seal their outputs as they write them (`components.digests.seal_artifact`).
Built-in TFX components do not, so as each component finishes, before anything downstream reads its
outputs, `run_local` calls `seal_run`, which records the digest of every output that has none yet.
(Not later: TFX's cache key hashes each serialized input artifact, so an artifact changed after its
consumers ran would make them miss the cache in the next run.) Two more things are sealed beside the
artifacts: the raw input files that ExampleGen read (on its `examples` artifact, as `input_sha256`) and
the copy the Pusher wrote to the serving directory (on `pushed_model`, as `pushed_sha256`). Each digest
comes with a manifest of per-file digests, so that `verify_run` names the file that changed.

A digest vouches for the content from the moment it was recorded: for a built-in component, the moment
it finished.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

from ml_metadata.proto import metadata_store_pb2

from components.digests import DIGEST_PROPERTY, MANIFEST_PROPERTY, content_manifest, manifest_digest
from pipeline import metadata
from pipeline.config import PipelineConfig
from pipeline.records import mlmd

INTACT, MODIFIED, MISSING, UNSEALED = "intact", "modified", "missing", "unsealed"
_DONE = ("COMPLETE", "CACHED")


@dataclass(frozen=True)
class Seal:
    """One sealed path of an artifact: its content (prefix ''), its raw input ('input_') or pushed copy ('pushed_')."""

    label: str
    path: str
    prefix: str = ""

    @property
    def digest_property(self) -> str:
        return self.prefix + DIGEST_PROPERTY

    @property
    def manifest_property(self) -> str:
        return self.prefix + MANIFEST_PROPERTY


def _string(message, name: str) -> str:
    return message.custom_properties[name].string_value if name in message.custom_properties else ""


def seals_of(node: mlmd.NodeExecution, key: str, artifact: metadata_store_pb2.Artifact) -> List[Seal]:
    label = f"{node.node_id}.{key}"
    seals = [Seal(label, artifact.uri)]
    input_base = _string(node.execution, "input_base")
    if input_base:
        seals.append(Seal(f"{label} (raw input {input_base})", input_base, "input_"))
    pushed = artifact.custom_properties.get("pushed")
    if pushed is not None and pushed.int_value == 1:
        destination = _string(artifact, "pushed_destination")
        seals.append(Seal(f"{label} (pushed copy {destination})", destination, "pushed_"))
    return seals


def _run_artifacts(store, config: PipelineConfig, run_id: str | None
                   ) -> Iterator[Tuple[metadata_store_pb2.Artifact, Seal]]:
    """Each (artifact, seal) of the finished executions of a run, once."""
    seen = set()
    for node in mlmd.run_executions(store, config.pipeline_name, run_id):
        if node.state not in _DONE:
            continue
        for key, artifacts in mlmd.output_artifacts(store, node.execution.id).items():
            for artifact in artifacts:
                for seal in seals_of(node, key, artifact):
                    if (artifact.id, seal.prefix) not in seen:
                        seen.add((artifact.id, seal.prefix))
                        yield artifact, seal


def seal_run(config: PipelineConfig, run_id: str | None = None) -> int:
    """Records the digests that the run's artifacts lack; returns how many artifacts it updated."""
    store = metadata.open_store(config, writable=True)
    updated: Dict[int, metadata_store_pb2.Artifact] = {}
    for artifact, seal in _run_artifacts(store, config, run_id):
        artifact = updated.get(artifact.id, artifact)
        if seal.digest_property in artifact.custom_properties or not os.path.exists(seal.path):
            continue
        manifest = content_manifest(seal.path)
        artifact.custom_properties[seal.digest_property].string_value = manifest_digest(manifest)
        artifact.custom_properties[seal.manifest_property].string_value = json.dumps(manifest, sort_keys=True)
        updated[artifact.id] = artifact
    if updated:
        store.put_artifacts(list(updated.values()))
    return len(updated)


@dataclass
class Finding:
    label: str
    artifact_id: int
    path: str
    status: str
    changed: List[str] = field(default_factory=list)  # 'modified: variables/variables.data-00000-of-00001', ...


def _changes(recorded: Dict[str, str], current: Dict[str, str]) -> List[str]:
    return ([f"modified: {p}" for p in sorted(recorded) if p in current and current[p] != recorded[p]]
            + [f"removed: {p}" for p in sorted(set(recorded) - set(current))]
            + [f"added: {p}" for p in sorted(set(current) - set(recorded))])


def check(artifact: metadata_store_pb2.Artifact, seal: Seal) -> Finding:
    finding = Finding(seal.label, artifact.id, seal.path, INTACT)
    recorded = _string(artifact, seal.digest_property)
    if not recorded:
        finding.status = UNSEALED
    elif not os.path.exists(seal.path):
        finding.status = MISSING
    else:
        current = content_manifest(seal.path)
        if manifest_digest(current) != recorded:
            finding.status = MODIFIED
            finding.changed = _changes(json.loads(_string(artifact, seal.manifest_property) or "{}"), current)
    return finding


def sealed_digest(store, artifact_id: int) -> str | None:
    """The sha256 sealed on an artifact; None when the store has no such artifact or it was never sealed. What the
    decision record's model digests are checked against (`glassbox decisions verify`)."""
    artifacts = store.get_artifacts_by_id([artifact_id])
    return (_string(artifacts[0], DIGEST_PROPERTY) or None) if artifacts else None


def verify_run(config: PipelineConfig, run_id: str | None = None) -> List[Finding]:
    """Recomputes every sealed digest of a run (the latest by default)."""
    store = metadata.open_store(config)
    return [check(artifact, seal) for artifact, seal in _run_artifacts(store, config, run_id)]
