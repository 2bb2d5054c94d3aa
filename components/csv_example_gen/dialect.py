"""How Glassbox reads a CSV file: one contract for the pipeline's ingestion (executor.py) and `glassbox init`.

What users' tools write, and how it is read, so that every variant of a file gives the values of its plain
version (comma-delimited, LF line endings, unquoted header names):

- Encoding: UTF-8, with or without a byte-order mark (Excel's "CSV UTF-8", PowerShell); the mark is skipped.
  Anything else fails, naming the line and the byte offset of the first byte that is not UTF-8.
- Line endings: LF, or CRLF (Windows tools, R on Windows), decided by the first line. In a CRLF file a CRLF
  inside a quoted field is read as LF, as text mode reads the file: its value is the plain version's. An LF
  file is read as it is (TFX's executor keeps a quoted CRLF), and a lone CR is a character.
- Delimiter: `,`, `;` (Excel where the decimal mark is a comma) or tab, sniffed from the header line alone and
  never declared, so that `init` and the pipeline cannot disagree about a file, and no setting has to travel
  with it: the one of the three that splits the header into the most names (a quoted name's own delimiters do
  not count); `,` when none splits it, so a one-column file is read with `,`. A header that splits into as
  many names on two of them (`a;b,c`) fails, asking for the names that hold one to be quoted.
- Quoting (RFC 4180, Python's csv module with its defaults): `"` quotes a field, a quoted field may hold the
  delimiter, line breaks and doubled quotes (`""`), and header names are unquoted like any field (R's
  `write.csv`, pandas' QUOTE_ALL and QUOTE_NONNUMERIC).
- A record ends at a line break where the quotes seen since it began balance (TFX's rule): records are cut
  without being parsed, so the executor parses them in batches on every worker. Blank lines are skipped. A
  quote inside a field that does not start with one is a character to the csv module, but counts for this
  rule; where the two disagree about where a record ends, the file is refused, naming the column, rather than
  read in a way that neither the user nor a spreadsheet would.

What cannot be read fails with `CsvFormatError`, one sentence naming the file, the line and, where it
applies, the column: no header, a header with an empty or repeated name or an unclear delimiter, a row with
another number of fields than the header, a quote never closed or inside an unquoted field, a line break in
an unquoted field, bytes that are not UTF-8 (with their offset).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from itertools import chain
from typing import Iterator, List, Sequence, Tuple

from apache_beam.io.filesystems import FileSystems

DELIMITERS = (",", ";", "\t")
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
# Records per parsed batch when reading rows here; the executor batches with its own size.
ROWS_BATCH = 4096


class CsvFormatError(ValueError):
    """A CSV file that cannot be read; the message is one sentence naming the file, line and, where it applies,
    the column."""


@dataclass(frozen=True)
class Dialect:
    """What the file's writer chose: the delimiter, whether it starts with a byte-order mark, its line ending."""

    delimiter: str
    byte_order_mark: bool
    line_ending: str  # "\n" or "\r\n"


@dataclass(frozen=True)
class CsvFile:
    """A CSV file whose header has been read: its dialect and column names; `rows()` reads the rest."""

    path: str
    dialect: Dialect
    names: Tuple[str, ...]

    def record_batches(self, size: int) -> Iterator[Tuple[List[int], List[str]]]:
        """The records after the header, unparsed, `size` at a time: each one's first line number and its text."""
        records = _records(self.path, self.dialect.line_ending == "\r\n", self.dialect.delimiter, self.names)
        next(records)  # the header
        lines: List[int] = []
        texts: List[str] = []
        try:
            for line, text in records:
                lines.append(line)
                texts.append(text)
                if len(texts) == size:
                    yield lines, texts
                    lines, texts = [], []
        except CsvFormatError:
            if texts:  # the records before the one that cannot be read, so that their errors come first
                yield lines, texts
            raise
        if texts:
            yield lines, texts

    def parse(self, lines: Sequence[int], texts: Sequence[str]) -> Tuple[List[int], List[List[str]]]:
        """A batch of records as rows of cells, with their line numbers; blank lines are left out."""
        # A blank line after the last record: a field the csv module still reads as quoted at the end of the batch
        # reads it in, and line_num tells, as it does for any record read into the next one.
        reader = csv.reader(chain(texts, ["\n"]), delimiter=self.dialect.delimiter)
        width = len(self.names)
        kept_lines, rows = [], []
        try:
            for index, cells in enumerate(reader):
                if reader.line_num != index + 1:  # the csv module read on into the next record: a stray quote
                    raise _quote_error(self.path, lines[index], texts[index], self.dialect.delimiter, self.names)
                if not cells:
                    continue
                if len(cells) != width:
                    raise CsvFormatError(f"{self.path}: line {lines[index]}: {len(cells)} fields where the header "
                                         f"names {width}")
                kept_lines.append(lines[index])
                rows.append(cells)
        except csv.Error as error:
            index = reader.line_num - 1
            raise _quote_error(self.path, lines[index], texts[index], self.dialect.delimiter, self.names,
                               otherwise=str(error)) from None
        return kept_lines, rows

    def rows(self) -> Iterator[Tuple[int, List[str]]]:
        """Every row after the header: its first line's number and its cells ('' for an empty cell)."""
        for lines, texts in self.record_batches(ROWS_BATCH):
            yield from zip(*self.parse(lines, texts))

    def check(self) -> None:
        """Reads the whole file; raises CsvFormatError at the first record that cannot be read."""
        for _ in self.rows():
            pass


