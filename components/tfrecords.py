"""TFRecord framing, as TensorFlow and Beam write it: each record is its length (8 bytes, little-endian), the masked
CRC-32C of the length (4), the data, and the masked CRC-32C of the data (4).

The Privacy step's pass 1 and the Explainer read their inputs with it a batch at a time in Beam (`ReadRecordBatches`),
Privacy frames its staged examples with it (`framed`), and its pass 2 finds the records of a staged batch by their
lengths (`record_ends`) to copy the ones it keeps. The CRCs are google-crc32c's (hardware CRC-32C, 0.2 µs for a
German-credit record): Beam's reader and writer compute them with crcmod's table in C, 1.4 µs, and spend about 10 µs
per record in all, where `read_batches` spends 3 (half of it gunzip), and hands Beam a batch, not each record.
"""

from __future__ import annotations

import struct
from typing import BinaryIO, Dict, Iterator, List, Tuple

import apache_beam as beam
import google_crc32c
from apache_beam.io.filesystem import CompressedFile, CompressionTypes
from apache_beam.io.filesystems import FileSystems

_HEADER = struct.Struct("<QI")  # length, masked CRC-32C of the length
_FOOTER = struct.Struct("<I")  # masked CRC-32C of the data
FRAMING_BYTES = _HEADER.size + _FOOTER.size
READ_BYTES = 1 << 20  # read per step, and the compressed bytes decompressed at a time


def _masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C: rotated right by 15 bits, plus a constant."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def open_records(path: str) -> BinaryIO:
    """A file to read, decompressed as its name says (`.gz`: gzip), as ReadFromTFRecord decides by default, a
    READ_BYTES of compressed data at a time: with Beam's default of 16 MiB (some 70 MiB decompressed), memory would
    follow the size of the file up to that."""
    compression = CompressionTypes.detect_compression_type(path)
    raw = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    return raw if compression == CompressionTypes.UNCOMPRESSED else CompressedFile(raw, compression, READ_BYTES)


def framed(records: List[bytes]) -> bytes:
    """The records as one TFRecord file's bytes."""
    parts = []
    for record in records:
        length = struct.pack("<Q", len(record))
        parts += (length, _FOOTER.pack(_masked_crc(length)), record, _FOOTER.pack(_masked_crc(record)))
    return b"".join(parts)


def record_ends(data: bytes) -> Iterator[int]:
    """Where each record of a TFRecord file's bytes ends (no CRC is checked: for bytes this process framed)."""
    end = 0
    while end < len(data):
        end += FRAMING_BYTES + _HEADER.unpack_from(data, end)[0]
        yield end


def read_batches(path: str, size: int) -> Iterator[List[bytes]]:
    """The records of a TFRecord file (`open_records`), `size` at a time (the last batch fewer), each checked against
    its CRCs as Beam's reader checks them."""
    batch: List[bytes] = []
    pending = b""
    with open_records(path) as f:
        while True:
            chunk = f.read(READ_BYTES)
            data, start = pending + chunk, 0
            while len(data) - start >= _HEADER.size:
                length, length_crc = _HEADER.unpack_from(data, start)
                if _masked_crc(data[start : start + 8]) != length_crc:
                    raise ValueError(f"{path}: not a valid TFRecord file (a length does not match its CRC)")
                end = start + FRAMING_BYTES + length
                if end > len(data):
                    break
                record = data[start + _HEADER.size : end - _FOOTER.size]
                if _masked_crc(record) != _FOOTER.unpack_from(data, end - _FOOTER.size)[0]:
                    raise ValueError(f"{path}: not a valid TFRecord file (a record does not match its CRC)")
                batch.append(record)
                if len(batch) == size:
                    yield batch
                    batch = []
                start = end
            pending = data[start:]
            if not chunk:
                break
    if pending:
        raise ValueError(f"{path}: not a valid TFRecord file (it ends inside a record)")
    if batch:
        yield batch


def input_files(patterns: Dict[str, str], step: str) -> List[Tuple[str, str]]:
    """(key, path) of every file each pattern matches, keys in order; a pattern that matches none fails, as
    ReadFromTFRecord fails on it, naming the `step` and the split (the key) it was the input of."""
    files = []
    for key, pattern in sorted(patterns.items()):
        found = sorted(metadata.path for metadata in FileSystems.match([pattern])[0].metadata_list)
        if not found:
            raise ValueError(f"{step}: no file matches {pattern}, the input of split '{key}'")
        files += [(key, path) for path in found]
    return files


class ReadRecordBatches(beam.PTransform):
    """(key, up to `size` serialized records) from every file the patterns (key -> file pattern) match, the files
    spread over the workers. A file is read whole by one worker, as Beam reads a gzipped one; `read_batches` reads and
    batches in one step, where ReadFromTFRecord and BatchElements spent more time than decoding the records."""

    def __init__(self, patterns: Dict[str, str], size: int, step: str):
        super().__init__()
        self._files, self._size = input_files(patterns, step), size

    def expand(self, pipeline):
        size = self._size
        return (
            pipeline
            | "InputFiles" >> beam.Create(self._files)
            | "SpreadFiles" >> beam.Reshuffle()
            | "ReadBatches" >> beam.FlatMapTuple(
                lambda key, path: ((key, records) for records in read_batches(path, size)))
        )
