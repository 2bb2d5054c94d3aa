"""Content digests of artifacts: a sha256 per file and one over them all, recorded in MLMD as seals.

Pure hashlib, no TensorFlow: the lineage commands that check seals start in a fraction of a second.
"""

import hashlib
import json
import os
from typing import Dict

# Every sealed artifact carries these MLMD custom properties: the sha256 of its content and, so that
# a check can name the file that changed, the sha256 of each file under its URI.
DIGEST_PROPERTY = "sha256"
MANIFEST_PROPERTY = "sha256_manifest"


def text_digest(text: str) -> str:
    """sha256 of a text's UTF-8 bytes (e.g. a policy's canonical JSON)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_manifest(root: str) -> Dict[str, str]:
    """sha256 of every file below `root` by relative path ('.' names `root` itself when it is a file)."""
    if os.path.isfile(root):
        return {".": file_digest(root)}
    return {
        os.path.relpath(os.path.join(directory, name), root): file_digest(os.path.join(directory, name))
        for directory, _, names in os.walk(root)
        for name in names
    }


def manifest_digest(manifest: Dict[str, str]) -> str:
    """One sha256 over a manifest: paths and file digests in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(manifest):
        digest.update(f"{path}\0{manifest[path]}\n".encode())
    return digest.hexdigest()


def directory_digest(root: str) -> str:
    """sha256 of everything below `root` (relative paths and contents)."""
    return manifest_digest(content_manifest(root))


def seal_artifact(artifact) -> None:
    """Records the content digest and manifest of a TFX output artifact, as its executor finishes."""
    manifest = content_manifest(artifact.uri)
    artifact.set_string_custom_property(DIGEST_PROPERTY, manifest_digest(manifest))
    artifact.set_string_custom_property(MANIFEST_PROPERTY, json.dumps(manifest, sort_keys=True))
