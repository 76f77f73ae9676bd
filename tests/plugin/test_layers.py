"""ARCHITECTURE.md's layer table, enforced: no module imports a layer above its own.

The table is the source of truth and this test reads it: each row's backticked names are
paths inside the package (``session.py``, ``agents/``; names in parentheses only list
what a package holds); a module belongs to the row with the longest path that holds it.
Every module must be in the table, and every import of ours (``import``/``from ...
import`` at any depth, relative or absolute) must point to the same layer or one further
down. Imports under ``if TYPE_CHECKING:`` do not run and are not counted. The scan is
static (``ast``), so it is fast and needs no interpreter per module.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest_isobench

PACKAGE = Path(pytest_isobench.__file__).parent
ARCHITECTURE = PACKAGE.parent / "ARCHITECTURE.md"
TABLE_HEADING = "## Layers, top to bottom"


@dataclass(frozen=True)
class Layer:
    index: int  # 0 is the top of the table
    name: str
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Upward:
    module: str
    line: int
    imported: str
    layer: str
    imported_layer: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} imports {self.imported}: {self.layer} -> {self.imported_layer} (above)"


def read_layers(text: str) -> list[Layer]:
    """The rows of the table under ``TABLE_HEADING``, top to bottom."""
    _, found, rest = text.partition(TABLE_HEADING)
    assert found, f"ARCHITECTURE.md: no {TABLE_HEADING!r} section"
    layers: list[Layer] = []
    for line in rest.splitlines():
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 3 or cells[0] in ("layer", "") or set(cells[0]) <= {"-"}:
            continue
        named = re.sub(r"\([^)]*\)", "", cells[1])  # "(...)" lists a package's modules, for the reader
        paths = tuple(p for p in re.findall(r"`([^`]+)`", named) if p.endswith((".py", "/")))
        assert paths, f"ARCHITECTURE.md: layer {cells[0]!r} names no module path"
        layers.append(Layer(len(layers), cells[0], paths))
    assert layers, "ARCHITECTURE.md: the layer table is empty"
    return layers


def module_name(path: Path, root: Path = PACKAGE) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(path: Path, layers: list[Layer], root: Path = PACKAGE) -> Layer | None:
    rel = path.relative_to(root).as_posix()
    best: tuple[int, Layer] | None = None
    for layer in layers:
        for p in layer.paths:
            holds = rel == p if p.endswith(".py") else rel.startswith(p)
            if holds and (best is None or len(p) > best[0]):
                best = (len(p), layer)
    return best[1] if best else None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:
                    visit_one(other)
                continue
            visit_one(child)

    def visit_one(child: ast.AST) -> None:
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append(child)
        visit(child)

    visit(tree)
    return found


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, known: set[str]) -> list[str]:
    """The modules of ours an import loads (the most specific known name of each)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = module.split(".") if is_package else module.split(".")[:-1]
            base = base[: len(base) - (node.level - 1)]
            origin = ".".join(base + ([node.module] if node.module else []))
        else:
            origin = node.module or ""
        names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
    out = []
    for name in names:
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name.startswith("pytest_isobench") and name not in out:
            out.append(name)
    return out


def scan(root: Path, layers: list[Layer]) -> tuple[list[Upward], list[str]]:
    """Upward imports, and the modules the table does not place."""
    files = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    where = {name: layer_of(path, layers, root) for name, path in files.items()}
    unplaced = [name for name, layer in where.items() if layer is None]
    upward: list[Upward] = []
    for name, path in files.items():
        mine = where[name]
        if mine is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in _runtime_imports(tree):
            for target in _targets(node, name, path.name == "__init__.py", set(files)):
                theirs = where[target]
                if theirs is not None and theirs.index < mine.index:
                    upward.append(Upward(name, node.lineno, target, mine.name, theirs.name))
    return upward, unplaced


def test_no_import_runs_up_the_layer_table() -> None:
    layers = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    upward, unplaced = scan(PACKAGE, layers)
    assert unplaced == [], f"modules missing from ARCHITECTURE.md's layer table: {unplaced}"
    assert upward == [], f"{len(upward)} imports run up the layer table:\n" + "\n".join(map(str, upward))


def test_every_path_in_the_table_exists() -> None:
    layers = read_layers(ARCHITECTURE.read_text(encoding="utf-8"))
    missing = [f"{layer.name}: {p}" for layer in layers for p in layer.paths if not (PACKAGE / p).exists()]
    assert missing == []


def test_the_scan_catches_an_upward_import_and_skips_type_checking(tmp_path: Path) -> None:
    root = tmp_path / "pytest_isobench"
    (root / "low").mkdir(parents=True)
    (root / "__init__.py").write_text("", encoding="utf-8")
    (root / "top.py").write_text("X = 1\n", encoding="utf-8")
    (root / "low" / "__init__.py").write_text("", encoding="utf-8")
    (root / "low" / "deep.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..top import X\n"
        "from .. import top\nimport pytest_isobench.low\n",
        encoding="utf-8",
    )
    table = (
        f"{TABLE_HEADING}\n\n| layer | modules | job |\n|---|---|---|\n"
        "| top | `__init__.py`, `top.py` | a |\n| low | `low/` (`deep.py`) | b |\n\n## next\n"
    )
    layers = read_layers(table)
    assert [(layer.name, layer.paths) for layer in layers] == [("top", ("__init__.py", "top.py")), ("low", ("low/",))]
    upward, unplaced = scan(root, layers)
    assert unplaced == []
    assert [str(u) for u in upward] == ["pytest_isobench.low.deep:4 imports pytest_isobench.top: low -> top (above)"]
