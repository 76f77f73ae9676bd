"""The docker sandbox against a real engine: checkout, setup, limits, network, patches, time
limits, diff capture and clean-up.

Every test here needs a Docker engine and the demo image (marked ``docker``: the conftest
skips with the reason when either is missing, or fails in CI). It must not leave containers
behind: each test's sandboxes are closed by the fixture, and the module checks at the end
that nothing of its run is left.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import TYPE_CHECKING, Any

import docker
import pytest
from engine_check import engine_left_clean
from gitutil import git

from pytest_isobench.sandbox import housekeeping
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox
from pytest_isobench.sandbox.patching import METHOD_3WAY, METHOD_GIT_APPLY, METHOD_PATCH, patch_files
from pytest_isobench.sandbox.protocol import (
    LABEL,
    LABEL_RUN,
    LABEL_TASK,
    LABEL_VARIANT,
    Limits,
    PatchError,
    SandboxError,
    SandboxSpec,
    Variant,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

IMAGE = "isobench-demo:bookworm"
RUN_ID = f"test-{uuid.uuid4().hex[:8]}"


# The conftest skips these with the reason when no engine or image is there, and fails
# them under ISOBENCH_REQUIRE_DOCKER=1 (CI): never a skip decided here, at import time.
pytestmark = pytest.mark.docker

BODY = """def f():
    return 1


