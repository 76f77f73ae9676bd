"""The benchmarks of a repository's asv suite, read from its source text (nothing imported).

FormulaCode's rows do not name their perf tests: they are the repository's own asv
benchmarks. Here the suite's modules (``benchmark_dir`` of ``asv.conf.json``) are parsed
for what asv would time: module-level ``time_*`` functions and ``time_*`` methods of
classes, named as asv names them (``module.Class.time_x``, dotted for sub-packages).
When there are more than the run can time, those whose module names a part of the files
the human patch changes come first (a patch to ``core/groupby/ops.py`` puts
``groupby.*`` ahead), so the benchmarks a task is about are kept. Pure: text in, names out.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath

CONF = "asv.conf.json"
DEFAULT_DIR = "benchmarks"
_DIFF_FILE = re.compile(r"^\+\+\+ b/(\S+)", re.MULTILINE)


def benchmark_dir(conf_text: str | None) -> str:
    """``benchmark_dir`` of ``asv.conf.json`` (asv allows ``//`` comment lines), else ``benchmarks``."""
    if not conf_text:
        return DEFAULT_DIR
    text = "\n".join(line for line in conf_text.splitlines() if not line.lstrip().startswith("//"))
    try:
        value = json.loads(text).get("benchmark_dir")
    except (ValueError, AttributeError):
        return DEFAULT_DIR
    return str(value).strip("/") if value else DEFAULT_DIR


def _module_name(path: str, folder: str) -> str | None:
    rel = PurePosixPath(path).relative_to(folder)
    if rel.suffix != ".py":
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts else None


def names_in(module: str, source: str) -> list[str]:
    """asv's names of the ``time_*`` benchmarks one module defines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("time_"):
            found.append(f"{module}.{node.name}")
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("time_"):
                    found.append(f"{module}.{node.name}.{item.name}")
    return found


def discover(files: Mapping[str, str], folder: str) -> list[str]:
    """Every benchmark of the suite, from ``{path: source}`` of the files under ``folder``."""
    names: list[str] = []
    for path in sorted(files):
        module = _module_name(path, folder)
        if module is not None:
            names += names_in(module, files[path])
    return names


def changed_words(patch: str | None) -> set[str]:
    """The names in the paths a diff changes (directories and file stems), lower-cased."""
    words: set[str] = set()
    for path in _DIFF_FILE.findall(patch or ""):
        pure = PurePosixPath(path)
        words.update(p.lower() for p in pure.parent.parts)
        words.add(pure.stem.lower())
    return words - {"", ".", "src", "lib", "core", "tests", "test", "__init__"}


def ranked(names: Iterable[str], patch: str | None) -> list[str]:
    """``names``, those whose module or class names something the patch changes first."""
    words = changed_words(patch)

    def score(name: str) -> int:
        parts = {p.lower().removeprefix("bench_").removeprefix("time_") for p in name.split(".")[:-1]}
        return -len(parts & words)

    return sorted(names, key=lambda n: (score(n), n))
