"""The same patches through both sandbox backends, compared file by file.

``sandbox/patching.py`` is the one patch strategy (apply: ``git apply`` -> ``--3way`` ->
``patch --fuzz``; capture: one ``git diff``; restore after a failed attempt). Each case
below starts a local worktree and a Docker container at the same commit of a real
repository, applies the same patch to both, and compares: the method (or the error and
the rejected hunks), every file's content and executable bit, the directories, and the
diff each backend captures afterwards. Cases: clean, 3-way, fuzzy, rejected (with a new
file that must not stay behind), new/deleted/executable files, binary files.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from engine_check import engine_left_clean
from gitutil import git

from pytest_isobench.sandbox.docker_sandbox import DockerSandbox
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.patching import METHOD_3WAY, METHOD_GIT_APPLY, METHOD_PATCH
from pytest_isobench.sandbox.protocol import PatchError, Sandbox, SandboxSpec

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-patching-{uuid.uuid4().hex[:8]}"

BODY = "def f():\n    return 1\n\n\n" + "".join(f"{name} = {i}\n" for i, name in enumerate("abcdeghijk", 1))
BINARY = bytes(range(256)) * 8
# Lists every directory, then every file's hash, then the executable files: what a patch
# changed, the same command in both backends (``.git`` is a file in a worktree, a folder in
# a container, and is not the checkout's content).
MANIFEST = (
    "find . -path ./.git -prune -o -type d -print | LC_ALL=C sort"
    " && find . -path ./.git -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum"
    " && echo executable: && find . -path ./.git -prune -o -type f -perm -u+x -print | LC_ALL=C sort"
)


class Repo:
    """c1: ``m.py``, a binary file, ``gone.py``; c2: two lines on top of ``m.py``, ``c`` changed."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        root.mkdir()
        git(root, "init", "-q")
        (root / "m.py").write_text(BODY)
        (root / "data.bin").write_bytes(BINARY)
        (root / "gone.py").write_text("X = 1\n")
        git(root, "add", "-A")
        git(root, "commit", "-qm", "one")
        self.c1 = git(root, "rev-parse", "HEAD").strip()
        (root / "m.py").write_text("import os\nimport sys\n" + BODY.replace("c = 3", "c = 33"))
        git(root, "commit", "-qam", "two")
        self.c2 = git(root, "rev-parse", "HEAD").strip()
        self.scratch = root.parent / "scratch"
        git(root.parent, "clone", "-q", str(root), str(self.scratch))

    def patch(self, commit: str, edit: Callable[[Path], None]) -> str:
        """``git diff --binary`` of ``edit`` made to a checkout of ``commit``."""
        git(self.scratch, "checkout", "-qf", commit)
        try:
            edit(self.scratch)
            git(self.scratch, "add", "-A")
            return git(self.scratch, "diff", "--cached", "--binary")
        finally:
            git(self.scratch, "reset", "-q", "--hard")
            git(self.scratch, "clean", "-qfdx")


def _replace(path: str, old: str, new: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        text = (root / path).read_text()
        assert old in text
        (root / path).write_text(text.replace(old, new))

    return edit


def _new_files(root: Path) -> None:
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "pkg" / "sub" / "fast.py").write_text("def fast():\n    return 2\n")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "run.sh").chmod(0o755)
    (root / "gone.py").unlink()


def _binary(root: Path) -> None:
    data = bytearray(BINARY)
    data[100:110] = b"\x00\xff" * 5
    (root / "data.bin").write_bytes(bytes(data))
    (root / "assets").mkdir()
    (root / "assets" / "table.bin").write_bytes(bytes(reversed(BINARY)) + b"\x00")


@dataclass(frozen=True)
class Case:
    commit: str  # "c1" or "c2"
    patch: Callable[[Repo], str]
    method: str | None  # None: the patch must be rejected
    before: str = ""  # a command run in the checkout before the patch (the same in both)


def _without_blob_ids(patch: str) -> str:
    """A patch as another tool writes it: no ``index`` lines, so ``--3way`` has nothing to merge."""
    return "".join(line for line in patch.splitlines(keepends=True) if not line.startswith("index "))


