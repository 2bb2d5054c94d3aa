"""Validated content as YAML with the review comments a person needs next to it.

PyYAML writes no comments, so the content is written key by key (and, where a comment belongs inside a mapping or
list, entry by entry), each piece by `yaml.safe_dump`, with comment lines between the pieces. Every value is
quoted and escaped by PyYAML; the only text written here is `#` comments and the indentation that nests a piece
under its parent's key, so the file loads as exactly the content it was given.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import yaml

LINE_LENGTH = 120
# PyYAML breaks a long text at the first space past this column, so wrapped lines end a word or so later.
WRAP_COLUMN = 100
INDENT = "  "


@dataclass(frozen=True)
class Note:
    """Comments on one key or list item: lines above it, one beside it (when the entry fits on one line, else that
    one goes above too), and notes on its own keys or items (by key, or by index in a list)."""

    above: Sequence[str] = ()
    beside: str = ""
    inner: Mapping[Any, Note] = field(default_factory=dict)


def commented_yaml(content: Mapping[str, Any], header: Sequence[str], notes: Mapping[str, Note]) -> str:
    """`content` as a YAML mapping, in its own key order, after the `header` comment lines, with `notes` by key."""
    lines = _comments(header, "")
    for key, value in content.items():
        lines += _entry({key: value}, notes.get(key, Note()), "")
    return "\n".join(lines) + "\n"


def _entry(piece: Mapping | list, note: Note, indent: str) -> list[str]:
    """One key (`piece` is {key: value}) or list item (`piece` is [value]) with its notes, at `indent`."""
    value = _value(piece)
    if note.inner and value:
        # The parent's own line is a field name of the model (`columns:`, `non_features:`), written as is.
        (key,) = piece
        lines = [*_comments(note.above, indent), f"{indent}{key}:"]
        children = value.items() if isinstance(value, Mapping) else enumerate(value)
        for child, child_value in children:
            child_piece = {child: child_value} if isinstance(value, Mapping) else [child_value]
            lines += _entry(child_piece, note.inner.get(child, Note()), indent + INDENT)
        return lines
    dumped = _dump(piece, len(indent))
    beside = len(dumped) == 1 and len(note.beside.splitlines()) == 1
    lines = [*_comments([*note.above, "" if beside else note.beside], indent), *(indent + line for line in dumped)]
    if beside:
        lines[-1] += f"  # {_printable(note.beside)}"
    return lines


def _dump(piece: Mapping | list, indent: int) -> list[str]:
    """The piece's lines: collections of scalars in flow style ([a, b], {action: keep}) where every line then fits,
    otherwise all in block style."""
    value = _value(piece)
    if isinstance(value, (Mapping, list)) and value:
        lines = _safe_dump(piece, flow=None, width=math.inf)
        if max(map(len, lines)) <= LINE_LENGTH - indent:
            return lines
    return _safe_dump(piece, flow=False, width=WRAP_COLUMN - indent)


def _value(piece: Mapping | list) -> Any:
    (value,) = piece.values() if isinstance(piece, Mapping) else piece
    return value


def _safe_dump(piece: Mapping | list, flow: bool | None, width: float) -> list[str]:
    text = yaml.safe_dump(piece, default_flow_style=flow, sort_keys=False, allow_unicode=True, width=width)
    return text.removesuffix("\n").split("\n")  # only its own line breaks: a value may hold U+2028


def _comments(texts: Sequence[str], indent: str) -> list[str]:
    return [line for text in texts for line in _comment(text, indent)]


def _comment(text: str, indent: str) -> list[str]:
    """A comment line per line of `text`: a line break in it (a column name can hold one) cannot end the comment, and
    a character YAML refuses to read anywhere in a file (a control character) is written escaped."""
    return [f"{indent}# {_printable(line)}".rstrip() for line in text.splitlines()]


def _printable(line: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in line)
