"""The package's import graph: no cycle, nothing of ours imported inside a function (in the
package or in its tests).

Every module is imported first, in a fresh interpreter of its own: a cycle shows up as an
``ImportError`` (partially initialised module) whichever module is entered first. A
static scan then finds imports of our own modules inside functions, which hide the
dependency graph (only heavy third-party libraries may be imported lazily). Importing the
plugin loads none of the heavy libraries.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import pytest_isobench

PACKAGE = Path(pytest_isobench.__file__).parent
HEAVY = ("docker", "datasets", "openai", "scipy", "matplotlib", "ray", "git", "pyarrow")


def _modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__main__" or ("perf" in parts[:-1] and "demo" in parts):
            continue  # perf scripts copied into the demo repository and run there, not modules
        if parts[-1] == "__init__":
            parts.pop()
        names.append(".".join(parts))
    return names


def _import_alone(name: str) -> tuple[str, int, str]:
    proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=120)
    return name, proc.returncode, proc.stderr[-1500:]


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    names = _modules()
    assert "pytest_isobench.taskrun.run" in names and len(names) > 80
    with ThreadPoolExecutor(max_workers=2) as pool:
        failed = [(n, err) for n, rc, err in pool.map(_import_alone, names) if rc != 0]
    assert failed == [], "\n\n".join(f"{n}:\n{err}" for n, err in failed)


def _own_imports_in_functions(path: Path, base: Path = PACKAGE.parent) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(base)
    found = []
    for fn in ast.walk(tree):
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for node in ast.walk(fn):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("pytest_isobench")):
                found.append(f"{where}:{node.lineno}: from {'.' * node.level}{node.module}")
            elif isinstance(node, ast.Import) and any(a.name.startswith("pytest_isobench") for a in node.names):
                found.append(f"{where}:{node.lineno}: import {node.names[0].name}")
    return found


def test_no_module_of_ours_is_imported_inside_a_function() -> None:
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in _own_imports_in_functions(path)]
    assert found == []


def test_no_module_of_ours_is_imported_inside_a_test_function() -> None:
    here = Path(__file__).resolve().parents[1]
    found = [hit for path in sorted(here.rglob("*.py")) for hit in _own_imports_in_functions(path, here)]
    assert found == []


def test_the_scan_finds_a_hidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import json\n\ndef f():\n    import scipy\n    from .settings import Settings\n"
        "    import pytest_isobench.keys\n    return Settings\n",
        encoding="utf-8",
    )
    assert _own_imports_in_functions(sample, tmp_path) == [
        "sample.py:5: from .settings",
        "sample.py:6: import pytest_isobench.keys",
    ]


def test_the_plugin_loads_no_heavy_library() -> None:
    code = f"import sys, pytest_isobench.plugin; print([m for m in {HEAVY!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert proc.stdout.strip() == "[]"
