"""The history scan on real repositories made here with the git CLI, at fixed dates.

``known_history`` builds twenty commits of which exactly three are performance commits,
with decoys (a perf-sounding docs-only commit, a perf-sounding test-only commit, a merge
whose message says "faster"); the other test files import it from here.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pytest_isobench.history.scan import (
    SKIP_DOCS,
    SKIP_MERGE,
    SKIP_NO_KEYWORD,
    SKIP_PYTHON,
    SKIP_TESTS,
    SKIP_TOO_MANY,
    ScanError,
    ScanOptions,
    functions_of,
    is_public,
    is_test_path,
    keyword_pattern,
    module_name,
    pr_number,
    scan_repository,
)


class Git:
    """A repository driven through the git CLI, each commit one day after the previous."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.day = 0
        root.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_AUTHOR_NAME": "Ada",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
        }
        self("init", "-q", "-b", "main")

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "commit.gpgsign=false", *args],
            cwd=self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def write(self, path: str, text: str | bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            target.write_bytes(text)
        else:
            target.write_text(text, encoding="utf-8")

    def commit(self, message: str, files: dict[str, str | bytes] | None = None, *, remove: tuple[str, ...] = ()) -> str:
        for path, text in (files or {}).items():
            self.write(path, text)
        for path in remove:
            self("rm", "-q", path)
        self("add", "-A")
        self.day += 1
        date = f"2024-01-{self.day:02d}T12:00:00+00:00" if self.day <= 31 else f"2024-02-{self.day - 31:02d}T12:00:00"
        self.env["GIT_AUTHOR_DATE"] = self.env["GIT_COMMITTER_DATE"] = date
        self("commit", "-q", "--allow-empty", "-m", message)
        return self("rev-parse", "HEAD")


CORE_V1 = '''"""Core."""
import re


def parse(text):
    return [w for w in re.split(r"\\s+", text) if w]


def _helper(x):
    return x * 2


class Engine:
    def run(self, items):
        out = []
        for item in items:
            out = out + [self._step(item)]
        return out

    def _step(self, item):
        return item + 1
'''

CORE_V3 = CORE_V1.replace(
    """def parse(text):
    return [w for w in re.split(r"\\s+", text) if w]


def _helper(x):
    return x * 2""",
    """_WORDS = re.compile(r"\\S+")


def parse(text):
    return _WORDS.findall(text)


def _helper(x):
    return x << 1""",
)

CORE_V3S = CORE_V3.replace(
    """class Engine:""",
    """class Engine:
    def stop(self):
        return None
""",
)

CORE_V4 = CORE_V3S.replace(
    """        out = []
        for item in items:
            out = out + [self._step(item)]
        return out

    def _step(self, item):
        return item + 1""",
    """        step = self._step
        return [step(item) for item in items]

    def _step(self, item, /):
        return item + 1""",
)

UTIL_V1 = '''"""Utilities."""


def join(parts):
    out = ""
    for part in parts:
        out += part
    return out


def split(text):
    return text.split()
'''

UTIL_V2 = UTIL_V1.replace("(text):\n    return text.split()", "(text, sep=None):\n    return text.split(sep)")
UTIL_V3 = UTIL_V2.replace(
    'out = ""\n    for part in parts:\n        out += part\n    return out', "return ''.join(parts)"
)

STRINGS = '''"""String helpers."""


def shout(text):
    return text.upper() + "!"


def whisper(text):
    return text.lower()


def title(text):
    return text.title()


def strip_all(lines):
    return [line.strip() for line in lines]
'''

TEXT = STRINGS.replace('return text.upper() + "!"', 'return f"{text.upper()}!"')

TESTS_V1 = """from pkg.core import parse


def test_parse():
    assert parse("a b") == ["a", "b"]
"""

PNG_V1 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))
PNG_V2 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(reversed(range(256)))


@dataclass
class History:
    git: Git
    commits: list[str] = field(default_factory=list)
    perf: dict[str, str] = field(default_factory=dict)  # name -> sha

    @property
    def root(self) -> Path:
        return self.git.root