REJECTED = (
    "diff --git a/pkg/sub/new.py b/pkg/sub/new.py\nnew file mode 100644\n--- /dev/null\n+++ b/pkg/sub/new.py\n"
    "@@ -0,0 +1 @@\n+NEW = 1\n"
    "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -20,3 +20,3 @@\n zzz = 0\n-yyy = 1\n+yyy = 2\n xxx = 3\n"
)

CASES = {
    "clean": Case("c1", lambda r: r.patch(r.c1, _replace("m.py", "g = 6", "g = 60")), METHOD_GIT_APPLY),
    # The checkout moved on in a context line of the hunk: only a merge against the blob helps.
    "3way": Case(
        "c1",
        lambda r: r.patch(r.c1, _replace("m.py", "g = 6", "g = 60")),
        METHOD_3WAY,
        before="sed -i 's/^c = 3$/c = 30/' m.py",
    ),
    # Lines moved and a context line changed, no blob ids: only fuzz places it.
    "fuzzy": Case("c2", lambda r: _without_blob_ids(r.patch(r.c1, _replace("m.py", "g = 6", "g = 60"))), METHOD_PATCH),
    # patch --fuzz creates pkg/sub/new.py before failing on m.py: the undo must remove it.
    "rejected": Case("c1", lambda r: REJECTED, None),
    "new-files": Case("c1", lambda r: r.patch(r.c1, _new_files), METHOD_GIT_APPLY),
    "binary": Case("c1", lambda r: r.patch(r.c1, _binary), METHOD_GIT_APPLY),
}


@dataclass
class Outcome:
    """What one backend made of one patch."""

    method: str | None
    files: tuple[str, ...]
    error: str
    rejected: str
    manifest: str
    status: str
    captured: str


