"""Rows of a JSON Lines file (or of a ``.json`` file holding a list), each with where it was.

One reader for the files users hand the plugin (predictions, datasets with diffs, scan
exports), so that every malformed row is reported the same way: ``FILE:LINE`` and what
was wrong. No imports of our own, nothing heavy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["json_rows"]


def json_rows(path: Path, error: type[Exception] = ValueError) -> list[tuple[str, Any]]:
    """``(FILE:LINE, value)`` for each non-blank line of a JSON Lines file; for a ``.json``
    file, ``(FILE:N, value)`` for each element of its list (or value of its object).

    A line or file that is not JSON raises ``error`` naming the file and line.
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise error(f"{path}:{exc.lineno}: malformed JSON ({exc.msg})") from None
        rows = data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
        return [(f"{path}:{i + 1}", row) for i, row in enumerate(rows)]
    out: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append((f"{path}:{number}", json.loads(line)))
            except json.JSONDecodeError as exc:
                raise error(f"{path}:{number}: malformed JSON ({exc.msg})") from None
    return out
