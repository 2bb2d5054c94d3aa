"""Pass 1's released batches, held in the work folder until the checks between the passes have passed, and pass 2,
which releases them without decoding an example.

Pass 1 de-identifies every batch to measure it; it also encodes the released rows and appends them, framed as
TFRecords and gzipped as the output files are, to one staged file per bundle and split (`StagedFile`). Beside each
goes an index with one line per batch: its length in bytes, its equivalence classes, and each row's class as a number
into them. Each bundle names what it staged in a manifest line (`StagedFile.close`), which reaches the manifest only if
the bundle succeeds: a retried bundle's abandoned file is named nowhere and never released.

Pass 2 (`release_staged`) turns a staged file holding no suppressed class into an output file by a rename; one that
holds such a class is copied a batch at a time without the rows of those classes, found by their class numbers and the
TFRecord length headers. Either way memory holds one batch. Every path goes through Beam's file systems, so the work
folder may be wherever the runner's workers can write (gs:// on Dataflow).
"""

from __future__ import annotations

import io
import json
import posixpath
import struct
import uuid
from typing import Dict, List, Set

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

# The framing WriteToTFRecord writes (length, masked CRC32C of it, data, masked CRC32C of the data), so that a staged
# file is byte for byte an output file; private to Beam, but unchanged since TFRecords came to Beam.
from apache_beam.io.tfrecordio import _TFRecordUtil

STAGED_DIR = "staged"
FILTERED_DIR = "filtered"
RECORDS_SUFFIX = ".gz"
INDEX_SUFFIX = ".index.jsonl"
_LENGTH = struct.Struct("<Q")  # a record's first 8 bytes
_FRAMING_BYTES = 16  # length 8, its CRC 4, the data's CRC 4


class StagedFile:
    """One bundle's released examples of one split, and their index, under a fresh name in `directory`."""

    def __init__(self, directory: str, split: str):
        self._split = split
        self._name = uuid.uuid4().hex
        self._rows = 0
        self._classes: Set[tuple] = set()
        path = FileSystems.join(directory, self._name)
        self._records = FileSystems.create(path + RECORDS_SUFFIX, compression_type=CompressionTypes.GZIP)
        self._index = FileSystems.create(path + INDEX_SUFFIX, compression_type=CompressionTypes.UNCOMPRESSED)

    def write(self, examples: List[bytes], classes: List[tuple]) -> None:
        """One batch: its serialized examples and the equivalence class of each."""
        framed = io.BytesIO()
        for example in examples:
            _TFRecordUtil.write_record(framed, example)
        numbers: Dict[tuple, int] = {}
        codes = [numbers.setdefault(group, len(numbers)) for group in classes]
        self._records.write(framed.getvalue())
        self._index.write(json.dumps({"bytes": framed.tell(), "classes": list(numbers), "codes": codes}).encode()
                          + b"\n")
        self._rows += len(examples)
        self._classes.update(numbers)

    def close(self) -> dict:
        """Closes both files and returns the manifest line that names them: split, name, rows and classes."""
        self._records.close()
        self._index.close()
        return {"split": self._split, "file": self._name, "rows": self._rows, "classes": list(self._classes)}


def _without_classes(staged: str, target: str, suppressed: Set[tuple]) -> int:
    """Copies a staged file to `target` without the rows of the suppressed classes; returns the rows kept."""
    kept_rows = 0
    with FileSystems.open(staged + INDEX_SUFFIX, compression_type=CompressionTypes.UNCOMPRESSED) as index, \
            FileSystems.open(staged + RECORDS_SUFFIX, compression_type=CompressionTypes.GZIP) as records, \
            FileSystems.create(target, compression_type=CompressionTypes.GZIP) as out:
        for line in index:
            batch = json.loads(line)
            data = records.read(batch["bytes"])
            dropped = [tuple(group) in suppressed for group in batch["classes"]]
            kept, start = [], 0
            for code in batch["codes"]:
                end = start + _FRAMING_BYTES + _LENGTH.unpack_from(data, start)[0]
                if not dropped[code]:
                    kept.append(data[start:end])
                start = end
            if start != batch["bytes"] or len(data) != start:
                raise ValueError(f"staged file {staged}: its records do not match its index")
            out.write(b"".join(kept))
            kept_rows += len(kept)
    return kept_rows


def _empty_records(path: str) -> str:
    with FileSystems.create(path, compression_type=CompressionTypes.GZIP):
        pass
    return path


def release_staged(manifest: List[dict], outputs: Dict[str, str], suppressed: Set[tuple], work_dir: str,
                   rows_out: int) -> None:
    """Pass 2: each split's staged files (manifest lines from `StagedFile.close`) become its output files, named as
    WriteToTFRecord names them (`<prefix>-00000-of-00002.gz`), without the rows of the `suppressed` classes; a split
    that staged nothing gets one empty file, as Beam writes it. Filtered copies are written in the work folder, and
    nothing is moved into the outputs unless the rows kept are the `rows_out` the report states."""
    staged_dir, filtered_dir = (FileSystems.join(work_dir, name) for name in (STAGED_DIR, FILTERED_DIR))
    sources, targets, kept_rows = [], [], 0
    for split, prefix in outputs.items():
        files = []
        for line in sorted((line for line in manifest if line["split"] == split), key=lambda line: line["file"]):
            staged = FileSystems.join(staged_dir, line["file"])
            if suppressed.isdisjoint(map(tuple, line["classes"])):
                files.append(staged + RECORDS_SUFFIX)
                kept_rows += line["rows"]
            else:
                files.append(FileSystems.join(filtered_dir, line["file"] + RECORDS_SUFFIX))
                kept_rows += _without_classes(staged, files[-1], suppressed)
        files = files or [_empty_records(FileSystems.join(filtered_dir, f"{uuid.uuid4().hex}{RECORDS_SUFFIX}"))]
        sources += files
        targets += [f"{prefix}-{number:05d}-of-{len(files):05d}{RECORDS_SUFFIX}" for number in range(len(files))]
    if kept_rows != rows_out:
        raise RuntimeError(f"Privacy: {kept_rows} rows staged for release, but the report states {rows_out}; "
                           f"nothing was released")
    for directory in sorted({posixpath.dirname(target) for target in targets}):
        if not FileSystems.exists(directory):  # a local folder; object stores have none to make
            FileSystems.mkdirs(directory)
    FileSystems.rename(sources, targets)


def remove_folder(path: str) -> None:
    """Removes a folder and all in it, if it is there: a file system's folder at once, an object store's objects under
    the folder's prefix (it has no folders) one by one."""
    path = path.rstrip("/")
    if FileSystems.exists(path):
        FileSystems.delete([path])
    left = [found.path for found in FileSystems.match([path + "/*"])[0].metadata_list]
    if left:
        FileSystems.delete(left)
