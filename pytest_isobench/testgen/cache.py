"""The cache of generated perf tests: ``generated_tests/<suite>/<item id>.py``.

A generated file starts with a header comment (model, prompt version, date, endpoint
without credentials; never a key) and is used as it is on every later run: a cached test
costs one directory listing per suite, one read and no request. A file without that header was
written by a person and is trusted as it is (once it compiles). A test that never passed the checks is moved
to ``generated_tests/rejected/<suite>/<item id>.py`` with the reason in its header, for
inspection. Writes are atomic (a temporary file renamed into place), so concurrent
workers never read half a file.

A generated file ends its header with ``# sha256:``, the digest of the rest of the file
(header and script): a file cut short, edited by hand (its code or its ``validated``
line) or without that line is corrupt. So is any file (hand-written too) that is not
UTF-8, does not compile or holds no code. A corrupt file is never used: a warning names
it, it is moved to ``<item id>.py.corrupt`` beside it, and the test is generated again.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import hashlib
import logging
import os
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write, file_lock
from ..dataset.models import PerfTest

GENERATED_DIR = "generated_tests"
REJECTED_DIR = "rejected"
HEADER_MARK = "# isobench-generated:"
GENERATED_NAME = "generated"
CHECKSUM_FIELD = "sha256"
CORRUPT_SUFFIX = ".corrupt"

log = logging.getLogger("isobench")

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_HEADER_LINE = re.compile(r"^# ([a-z][a-z0-9-]*): ?(.*)$")


def safe_name(text: str) -> str:
    """A file-name-safe form of a suite name or item id (no separators, no leading dot)."""
    cleaned = _UNSAFE.sub("_", text).lstrip(".")
    return cleaned or "_"


def default_root(rootdir: Path) -> Path:
    return Path(rootdir) / GENERATED_DIR


def cache_path(root: Path, suite: str, item_id: str) -> Path:
    """Where the cached test of ``item_id`` lives (whether or not it exists)."""
    return Path(root) / safe_name(suite) / f"{safe_name(item_id)}.py"


def rejected_path(root: Path, suite: str, item_id: str) -> Path:
    """Where the last failed attempt of ``item_id`` is kept."""
    return Path(root) / REJECTED_DIR / safe_name(suite) / f"{safe_name(item_id)}.py"


def now_stamp() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Header:
    """What a generated file's header records."""

    model: str
    prompt_version: str
    date: str = field(default_factory=now_stamp)
    instance_id: str = ""
    endpoint: str = ""
    attempts: int = 1
    validated: str | None = None
    rejected: str | None = None

    def render(self, item_id: str) -> str:
        lines = [
            f"{HEADER_MARK} perf test for {item_id} written by a model; kept unless --isobench-generate=all",
            f"# model: {self.model}",
            f"# prompt-version: {self.prompt_version}",
            f"# date: {self.date}",
        ]
        if self.instance_id:
            lines.append(f"# instance-id: {self.instance_id}")
        if self.endpoint:
            lines.append(f"# endpoint: {self.endpoint}")
        lines.append(f"# attempts: {self.attempts}")
        if self.validated:
            lines.append(f"# validated: {self.validated}")
        if self.rejected:
            for number, text in enumerate(self.rejected.splitlines() or [""]):
                lines.append(f"# {'rejected' if number == 0 else 'rejected-more'}: {text}")
        return "\n".join(lines) + "\n"


