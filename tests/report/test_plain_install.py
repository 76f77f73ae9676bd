"""A plain install (no extras) produces the HTML report, figures included.

How it is checked: a real clean virtual environment would download every dependency
(minutes, and the network). Instead ``isobench report --html`` runs in a fresh interpreter
where only the standard library, this package, and the distributions ``pyproject.toml``'s
``dependencies`` need (transitively, no extras) can be imported; importing anything else
raises ``ModuleNotFoundError``, as it would after ``pip install pytest-isobench``. So a
library the report path needs but that only an extra (or the test tooling) installs makes
this test fail. A few seconds, so not marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from report_records import demo_records, write_dir

ROOT = Path(__file__).resolve().parents[2]

# Runs in the fresh interpreter: argv[1] the JSON list of allowed distributions, then the CLI's.
_DRIVER = r"""
import importlib.abc, importlib.machinery, importlib.metadata, json, re, site, sys

allowed = set(json.loads(sys.argv[1]))
norm = lambda name: re.sub(r"[-_.]+", "-", name).lower()
owners = {top: {norm(d) for d in dists} for top, dists in importlib.metadata.packages_distributions().items()}
blocked = []
site_dirs = tuple(site.getsitepackages() + [site.getusersitepackages()])


class PlainInstall(importlib.abc.MetaPathFinder):
    # Judges top-level names found in site-packages; the standard library passes.

    def find_spec(self, fullname, path=None, target=None):
        if path is not None or fullname == "pytest_isobench":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname)
        origin = (spec.origin or "") if spec is not None else ""
        where = [*spec.submodule_search_locations] if spec is not None and spec.submodule_search_locations else []
        if not any(p.startswith(site_dirs) for p in [origin, *where]):
            return None
        if owners.get(fullname, set()) & allowed:
            return None
        blocked.append(fullname)
        raise ModuleNotFoundError(f"{fullname!r} is not installed by a plain install (not a declared dependency)")


sys.meta_path.insert(0, PlainInstall())
from pytest_isobench.cli import main

code = main(sys.argv[2:])
print("BLOCKED:" + json.dumps(sorted(set(blocked))))
sys.exit(code)
"""


def _norm(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def declared_closure() -> set[str]:
    """The distributions a plain install brings: ``dependencies`` and theirs, no extras."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    seen: set[str] = set()
    todo = [(Requirement(r), frozenset[str]()) for r in project["dependencies"]]
    while todo:
        req, _ = todo.pop()
        name = _norm(req.name)
        if name in seen:
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # an optional platform dependency not installed here
        seen.add(name)
        extras = {"", *req.extras}
        for raw in dist.requires or []:
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append((sub, frozenset(sub.extras)))
    return seen


def test_matplotlib_is_a_dependency_not_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert any(_norm(r).startswith("matplotlib") for r in project["dependencies"])
    extras = project.get("optional-dependencies", {})
    assert not any("matplotlib" in r for reqs in extras.values() for r in reqs)


@pytest.mark.slow
def test_a_plain_install_writes_the_html_report_with_figures(tmp_path: Path) -> None:
    allowed = declared_closure()
    assert "mypy" not in allowed and "ruff" not in allowed  # the test extra is not installed
    results = write_dir(tmp_path / "results", demo_records())
    page = tmp_path / "site" / "report.html"
    done = subprocess.run(
        [sys.executable, "-c", _DRIVER, json.dumps(sorted(allowed)), "report", str(results), "--html", str(page)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") >= 2 and "Traceback" not in done.stderr
    blocked = json.loads(done.stdout.rpartition("BLOCKED:")[2])
    # What the report path tried and a plain install lacks (optional imports it survives).
    assert "matplotlib" not in blocked