# R's write.csv writes each row's name, and pandas' to_csv its index, in a first column without a name.
ROW_NAMES_HINT = (" (R's write.csv puts row names there and pandas' to_csv its index: write.csv(x, row.names = FALSE) "
                  "or df.to_csv(path, index=False) leaves them out)")


def read_csv(path: str) -> CsvFile:
    """The file's dialect and header names, checked: the header must name every column, each once."""
    with FileSystems.open(path) as f:
        first = f.readline()
    line_ending = "\r\n" if first.endswith(b"\r\n") else "\n"
    header = next(_records(path, line_ending == "\r\n", None, ()), None)
    if header is None:
        raise CsvFormatError(f"{path}: the file is empty; it needs a header line naming the columns")
    delimiter, names = _sniff(path, header[1])
    if not names:
        raise CsvFormatError(f"{path}: line 1 is blank; it must name the columns")
    for index, name in enumerate(names):
        if not name:
            hint = ROW_NAMES_HINT if index == 0 else ""
            raise CsvFormatError(f"{path}: line 1: column {index + 1} has no name; every column needs one{hint}")
        if name in names[:index]:
            raise CsvFormatError(f"{path}: line 1: columns {names.index(name) + 1} and {index + 1} are both named "
                                 f"{name!r}; column names must be unique")
    return CsvFile(path, Dialect(delimiter, first.startswith(BYTE_ORDER_MARK), line_ending), tuple(names))


def _sniff(path: str, header: str) -> Tuple[str, List[str]]:
    """The delimiter that splits the header into the most names, and the names. A delimiter under which the header's
    quotes do not open and close fields (a quoted `","` read with `;`... as `,`) is a candidate only if all are."""
    splits, errors = {}, []
    for delimiter in DELIMITERS:
        try:
            splits[delimiter] = next(csv.reader([header], delimiter=delimiter), [])
        except csv.Error as error:
            errors.append(str(error))
    if not splits:
        raise _quote_error(path, 1, header, ",", (), otherwise=errors[0])
    splits = {d: names for d, names in splits.items() if _quote_trouble(header, d)[1] is None} or splits
    most = max(map(len, splits.values()))
    sniffed = [delimiter for delimiter, names in splits.items() if len(names) == most]
    if most > 1 and len(sniffed) > 1:
        raise CsvFormatError(f"{path}: line 1 splits into {most} names on {sniffed[0]!r} and on {sniffed[1]!r} "
                             f"alike, so the delimiter is unclear; quote the names that hold one of them")
    return sniffed[0], splits[sniffed[0]]  # `,` first: where no delimiter splits the header, it is `,`


def _records(path: str, crlf: bool, delimiter: str | None, names: Sequence[str]) -> Iterator[Tuple[int, str]]:
    """Every record of the file, the header first: its first line's number and its text, decoded from UTF-8.
    The delimiter and names only name the column of a quote that is never closed (None: the header is read)."""
    with FileSystems.open(path) as f:
        first = f.readline()
        if not first:
            return
        offset = len(BYTE_ORDER_MARK) if first.startswith(BYTE_ORDER_MARK) else 0  # of the record, in the file
        pending: List[bytes] = []
        quotes = 0
        for number, line in enumerate(chain([first[offset:]], f), start=1):
            pending.append(line)
            quotes += line.count(b'"')
            if quotes % 2:
                continue
            start = number - len(pending) + 1
            record = pending[0] if len(pending) == 1 else b"".join(pending)
            try:
                text = record.decode("utf-8")
            except UnicodeDecodeError as error:
                bad_line = start + record.count(b"\n", 0, error.start)
                raise CsvFormatError(f"{path}: line {bad_line} is not UTF-8 (byte 0x{record[error.start]:02x} at "
                                     f"offset {offset + error.start}); save the file as UTF-8") from None
            yield start, (text.replace("\r\n", "\n") if crlf and len(pending) > 1 else text)
            offset += len(record)
            pending, quotes = [], 0
        if pending:
            start = number - len(pending) + 1
            if delimiter is None:
                raise CsvFormatError(f"{path}: line {start}: a quote is never closed")
            raise _quote_error(path, start, b"".join(pending).decode("utf-8", errors="replace"), delimiter, names)


def _quote_error(path: str, line: int, text: str, delimiter: str, names: Sequence[str],
                 otherwise: str = "") -> CsvFormatError:
    """Why the record starting on `line` cannot be read: where its quoting breaks (the column, and how), else
    `otherwise`, the csv module's own reason."""
    field, problem = _quote_trouble(text, delimiter)
    column = f"column {names[field]!r}" if field < len(names) else f"field {field + 1}"
    if problem is None and otherwise:
        return CsvFormatError(f"{path}: line {line}: {otherwise}")
    return CsvFormatError(f"{path}: line {line}, {column}: {problem or 'a quote is never closed'}")


def _quote_trouble(text: str, delimiter: str) -> Tuple[int, str | None]:
    """The first field in which the record breaks the quoting rules as the csv module reads them, and how."""
    field, state = 0, "start"  # start of a field | in an unquoted one | in quotes | after a closing quote
    for char in text.rstrip("\r\n"):
        if state == "quoted":
            if char == '"':
                state = "closed"
        elif char == '"':
            if state == "unquoted":
                return field, ('a quote inside a field that does not start with one; quote the whole field and '
                               'double the quotes in it')
            state = "quoted"  # a field's opening quote, or the second of a doubled one
        elif char == delimiter:
            field, state = field + 1, "start"
        elif char in "\r\n":
            return field, "a line break inside a field that is not quoted; quote the field"
        else:
            state = "unquoted"
    return field, ("a quote is never closed" if state == "quoted" else None)
