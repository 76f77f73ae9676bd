"""Paths, names and the Python AST: what a changed file is, and which functions changed.

Pure functions over strings and source text: test/docs/source classification of paths,
dotted module names, public API names, PR numbers, the keyword pattern, and the functions
of a Python source compared before and after. No git, no I/O.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

DEFAULT_KEYWORDS: tuple[str, ...] = (
    "perf",
    "performance",
    "optimize",
    "optimise",
    "optimization",
    "optimisation",
    "speed up",
    "speedup",
    "faster",
    "latency",
    "overhead",
    "throughput",
    "memory",
    "efficient",
    "efficiency",
    "accelerate",
    "bottleneck",
    "vectorize",
    "vectorise",
)

SOURCE_SUFFIXES = frozenset(
    {
        ".py", ".pyx", ".pxd", ".pyi", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".cu", ".cuh",
        ".rs", ".go", ".java", ".kt", ".scala", ".js", ".mjs", ".ts", ".tsx", ".jsx", ".rb", ".php",
        ".swift", ".m", ".mm", ".f", ".f90", ".jl", ".zig", ".triton", ".metal", ".cl", ".sh",
    }
)  # fmt: skip
DOC_SUFFIXES = frozenset({".md", ".rst", ".txt", ".adoc", ".rdoc", ".org", ".tex", ".ipynb"})
DOC_DIRS = frozenset({"docs", "doc", "documentation", "website", "examples_docs"})
DOC_NAMES = ("readme", "changelog", "changes", "news", "history", "license", "authors", "contributing", "notice")
TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "test_utils", "unittests"})

# -- paths and names -------------------------------------------------------------------


def is_test_path(path: str) -> bool:
    pure = PurePosixPath(path)
    if any(part.lower() in TEST_DIRS for part in pure.parts[:-1]):
        return True
    name = pure.name.lower()
    stem = name.rsplit(".", 1)[0]
    return (
        name == "conftest.py"
        or stem.startswith("test_")
        or stem.endswith(("_test", "_tests"))
        or ".test." in name
        or ".spec." in name
    )


def is_docs_path(path: str) -> bool:
    pure = PurePosixPath(path)
    if pure.parts and pure.parts[0].lower() in DOC_DIRS:
        return True
    return pure.suffix.lower() in DOC_SUFFIXES or pure.name.lower().startswith(DOC_NAMES)


def is_source_path(path: str) -> bool:
    return PurePosixPath(path).suffix.lower() in SOURCE_SUFFIXES and not is_docs_path(path)


def module_name(path: str) -> str:
    """``src/pkg/mod.py`` -> ``pkg.mod``; ``pkg/__init__.py`` -> ``pkg``."""
    parts = list(PurePosixPath(path).with_suffix("").parts)
    if len(parts) > 1 and parts[0] in ("src", "lib", "python"):
        parts = parts[1:]
    if len(parts) > 1 and parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def is_public(dotted: str) -> bool:
    """No component is private (``_x``); dunders such as ``__call__`` are public."""
    return not any(p.startswith("_") and not (p.startswith("__") and p.endswith("__")) for p in dotted.split("."))


_PR = (re.compile(r"\(#(\d+)\)"), re.compile(r"pull request #(\d+)", re.IGNORECASE))


def pr_number(message: str) -> int | None:
    """The PR number of a message: ``... (#1234)`` or ``Merge pull request #1234``."""
    for pattern in _PR:
        found = pattern.findall(message)
        if found:
            return int(found[-1] if pattern is _PR[0] else found[0])
    return None


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern[str]:
    """Whole words, case-insensitive, with common endings (``optimize`` finds ``optimized``)."""
    alternatives = []
    for keyword in sorted({k.strip().lower() for k in keywords if k.strip()}, key=len, reverse=True):
        body = r"[\s_-]*".join(re.escape(word) for word in keyword.split())
        alternatives.append(body)
    if not alternatives:
        return re.compile(r"(?!x)x")
    return re.compile(r"\b(" + "|".join(alternatives) + r")(?:s|d|ed|es|ing|er|ers)?\b", re.IGNORECASE)


# -- the Python AST --------------------------------------------------------------------


def functions_of(source: str | bytes, module: str) -> dict[str, str]:
    """Every module-level function and (nested) class method: dotted name -> its source.

    The source of a definition (decorators included) is compared with blank lines and
    indentation dropped, so moving a function or re-indenting it is not a change. Functions
    nested in functions belong to their enclosing function. Definitions under ``if``/``try``
    at module or class level (version switches, optional imports) count. Raises
    :class:`SyntaxError` (or :class:`ValueError` for NUL bytes) when unparsable.
    """
    text = source.decode("utf-8", errors="replace") if isinstance(source, bytes) else source
    tree = ast.parse(text)
    lines = text.splitlines()
    found: dict[str, str] = {}

    def segment(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        last = node.end_lineno or node.lineno
        return "\n".join(stripped for line in lines[first - 1 : last] if (stripped := line.strip()))

    def visit(body: Iterable[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                found[f"{prefix}.{node.name}"] = segment(node)
            elif isinstance(node, ast.ClassDef):
                visit(node.body, f"{prefix}.{node.name}")
            elif isinstance(node, ast.If):
                visit(node.body, prefix)
                visit(node.orelse, prefix)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    visit(block, prefix)
                for handler in node.handlers:
                    visit(handler.body, prefix)

    visit(tree.body, module)
    return found


@dataclass(frozen=True)
class ChangedFunction:
    """A function or method whose AST differs between the parent and the commit."""

    name: str  # module.Class.func
    file: str
    change: str  # modified, added, removed

    @property
    def public(self) -> bool:
        return is_public(self.name)


def changed_functions(before: dict[str, str], after: dict[str, str], file: str) -> list[ChangedFunction]:
    changes = [ChangedFunction(n, file, "modified") for n in after if n in before and before[n] != after[n]]
    changes += [ChangedFunction(n, file, "added") for n in after if n not in before]
    changes += [ChangedFunction(n, file, "removed") for n in before if n not in after]
    return changes
