"""Pass 1's released batches, held in the work folder until the checks between the passes have passed, and pass 2,
which releases them without decoding an example.

Pass 1 de-identifies every batch to measure it; it also encodes the released rows and appends them, framed as
TFRecords and gzipped as the output files are, to one staged file per bundle and split (`StagedFile`). Beside each
goes an index with one line per batch: its length in bytes, its equivalence classes, and each row's class as a number
into them. Each bundle names what it staged in a manifest line (`StagedFile.close`), which reaches the manifest only if
the bundle succeeds: a retried bundle's abandoned file is named nowhere and never released.

Pass 2 (`release_staged`) turns a staged file holding no suppressed class into an output file by a rename; one that
holds such a class is copied a batch at a time without the rows of those classes, found by their class numbers and the
TFRecord length headers. Memory holds a batch per file being copied. Every path goes through Beam's file systems, so
the work folder may be wherever the runner's workers can write (gs:// on Dataflow).
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Set

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.tfrecords import framed, open_records, record_ends

STAGED_DIR = "staged"
FILTERED_DIR = "filtered"
RECORDS_SUFFIX = ".gz"
INDEX_SUFFIX = ".index.jsonl"


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
        data = framed(examples)
        numbers: Dict[tuple, int] = {}
        codes = [numbers.setdefault(group, len(numbers)) for group in classes]
        self._records.write(data)
        self._index.write(json.dumps({"bytes": len(data), "classes": list(numbers), "codes": codes}).encode() + b"\n")
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
            open_records(staged + RECORDS_SUFFIX) as records, \
            FileSystems.create(target, compression_type=CompressionTypes.GZIP) as out:
        for line in index:
            batch = json.loads(line)
            data = records.read(batch["bytes"])
            dropped = [tuple(group) in suppressed for group in batch["classes"]]
            ends = list(record_ends(data)) if len(data) == batch["bytes"] else []
            if len(ends) != len(batch["codes"]) or ends and ends[-1] != len(data):
                raise ValueError(f"staged file {staged}: its records do not match its index")
            kept = [data[start:end] for start, end, code in zip([0] + ends, ends, batch["codes"]) if not dropped[code]]
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
    that staged nothing gets one empty file, as Beam writes it. Filtered copies are written in the work folder, a
    thread per staged file up to one per core (gzip, most of the work, runs outside the GIL), and nothing is moved
    into the outputs unless the rows kept are the `rows_out` the report states."""
    staged_dir, filtered_dir = (FileSystems.join(work_dir, name) for name in (STAGED_DIR, FILTERED_DIR))
    sources, targets, to_filter, kept_rows = [], [], [], 0
    for split, prefix in outputs.items():
        files = []
        for line in sorted((line for line in manifest if line["split"] == split), key=lambda line: line["file"]):
            staged = FileSystems.join(staged_dir, line["file"])
            if suppressed.isdisjoint(map(tuple, line["classes"])):
                files.append(staged + RECORDS_SUFFIX)
                kept_rows += line["rows"]
            else:
                files.append(FileSystems.join(filtered_dir, line["file"] + RECORDS_SUFFIX))
                to_filter.append((staged, files[-1]))
        files = files or [_empty_records(FileSystems.join(filtered_dir, f"{uuid.uuid4().hex}{RECORDS_SUFFIX}"))]
        sources += files
        targets += [f"{prefix}-{number:05d}-of-{len(files):05d}{RECORDS_SUFFIX}" for number in range(len(files))]
    with ThreadPoolExecutor(max_workers=max(1, min(len(to_filter), os.cpu_count() or 1))) as threads:
        kept_rows += sum(threads.map(lambda job: _without_classes(*job, suppressed), to_filter))
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