a = 1
b = 2
c = 3
d = 4
e = 5
g = 6
h = 7
i = 8
j = 9
k = 10
"""


class Repo:
    """A real repository: c1 (BODY), c2 (two lines inserted on top, ``c`` changed), c3."""

    def __init__(self, root: Path) -> None:
        self.dir = root
        root.mkdir()
        git(root, "init", "-q")
        (root / "m.py").write_text(BODY)
        git(root, "add", "-A")
        git(root, "commit", "-qm", "one")
        self.c1 = git(root, "rev-parse", "HEAD").strip()
        (root / "m.py").write_text("import os\nimport sys\n" + BODY.replace("c = 3", "c = 33"))
        git(root, "commit", "-qam", "two")
        self.c2 = git(root, "rev-parse", "HEAD").strip()
        (root / "m.py").write_text(BODY.replace("return 1", "return 42"))
        git(root, "commit", "-qam", "three: the human solution")
        self.c3 = git(root, "rev-parse", "HEAD").strip()

    def patch_against(self, commit: str, old: str, new: str) -> str:
        """A ``git diff`` of one edit to ``m.py`` as it is at ``commit``."""
        git(self.dir, "checkout", "-q", commit, "--", "m.py")
        try:
            text = (self.dir / "m.py").read_text()
            assert old in text
            (self.dir / "m.py").write_text(text.replace(old, new))
            return git(self.dir, "diff", "--full-index", "--", "m.py")
        finally:
            git(self.dir, "checkout", "-q", "HEAD", "--", "m.py")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    """The engine client; at the end, checks that the module left no container."""
    yield from engine_left_clean(RUN_ID)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    return Repo(tmp_path_factory.mktemp("src") / "repo")


@pytest.fixture
def make_sandbox(client: Any, repo: Repo) -> Iterator[Callable[..., DockerSandbox]]:
    """Builds and starts sandboxes; closes every one of them afterwards."""
    made: list[DockerSandbox] = []

    def make(
        commit: str | None = None,
        variant: Variant = "baseline",
        start: bool = True,
        **kwargs: Any,
    ) -> DockerSandbox:
        kwargs.setdefault("image", IMAGE)
        spec = SandboxSpec(
            task_id=kwargs.pop("task_id", "demo-1"),
            variant=variant,
            repo_dir=repo.dir,
            commit=commit or repo.c1,
            run_id=RUN_ID,
            **kwargs,
        )
        sandbox = DockerSandbox(spec, client)
        made.append(sandbox)
        if start:
            sandbox.start()
        return sandbox

    yield make
    for sandbox in made:
        sandbox.close()


def ours(client: Any, task_id: str) -> list[Any]:
    labels = [f"{LABEL_RUN}={RUN_ID}", f"{LABEL_TASK}={task_id}"]
    found: list[Any] = client.containers.list(all=True, filters={"label": labels})
    return found


def test_checkout_has_the_commit_and_a_detached_history(make_sandbox: Callable[..., DockerSandbox], repo: Repo) -> None:
    sb = make_sandbox(repo.c1, setup_commands=["echo prepared > _isobench_setup.txt"])
    assert sb.workdir == "/work/repo"
    assert sb.exec("cat m.py", 10).stdout == BODY
    assert sb.exec("cat _isobench_setup.txt", 10).stdout == "prepared\n"
    log = sb.exec("git log --all --format=%s", 10)
    assert log.stdout.splitlines() == ["isobench baseline"]
    # Nothing of the real history is reachable: not the human commit, not its parent.
    for sha in (repo.c1, repo.c3):
        assert sb.exec(f"git cat-file -e {sha}", 10).exit_code != 0
    assert sb.start_s > 0


def test_the_baseline_commit_is_the_same_in_every_variant(
    make_sandbox: Callable[..., DockerSandbox], repo: Repo
) -> None:
    one = make_sandbox(repo.c1, "baseline")
    two = make_sandbox(repo.c1, "agent")
    assert one.baseline_commit == two.baseline_commit
    assert len(one.baseline_commit) == 40


def test_exec_separates_streams_passes_env_and_reports_status(
    make_sandbox: Callable[..., DockerSandbox],
) -> None:
    sb = make_sandbox(env={"FROM_SPEC": "spec"})
    res = sb.exec('echo "$FROM_SPEC $EXTRA"; echo oops >&2; exit 3', 10, env={"EXTRA": "x"})
    assert (res.exit_code, res.stdout, res.stderr) == (3, "spec x\n", "oops\n")
    assert not res.ok and not res.timed_out and res.wall_s > 0
    # A command's own status 124 is not a time-out.
    assert not sb.exec("exit 124", 10).timed_out


def test_a_failing_setup_command_raises_with_its_output_and_cleans_up(
    make_sandbox: Callable[..., DockerSandbox], client: Any
) -> None:
    sb = make_sandbox(
        start=False,
        task_id="setup-fails",
        setup_commands=["true", "echo installing; echo broken-dependency >&2; exit 3"],
    )
    with pytest.raises(SandboxError, match=r"(?s)exit status 3.*broken-dependency"):
        sb.start()
    assert ours(client, "setup-fails") == []


def test_network_is_off_while_timing_and_can_come_back(
    make_sandbox: Callable[..., DockerSandbox],
) -> None:
    sb = make_sandbox()

    def interfaces() -> set[str]:
        return set(sb.exec("ls /sys/class/net", 10).stdout.split())

    assert "eth0" in interfaces()
    sb.set_network(False)
    assert interfaces() == {"lo"}
    assert not sb.network_enabled
    sb.set_network(False)  # already off: nothing to do
    sb.set_network(True)
    # The engine names the new interface eth0 or eth1; what matters is that one is back.
    back = interfaces() - {"lo"}
    assert back and all(name.startswith("eth") for name in back)


@pytest.mark.parametrize("allowed", [True, False])
def test_network_during_setup_follows_the_spec_and_comes_back_after(
    make_sandbox: Callable[..., DockerSandbox], allowed: bool
) -> None:
    sb = make_sandbox(setup_commands=["ls /sys/class/net > _isobench_net.txt"], network_during_setup=allowed)
    during = set(sb.exec("cat _isobench_net.txt", 10).stdout.split())
    assert (during - {"lo"} != set()) is allowed, during
    assert sb.network_enabled
    assert set(sb.exec("ls /sys/class/net", 10).stdout.split()) - {"lo"}  # on again for the agent


def test_limits_and_labels_are_applied(make_sandbox: Callable[..., DockerSandbox]) -> None:
    sb = make_sandbox(variant="human", limits=Limits(cpuset="0", memory="256m"))
    sb.container.reload()
    host = sb.container.attrs["HostConfig"]
    assert host["Memory"] == 256 * 1024 * 1024
    assert host["CpusetCpus"] == "0"
    assert host["Init"] is True
    labels = sb.container.labels
    assert labels[LABEL] == "1"
    assert labels[LABEL_RUN] == RUN_ID
    assert labels[LABEL_TASK] == "demo-1"
    assert labels[LABEL_VARIANT] == "human"
    assert sb.exec("cat /sys/fs/cgroup/cpuset.cpus.effective 2>/dev/null || nproc", 10).ok


def test_a_clean_patch_goes_in_with_git_apply(make_sandbox: Callable[..., DockerSandbox], repo: Repo) -> None:
    sb = make_sandbox(repo.c1)
    result = sb.apply_patch(repo.patch_against(repo.c1, "g = 6", "g = 60"))
    assert (result.method, result.files) == (METHOD_GIT_APPLY, ("m.py",))
    assert "g = 60" in sb.exec("cat m.py", 10).stdout


def test_a_patch_whose_context_changed_goes_in_with_3way(
    make_sandbox: Callable[..., DockerSandbox], repo: Repo
) -> None:
    sb = make_sandbox(repo.c1)
    # The checkout moved on where the patch has context (``c``), not where it changes.
    assert sb.exec("sed -i 's/^c = 3$/c = 30/' m.py", 10).ok
    result = sb.apply_patch(repo.patch_against(repo.c1, "g = 6", "g = 60"))
    assert result.method == METHOD_3WAY
    text = sb.exec("cat m.py", 10).stdout
    assert "c = 30" in text and "g = 60" in text and "<<<<<<<" not in text


def test_a_patch_needing_offset_and_fuzz_goes_in_with_patch(
    make_sandbox: Callable[..., DockerSandbox], repo: Repo
) -> None:
    # c2 moved the lines down and changed a context line; c1's blob is not in the
    # sandbox, so --3way cannot help and only patch's fuzz can.
    sb = make_sandbox(repo.c2)
    result = sb.apply_patch(repo.patch_against(repo.c1, "g = 6", "g = 60"))
    assert result.method == METHOD_PATCH
    text = sb.exec("cat m.py", 10).stdout
    assert "g = 60" in text and "c = 33" in text
    assert sb.exec("ls *.orig *.rej 2>/dev/null", 10).stdout == ""


def test_a_patch_that_does_not_apply_raises_with_the_rejected_hunks(
    make_sandbox: Callable[..., DockerSandbox], repo: Repo
) -> None:
    sb = make_sandbox(repo.c1)
    bad = (
        "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -20,3 +20,3 @@\n zzz = 0\n-yyy = 1\n+yyy = 2\n xxx = 3\n"
    )
    with pytest.raises(PatchError, match="does not apply") as info:
        sb.apply_patch(bad)
    assert "-yyy = 1" in info.value.rejected
    # Every failed attempt was undone.
    assert sb.exec("cat m.py", 10).stdout == BODY
    assert sb.exec("git status --porcelain", 10).stdout == ""


def test_a_patch_reaching_outside_the_repo_is_refused(make_sandbox: Callable[..., DockerSandbox], repo: Repo) -> None:
    sb = make_sandbox(repo.c1)
    escape = "--- a/../evil.py\n+++ b/../evil.py\n@@ -0,0 +1 @@\n+boom\n"
    with pytest.raises(PatchError, match="outside the repository"):
        sb.apply_patch(escape)
    absolute = "--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n"
    with pytest.raises(PatchError, match="outside the repository"):
        sb.apply_patch(absolute)
    assert sb.exec("ls /work/evil.py", 10).exit_code != 0


def test_patch_files_reads_headers_not_hunk_content() -> None:
    patch = (
        "diff --git a/x.py b/x.py\n--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n"
        "--- a/../not-a-header\n+-- b/still-content\n same\n"
        '--- "a/t\\303\\251st.py"\n+++ "b/t\\303\\251st.py"\n@@ -1 +1 @@\n-a\n+b\n'
    )
    assert patch_files(patch) == ("x.py", "tést.py")


def test_a_hung_command_is_killed_inside_the_container(
    make_sandbox: Callable[..., DockerSandbox],
) -> None:
    sb = make_sandbox()
    t0 = time.perf_counter()
    res = sb.exec("sleep 60 & sleep 60", 1)
    assert res.timed_out and res.exit_code == 124
    assert time.perf_counter() - t0 < 3
    assert "sleep 60" not in sb.exec("ps -eo args", 10).stdout
    # A command that ignores TERM gets KILL after the grace period.
    res = sb.exec("trap '' TERM; sleep 60", 1)
    assert res.timed_out and res.exit_code == 137 and res.wall_s < 5


def test_a_missing_image_names_it_and_leaves_nothing(make_sandbox: Callable[..., DockerSandbox], client: Any) -> None:
    sb = make_sandbox(start=False, task_id="no-image", image="isobench-missing:nope")
    with pytest.raises(SandboxError, match=r"image 'isobench-missing:nope' not found"):
        sb.start()
    assert ours(client, "no-image") == []
    sb.close()


def test_diff_captures_edits_but_not_harness_files_or_artefacts(
    make_sandbox: Callable[..., DockerSandbox], repo: Repo
) -> None:
    sb = make_sandbox(repo.c1)
    sb.write_file("_isobench_perf.py", "print('timing')\n")
    sb.write_file("pkg/new.py", "X = 1\n")
    assert sb.exec("sed -i 's/return 1/return 2/' m.py && python3 -m compileall -q . ", 30).ok
    diff = sb.diff()
    assert "+    return 2" in diff and "b/pkg/new.py" in diff
    assert "_isobench_perf" not in diff and ".pyc" not in diff
    # The diff is a patch the other variants can take.
    other = make_sandbox(repo.c1, "agent")
    assert other.apply_patch(diff).method == METHOD_GIT_APPLY
    assert other.diff() == diff


def test_write_file_refuses_paths_outside_the_checkout(
    make_sandbox: Callable[..., DockerSandbox],
) -> None:
    sb = make_sandbox()
    with pytest.raises(ValueError, match="outside the repository"):
        sb.write_file("../escape.py", "x")


def test_close_is_idempotent_and_leaves_no_container(make_sandbox: Callable[..., DockerSandbox], client: Any) -> None:
    sb = make_sandbox(task_id="closing")
    assert len(ours(client, "closing")) == 1
    sb.close()
    sb.close()
    assert ours(client, "closing") == []
    with pytest.raises(SandboxError, match="not started"):
        sb.exec("true", 1)


def test_sweep_removes_other_runs_leftovers_and_spares_the_current_run(
    make_sandbox: Callable[..., DockerSandbox], client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_run = f"{RUN_ID}-old"
    stale = client.containers.run(
        IMAGE,
        ["sleep", "infinity"],
        detach=True,
        init=True,
        name=f"isobench-{old_run}-stale",
        labels={LABEL: "1", LABEL_RUN: old_run},
    )
    try:
        current = make_sandbox(task_id="current")
        # The engine is shared: only look at this module's containers.
        real = housekeeping._containers
        monkeypatch.setattr(
            housekeeping,
            "_containers",
            lambda c: [x for x in real(c) if x["Labels"].get(LABEL_RUN, "").startswith(RUN_ID)],
        )
        monkeypatch.setattr(housekeeping, "_volumes", lambda c: [])
        assert {stale.name, current.name} <= set(housekeeping.leftovers(client))
        assert housekeeping.sweep(client, run_id=RUN_ID, older_than_s=3600) == []
        assert housekeeping.sweep(client, run_id=RUN_ID) == [stale.name]
        assert len(ours(client, "current")) == 1
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            stale.remove(force=True)


def test_doctor_reports_the_engine_the_image_and_leftovers() -> None:
    checks = {name: (ok, detail) for name, ok, detail in housekeeping.doctor_engine(IMAGE)}
    assert checks["docker engine"][0] and "API" in checks["docker engine"][1]
    assert checks[f"image {IMAGE}"][0]
    assert "leftovers" in checks
    missing = {n: (ok, d) for n, ok, d in housekeeping.doctor_engine("isobench-missing:x")}
    ok, detail = missing["image isobench-missing:x"]
    assert not ok and "scripts/build-base-image.sh" in detail