def known_history(root: Path) -> History:
    """Twenty commits; the perf ones are ``parse``, ``engine`` and ``join`` (oldest first)."""
    git = Git(root)
    h = History(git)
    c = h.commits
    c.append(git.commit("Initial commit", {
        "pkg/__init__.py": "", "pkg/core.py": CORE_V1, "pkg/util.py": UTIL_V1, "pkg/strings.py": STRINGS,
        "tests/test_core.py": TESTS_V1, "README.md": "# pkg\n", "assets/logo.png": PNG_V1,
    }))  # fmt: skip
    c.append(git.commit("Add a split separator", {"pkg/util.py": UTIL_V2}))
    c.append(git.commit("Fix typo in README", {"README.md": "# pkg\n\nA package.\n"}))
    c.append(git.commit("perf: speed up core.parse with a precompiled regex (#101)", {"pkg/core.py": CORE_V3}))
    h.perf["parse"] = c[-1]
    c.append(git.commit("Add tests for split", {"tests/test_util.py": "def test_split():\n    pass\n"}))
    c.append(git.commit("docs: explain performance tuning", {"docs/guide.md": "# Tuning\n\nPerformance.\n"}))
    c.append(git.commit("Make test_core faster", {"tests/test_core.py": TESTS_V1 + "\n# quicker\n"}))
    c.append(git.commit("Add Engine.stop", {"pkg/core.py": CORE_V3S}))
    c.append(
        git.commit(
            "Reduce memory overhead of Engine.run\n\nBuild the list in one pass.",
            {"pkg/core.py": CORE_V4, "tests/test_core.py": TESTS_V1 + "\n# quicker\n\n\ndef test_run():\n    pass\n"},
        )
    )
    h.perf["engine"] = c[-1]
    git("checkout", "-q", "-b", "feature")
    c.append(git.commit("Add a words helper", {"pkg/words.py": "def words(text):\n    return text.split()\n"}))
    git("checkout", "-q", "main")
    c.append(git.commit("Update changelog", {"CHANGELOG.md": "## 0.2\n"}))
    git.day += 1
    git.env["GIT_AUTHOR_DATE"] = git.env["GIT_COMMITTER_DATE"] = f"2024-01-{git.day:02d}T12:00:00+00:00"
    git("merge", "-q", "--no-ff", "feature", "-m", "Merge branch 'feature': faster words")
    c.append(git("rev-parse", "HEAD"))
    c.append(git.commit("Bump version", {"setup.cfg": "[metadata]\nversion = 0.2\n"}))
    c.append(git.commit("Add contributing guide", {"CONTRIBUTING.md": "Be nice.\n"}))
    c.append(
        git.commit(
            "Optimize util.join: avoid quadratic concatenation (#202)",
            {"pkg/util.py": UTIL_V3, "pkg/text.py": TEXT, "assets/logo.png": PNG_V2},
            remove=("pkg/strings.py",),
        )
    )
    h.perf["join"] = c[-1]
    c.append(git.commit("Update docs", {"docs/guide.md": "# Tuning\n\nMore.\n"}))
    c.append(git.commit("Lint fixes", {"pkg/util.py": UTIL_V3 + "\n"}))
    c.append(git.commit("Rename variables", {"pkg/words.py": "def words(s):\n    return s.split()\n"}))
    c.append(git.commit("Add license", {"LICENSE": "MIT\n"}))
    c.append(git.commit("Tidy the init", {"pkg/__init__.py": '"""pkg."""\n'}))
    assert len(c) == 20, len(c)
    return h


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return known_history(tmp_path_factory.mktemp("known") / "repo")


def test_finds_exactly_the_three_perf_commits(history: History) -> None:
    result = scan_repository(history.root, ScanOptions(progress=False))
    assert result.scanned == 20
    assert [c.sha for c in result.commits] == [history.perf["join"], history.perf["engine"], history.perf["parse"]]
    assert result.skipped[SKIP_MERGE] == 1
    assert result.skipped[SKIP_DOCS] == 1
    assert result.skipped[SKIP_TESTS] == 1
    assert result.skipped[SKIP_NO_KEYWORD] == 14
    assert sum(result.skipped.values()) + len(result.commits) == 20
    assert "merge commit: 1" in result.summary()


def test_parents_files_functions_and_apis(history: History) -> None:
    result = scan_repository(history.root, ScanOptions(progress=False))
    by_sha = {c.sha: c for c in result.commits}
    git = history.git

    parse = by_sha[history.perf["parse"]]
    assert parse.parents == [git("rev-parse", f"{parse.sha}^")]
    assert parse.files_changed == ["pkg/core.py"]
    assert {(f.name, f.change) for f in parse.functions} == {
        ("pkg.core.parse", "modified"),
        ("pkg.core._helper", "modified"),
    }
    assert parse.apis == ["pkg.core.parse"]
    assert parse.pr_number == 101
    assert parse.date == "2024-01-04T12:00:00+00:00"
    assert "perf" in parse.keywords

    engine = by_sha[history.perf["engine"]]
    assert engine.base == git("rev-parse", f"{engine.sha}^")
    assert engine.files_changed == ["pkg/core.py", "tests/test_core.py"]
    assert engine.apis == ["pkg.core.Engine.run"]
    assert {f.name for f in engine.functions} == {"pkg.core.Engine.run", "pkg.core.Engine._step"}
    stats = engine.stats()
    assert stats["num_test_files"] == 1 and stats["num_non_test_files"] == 1
    assert stats["num_test_edited_lines"] == 4
    assert stats["num_non_test_edited_lines"] == 8  # 3 added, 5 deleted
    assert stats["num_hunks"] == stats["num_test_hunks"] + stats["num_non_test_hunks"] >= 2
    assert engine.pr_number is None
    assert engine.subject == "Reduce memory overhead of Engine.run"
    assert engine.message.endswith("Build the list in one pass.")