def read_header(text: str) -> dict[str, str] | None:
    """The header fields of a generated file's text; None for a hand-written file."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith(HEADER_MARK):
        return None
    fields: dict[str, str] = {}
    for line in lines[1:]:
        match = _HEADER_LINE.match(line)
        if match is None:
            break
        key, value = match.group(1), match.group(2)
        fields[key] = f"{fields[key]}\n{value}" if key in fields else value
    return fields


def _header_end(lines: list[str]) -> int:
    """The index of the first line below a generated header (``lines`` start with the mark)."""
    index = 1
    while index < len(lines) and _HEADER_LINE.match(lines[index].rstrip("\n")):
        index += 1
    return index


def _split_checksum(text: str) -> tuple[str, list[str]]:
    """``text`` without its header's checksum lines, and the digests those lines hold."""
    lines = text.splitlines(keepends=True)
    end = _header_end(lines)
    kept, digests = [], []
    for index, line in enumerate(lines):
        match = _HEADER_LINE.match(line.rstrip("\n")) if 0 < index < end else None
        if match is not None and match.group(1) == CHECKSUM_FIELD:
            digests.append(match.group(2).strip())
        else:
            kept.append(line)
    return "".join(kept), digests


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seal(text: str) -> str:
    """A generated file's text with its checksum as the header's last line (hand-written: as is)."""
    if not text.startswith(HEADER_MARK):
        return text
    bare, _ = _split_checksum(text)
    lines = bare.splitlines(keepends=True)
    end = _header_end(lines)
    lines.insert(end, f"# {CHECKSUM_FIELD}: {_digest(bare)}\n")
    return "".join(lines)


def problem(text: str) -> str | None:
    """Why a cached file's text must not be used, or None when it is intact."""
    if text.startswith(HEADER_MARK):
        bare, digests = _split_checksum(text)
        if not digests:
            return f"its header has no '# {CHECKSUM_FIELD}:' line"
        if digests != [_digest(bare)]:
            return "its checksum does not match its content (cut short or edited)"
    try:
        tree = ast.parse(strip_header(text))
    except SyntaxError as exc:
        return f"it does not compile (line {exc.lineno}: {exc.msg})"
    except ValueError as exc:  # NUL bytes
        return f"it does not compile ({exc})"
    if not tree.body:
        return "it holds no code"
    return None


class CacheWarning(UserWarning):
    """A cached generated test was corrupt and is not used."""


def set_aside(path: Path, why: str) -> Path:
    """Report a corrupt cached test (warning naming the file) and move it out of the way."""
    kept = path.with_name(path.name + CORRUPT_SUFFIX)
    with contextlib.suppress(FileNotFoundError):  # another worker moved it first
        path.replace(kept)
    message = f"generated test cache {path} is corrupt ({why}): moved to {kept.name}, it is generated again"
    log.warning("%s", message)
    warnings.warn(CacheWarning(message), stacklevel=2)
    return kept


def strip_header(text: str) -> str:
    """The script below a generated header (the whole text for a hand-written file)."""
    lines = text.splitlines(keepends=True)
    if not lines or not lines[0].startswith(HEADER_MARK):
        return text
    return "".join(lines[_header_end(lines) :])


@dataclass(frozen=True)
class CachedTest:
    """A test found in the cache: its perf test, where it is, and its header."""

    test: PerfTest
    path: Path
    header: dict[str, str] | None

    @property
    def generated(self) -> bool:
        return self.header is not None

    @property
    def validated(self) -> bool:
        """Hand-written files are trusted; generated ones once they passed validation."""
        return self.header is None or bool(self.header.get("validated"))


@contextmanager
def suite_lock(root: Path, suite: str) -> Iterator[None]:
    """Hold the suite's generation lock (xdist workers that collect the same suite wait here)."""
    with file_lock(Path(root) / f".{safe_name(suite)}.lock"):
        yield


def cached_ids(root: Path, suite: str) -> frozenset[str]:
    """The file stems present for ``suite``: one listing answers every item of the suite."""
    folder = Path(root) / safe_name(suite)
    try:
        with os.scandir(folder) as entries:
            return frozenset(e.name[:-3] for e in entries if e.name.endswith(".py") and not e.name.startswith("."))
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()


