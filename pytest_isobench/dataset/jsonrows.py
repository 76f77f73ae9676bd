"""Rows of a JSON Lines file (or of a ``.json`` file holding a list), each with where it was.

The one JSONL reader of the package: the files users hand the plugin (predictions, datasets,
published runs, scan exports). :func:`json_lines` streams every non-blank line, parsed or
with its error, its number and byte offset (a lazy dataset reference seeks back to it);
:func:`json_rows` reads a whole file and stops at the first malformed row, naming
``FILE:LINE``. No imports of our own, nothing heavy.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["JsonLine", "json_lines", "json_rows"]


@dataclass(frozen=True)
class JsonLine:
    """One non-blank line: its 1-based number, the byte offset of its start, and its value or why it has none."""

    number: int
    offset: int
    value: Any = None
    error: str | None = None  # the JSON parser's message, or the decoding error
    column: int | None = None  # where the parser stopped, for malformed JSON

    def problem(self) -> str:
        """What is wrong with the line, as the messages of every reader say it."""
        return f"{self.error} at column {self.column}" if self.column is not None else str(self.error)


def json_lines(path: Path) -> Iterator[JsonLine]:
    """Every non-blank line of a JSON Lines file, read one at a time (a malformed one does not stop it)."""
    offset = 0
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            start, offset = offset, offset + len(raw)
            if not raw.strip():
                continue
            try:
                yield JsonLine(number, start, json.loads(raw))
            except json.JSONDecodeError as exc:
                yield JsonLine(number, start, error=exc.msg, column=exc.colno)
            except UnicodeDecodeError as exc:
                yield JsonLine(number, start, error=str(exc))


def json_rows(path: Path, error: type[Exception] = ValueError) -> list[tuple[str, Any]]:
    """``(FILE:LINE, value)`` for each non-blank line of a JSON Lines file; for a ``.json``
    file, ``(FILE:N, value)`` for each element of its list (or value of its object).

    A line or file that is not JSON raises ``error`` naming the file and line.
    """
    if path.suffix == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        rows = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
        return [(f"{path}:{i + 1}", row) for i, row in enumerate(rows)]
    out: list[tuple[str, Any]] = []
    for line in json_lines(path):
        if line.error is not None:
            raise error(f"{path}:{line.number}: malformed JSON ({line.error})")
        out.append((f"{path}:{line.number}", line.value))
    return out