def test_binary_file_and_rename_in_a_perf_commit(history: History) -> None:
    result = scan_repository(history.root, ScanOptions(progress=False))
    join = next(c for c in result.commits if c.sha == history.perf["join"])
    files = {f.path: f for f in join.files}
    assert set(files) == {"assets/logo.png", "pkg/text.py", "pkg/util.py"}
    assert files["assets/logo.png"].binary and files["assets/logo.png"].added == 0
    assert files["pkg/text.py"].status == "R" and files["pkg/text.py"].old_path == "pkg/strings.py"
    assert files["pkg/text.py"].added == 1 and files["pkg/text.py"].deleted == 1
    stats = join.stats()
    assert stats["num_binary_files"] == 1 and stats["num_renamed_files"] == 1
    # A rename is not an API change: only the edited function of the moved module counts.
    assert set(join.apis) == {"pkg.util.join", "pkg.text.shout"}
    assert join.pr_number == 202


def test_submodule_and_syntax_error_are_counted_not_fatal(tmp_path: Path) -> None:
    git = Git(tmp_path / "repo")
    git.commit("Initial commit", {"pkg/good.py": "def f():\n    return 1\n", "pkg/bad.py": "def g():\n    return 1\n"})
    sub = git("rev-parse", "HEAD")
    git("update-index", "--add", "--cacheinfo", f"160000,{sub},vendor/lib")
    git.write("pkg/good.py", "def f():\n    return 2\n")
    git.write("pkg/bad.py", "def g(:\n    return\n")
    git("add", "pkg")
    git.day += 1
    git.env["GIT_AUTHOR_DATE"] = git.env["GIT_COMMITTER_DATE"] = "2024-01-02T12:00:00+00:00"
    git("commit", "-q", "-m", "Faster f and g")
    result = scan_repository(git.root, ScanOptions(progress=False))
    assert len(result.commits) == 1
    commit = result.commits[0]
    files = {f.path: f for f in commit.files}
    assert files["vendor/lib"].submodule and not files["vendor/lib"].is_source
    assert commit.stats()["num_submodules"] == 1
    assert result.skipped[SKIP_PYTHON] == 1
    assert commit.apis == ["pkg.good.f"]
    assert any("pkg/bad.py" in note and "line 1" in note for note in commit.notes)
    assert "python file not parsable" in result.summary()


def test_range_options(history: History) -> None:
    limited = scan_repository(history.root, ScanOptions(progress=False, max_commits=6))
    assert limited.scanned == 6
    assert [c.sha for c in limited.commits] == [history.perf["join"]]
    dated = scan_repository(
        history.root, ScanOptions(progress=False, since="2024-01-03T00:00:00", until="2024-01-10T00:00:00")
    )
    assert [c.sha for c in dated.commits] == [history.perf["engine"], history.perf["parse"]]
    old = scan_repository(history.root, ScanOptions(progress=False, branch=history.perf["engine"]))
    assert [c.sha for c in old.commits] == [history.perf["engine"], history.perf["parse"]]
    few = scan_repository(history.root, ScanOptions(progress=False, max_files=1))
    assert [c.sha for c in few.commits] == [history.perf["parse"]]
    assert few.skipped[SKIP_TOO_MANY] == 2
    custom = scan_repository(history.root, ScanOptions(progress=False, keywords=("quadratic",)))
    assert [c.sha for c in custom.commits] == [history.perf["join"]]


def test_progress_line_goes_to_stderr(history: History, capsys: pytest.CaptureFixture[str]) -> None:
    scan_repository(history.root, ScanOptions(progress=True))
    assert "scanning" in capsys.readouterr().err


def test_clear_errors(tmp_path: Path, history: History) -> None:
    with pytest.raises(ScanError, match="not a git repository"):
        scan_repository(tmp_path)
    with pytest.raises(ScanError, match="no such directory"):
        scan_repository(tmp_path / "missing")
    with pytest.raises(ScanError, match="bad revision 'no-such-branch'"):
        scan_repository(history.root, ScanOptions(branch="no-such-branch"))


def test_helpers() -> None:
    pattern = keyword_pattern(("perf", "optimize", "speed up", "memory"))
    assert pattern.search("Optimized the loop")
    assert pattern.search("speed-up of parse")
    assert pattern.search("perf: x")
    assert not pattern.search("a perfect fix")
    assert not pattern.search("nothing here")
    assert pr_number("Fast path (#12) (#345)") == 345
    assert pr_number("Merge pull request #77 from a/b") == 77
    assert pr_number("no number") is None
    assert is_public("pkg.mod.Class.__call__")
    assert not is_public("pkg._mod.f") and not is_public("pkg.mod._f")
    assert module_name("src/pkg/mod.py") == "pkg.mod"
    assert module_name("pkg/__init__.py") == "pkg"
    assert is_test_path("tests/x.py") and is_test_path("pkg/test_x.py") and is_test_path("conftest.py")
    assert not is_test_path("pkg/latest.py")
    found = functions_of("class A:\n    class B:\n        def f(self):\n            def g(): pass\n", "m")
    assert list(found) == ["m.A.B.f"]