def load_cached(root: Path, suite: str, item_id: str) -> CachedTest | None:
    """The cached test of ``item_id`` with its header, or None when there is none.

    A corrupt file is reported and set aside (see the module doc), and counts as none.
    """
    path = cache_path(root, suite, item_id)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except UnicodeDecodeError as exc:
        set_aside(path, f"not UTF-8 text (byte {exc.start})")
        return None
    except OSError as exc:
        set_aside(path, f"unreadable ({exc.strerror})")
        return None
    why = problem(text)
    if why is not None:
        set_aside(path, why)
        return None
    return CachedTest(PerfTest(name=GENERATED_NAME, script=text), path, read_header(text))


def corrupt_path(root: Path, suite: str, item_id: str) -> Path:
    """Where a corrupt cached test of ``item_id`` was moved."""
    path = cache_path(root, suite, item_id)
    return path.with_name(path.name + CORRUPT_SUFFIX)


def cached_test(root: Path, suite: str, item_id: str) -> PerfTest | None:
    """The cached (generated or hand-written) perf test of ``item_id``, or None."""
    found = load_cached(root, suite, item_id)
    return found.test if found is not None else None


def write_test(root: Path, suite: str, item_id: str, script: str, header: Header) -> Path:
    """Write a generated test (header + script) atomically; the rejected copy goes."""
    path = cache_path(root, suite, item_id)
    body = script if script.endswith("\n") else script + "\n"
    atomic_write(path, seal(header.render(item_id) + body))
    rejected_path(root, suite, item_id).unlink(missing_ok=True)
    return path


def write_rejected(root: Path, suite: str, item_id: str, script: str, header: Header, reason: str) -> Path:
    """Keep the last failed attempt under ``rejected/`` with the reason in its header."""
    path = rejected_path(root, suite, item_id)
    body = script if script.endswith("\n") else script + "\n"
    stamped = Header(
        model=header.model,
        prompt_version=header.prompt_version,
        date=header.date,
        instance_id=header.instance_id,
        endpoint=header.endpoint,
        attempts=header.attempts,
        rejected=reason.strip()[:4000] or "rejected",
    )
    atomic_write(path, seal(stamped.render(item_id) + body))
    return path


def rejected_reason(root: Path, suite: str, item_id: str, prompt_version: str | None = None) -> str | None:
    """Why the kept rejected attempt of ``item_id`` was rejected, or None when none is kept
    (or, with ``prompt_version``, when it was asked with another prompt: a new prompt may do
    better, so an old rejection does not stop it)."""
    path = rejected_path(root, suite, item_id)
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    header = read_header(text) or {}
    if prompt_version is not None and header.get("prompt-version", prompt_version) != prompt_version:
        return None
    return header.get("rejected", "") + ("\n" + header["rejected-more"] if "rejected-more" in header else "")


def mark_validated(path: Path, note: str) -> None:
    """Record in a generated file's header that it passed validation (hand-written: no-op)."""
    text = path.read_text(encoding="utf-8")
    header = read_header(text)
    if header is None or header.get("validated"):
        return
    lines = _split_checksum(text)[0].splitlines(keepends=True)
    clean = " ".join(note.split())
    lines.insert(_header_end(lines), f"# validated: {now_stamp()} {clean}".rstrip() + "\n")
    atomic_write(path, seal("".join(lines)))


def reject(root: Path, suite: str, item_id: str, reason: str) -> Path | None:
    """Move a generated test that failed validation to ``rejected/`` (hand-written: kept)."""
    found = load_cached(root, suite, item_id)
    if found is None or found.header is None:
        return None
    header = found.header
    attempts = header.get("attempts", "1")
    stamped = Header(
        model=header.get("model", "?"),
        prompt_version=header.get("prompt-version", "?"),
        date=header.get("date", now_stamp()),
        instance_id=header.get("instance-id", ""),
        endpoint=header.get("endpoint", ""),
        attempts=int(attempts) if attempts.isdigit() else 1,
    )
    kept = write_rejected(root, suite, item_id, strip_header(found.test.script or ""), stamped, reason)
    found.path.unlink(missing_ok=True)
    return kept