def run_case(sandbox: Sandbox, case: Case, patch: str) -> tuple[str, Outcome]:
    """Apply ``patch`` in a started sandbox; the manifest before, and the outcome."""
    if case.before:
        assert sandbox.exec(case.before, 30).ok
    before = sandbox.exec(MANIFEST, 60).stdout
    method, files, error, rejected = None, (), "", ""
    try:
        result = sandbox.apply_patch(patch)
        method, files = result.method, result.files
    except PatchError as exc:
        error, rejected = str(exc), exc.rejected
    return before, Outcome(
        method=method,
        files=files,
        error=error,
        rejected=rejected,
        manifest=sandbox.exec(MANIFEST, 60).stdout,
        status=sandbox.exec("git status --porcelain --untracked-files=all", 60).stdout,
        captured=sandbox.diff(),
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return Repo(tmp_path_factory.mktemp("patching") / "repo")


def _spec(repo: Repo, commit: str) -> SandboxSpec:
    return SandboxSpec(
        task_id="patching-1", variant="agent", repo_dir=repo.dir, commit=commit, image=IMAGE, run_id=RUN_ID
    )


@pytest.fixture
def local(repo: Repo, tmp_path: Path) -> Iterator[Callable[[str], LocalSandbox]]:
    made: list[LocalSandbox] = []

    def make(commit: str) -> LocalSandbox:
        sandbox = LocalSandbox(_spec(repo, commit), tmp_path / "worktrees")
        made.append(sandbox)
        sandbox.start()
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    """The engine client; at the end, checks that this module left no container."""
    yield from engine_left_clean(RUN_ID)


@pytest.mark.docker
@pytest.mark.parametrize("name", list(CASES))
def test_the_same_patch_gives_the_same_checkout_in_both_backends(
    name: str, repo: Repo, local: Callable[[str], LocalSandbox], engine: Any
) -> None:
    case = CASES[name]
    commit = getattr(repo, case.commit)
    patch = case.patch(repo)
    docker_box = DockerSandbox(_spec(repo, commit), engine)
    try:
        docker_box.start()
        docker_before, in_docker = run_case(docker_box, case, patch)
    finally:
        docker_box.close()
    local_before, in_local = run_case(local(commit), case, patch)

    assert docker_before == local_before
    for field in ("method", "files", "error", "rejected", "manifest", "status", "captured"):
        assert getattr(in_docker, field) == getattr(in_local, field), f"{name}: {field} differs between backends"
    assert in_local.method == case.method, in_local.error + "\n" + in_local.rejected
    if case.method is None:
        # Every attempt undone, the new file and its folder included; the hunk is reported.
        assert in_local.manifest == local_before
        assert "pkg" not in in_local.manifest and ".rej" not in in_local.manifest
        assert "-yyy = 1" in in_local.rejected and "does not apply" in in_local.error
        assert in_local.captured == ""
    elif not case.before and case.commit == "c1":
        # Capture is the inverse of apply: the same bytes come back out.
        assert in_local.captured == patch


def test_a_rejected_patch_leaves_no_new_file_in_a_local_checkout(
    repo: Repo, local: Callable[[str], LocalSandbox]
) -> None:
    """The local half of the ``rejected`` case, for machines without an engine."""
    sandbox = local(repo.c1)
    before, outcome = run_case(sandbox, CASES["rejected"], REJECTED)
    assert outcome.method is None and "-yyy = 1" in outcome.rejected
    assert outcome.manifest == before and outcome.status == ""
    assert not (Path(sandbox.workdir) / "pkg").exists()


def test_local_capture_ignores_the_hosts_git_configuration(
    repo: Repo, local: Callable[[str], LocalSandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's ``diff.noprefix`` or external diff tool must not change what is captured."""
    patch = CASES["clean"].patch(repo)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[diff]\n\tnoprefix = true\n\tmnemonicPrefix = true\n")
    monkeypatch.setenv("HOME", str(home))
    sandbox = local(repo.c1)
    assert sandbox.apply_patch(patch).method == METHOD_GIT_APPLY
    assert sandbox.diff() == patch


def test_a_patch_larger_than_the_kept_output_is_captured_whole_and_applies(
    repo: Repo, local: Callable[[str], LocalSandbox]
) -> None:
    """``exec`` keeps at most ~8 MiB of a command's output; a capture must not be cut there."""
    lines = "".join(f"ROW_{i:07d} = 'ä {i}'\n" for i in range(400_000))  # ~10 MB, non-ASCII too
    sandbox = local(repo.c1)
    sandbox.write_file("big/table.py", lines)
    captured = sandbox.diff()
    assert len(captured.encode()) > 9_000_000 and "isobench:" not in captured
    assert captured.endswith("+ROW_0399999 = 'ä 399999'\n")
    other = local(repo.c1)
    assert other.apply_patch(captured).method == METHOD_GIT_APPLY
    assert (
        other.exec("sha256sum big/table.py", 60).stdout.split()[0]
        == sandbox.exec("sha256sum big/table.py", 60).stdout.split()[0]
    )


@pytest.mark.docker
def test_work_the_agent_committed_is_captured_the_same_in_both_backends(
    repo: Repo, local: Callable[[str], LocalSandbox], engine: Any
) -> None:
    """Capture is against the commit the sandbox started from, not HEAD: commits count too."""

    work = (
        "sed -i 's/g = 6/g = 60/' m.py && mkdir -p pkg && echo 'N = 1' > pkg/n.py && rm gone.py"
        " && python3 -c 'import m' && git add -A"
        " && git -c user.name=a -c user.email=a@a commit -qm 'agent work' && echo 'later = 1' >> m.py"
    )
    captured: list[str] = []
    docker_box = DockerSandbox(_spec(repo, repo.c1), engine)
    try:
        docker_box.start()
        assert docker_box.exec(work, 60).ok
        captured.append(docker_box.diff())
    finally:
        docker_box.close()
    sandbox = local(repo.c1)
    assert sandbox.exec(work, 60).ok
    captured.append(sandbox.diff())

    def edit(root: Path) -> None:
        _replace("m.py", "g = 6", "g = 60")(root)
        (root / "pkg").mkdir()
        (root / "pkg" / "n.py").write_text("N = 1\n")
        (root / "gone.py").unlink()
        with (root / "m.py").open("a") as f:
            f.write("later = 1\n")

    expected = repo.patch(repo.c1, edit)
    assert captured == [expected, expected]
    assert "__pycache__" not in expected
