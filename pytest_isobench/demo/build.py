"""Build the demo suite's project: ``textkit``, with a fixed, reproducible git history.

The history is data, one directory per commit under ``history/`` (``NN-slug``, applied in
order). In each step directory:

``MESSAGE``
    The commit message (subject line, blank line, body).
``DELETE`` (optional)
    Repository paths the step removes, one per line.
``TASK.json`` (optional)
    Marks a performance commit that is a task of the demo suite:
    ``{"apis": [...], "human_performance": <speedup>}``. Its perf test is
    ``perf/<slug with "_" for "-">.py`` and its instance id ``demo-<slug>``.
any other file
    Content the step writes, stored as ``<repository path>.in`` (so the host project's
    linters and type checkers leave it alone); a path component spelt ``dot-X`` stands
    for ``.X`` (so no packaging step drops it as a hidden file).

Author, committer, dates (``2024-01-NN 12:00:00 +0000`` for step ``NN``), the branch
name and every setting that could change a byte are fixed, and the user's and system's
git configuration are ignored, so the commit SHAs are the same on every machine:
:data:`EXPECTED_HEAD` is checked after each build.

Command line (from the project root)::

    python -m pytest_isobench.demo.build build DEST
    python -m pytest_isobench.demo.build dataset data/demo.jsonl
    python -m pytest_isobench.demo.build measure --runs 15
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "AUTHOR_EMAIL",
    "AUTHOR_NAME",
    "BRANCH",
    "DATASET_REPO",
    "EXPECTED_HEAD",
    "GPU_PROJECT",
    "HISTORY_DIR",
    "PERF_DIR",
    "PROJECTS",
    "TEXTKIT",
    "DemoTask",
    "Project",
    "Step",
    "build_demo_repo",
    "commit_shas",
    "dataset_records",
    "demo_repo",
    "demo_tasks",
    "load_steps",
    "main",
    "measure_task",
    "parse_perf_output",
    "run_perf_script",
    "write_dataset",
]

HERE = Path(__file__).resolve().parent
HISTORY_DIR = HERE / "history"
PERF_DIR = HERE / "perf"

AUTHOR_NAME = "Textkit Maintainers"
AUTHOR_EMAIL = "maintainers@textkit.invalid"
BRANCH = "main"
DATASET_REPO = "isobench:demo"

#: SHA of the last commit of the demo history; a build that ends elsewhere is an error.
EXPECTED_HEAD = "5d08a88f8a97f2a09b35ae0d1f6c8300be7cc75d"


@dataclass(frozen=True)
class Project:
    """One bundled demo project: where its history and perf tests are, and who wrote it."""

    name: str  # instance ids are ``<name>-<slug>``
    history: Path
    perf: Path
    dataset_repo: str  # the ``repo`` of its dataset records
    expected_head: str
    author_name: str
    author_email: str
    cache_name: str  # the built repository's folder in the cache


TEXTKIT = Project("demo", HISTORY_DIR, PERF_DIR, DATASET_REPO, EXPECTED_HEAD, AUTHOR_NAME, AUTHOR_EMAIL, "demo-repo")
#: ``tinylm``: a small PyTorch project whose performance commits need a GPU (``tasks/demo-gpu.yaml``).
GPU_PROJECT = Project(
    "demo-gpu",
    HERE / "gpu" / "history",
    HERE / "gpu" / "perf",
    "isobench:demo-gpu",
    "257fe2b6f475c92008d02a26537b2e6fcabe58cd",
    "Tinylm Maintainers",
    "maintainers@tinylm.invalid",
    "demo-gpu-repo",
)
PROJECTS = {p.dataset_repo: p for p in (TEXTKIT, GPU_PROJECT)}

_CONTROL_FILES = frozenset({"MESSAGE", "DELETE", "TASK.json"})
_PAYLOAD_SUFFIX = ".in"
_DOT_PREFIX = "dot-"
_GIT_SETTINGS = (
    "commit.gpgsign=false",
    "tag.gpgsign=false",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.eol=lf",
    "core.fileMode=true",
    "core.hooksPath=/dev/null",
    "gc.auto=0",
    "init.defaultBranch=" + BRANCH,
    "i18n.commitEncoding=UTF-8",
)


@dataclass(frozen=True)
class Step:
    """One commit of the demo history, read from ``history/NN-slug``."""

    index: int
    slug: str
    path: Path
    message: str
    deletes: tuple[str, ...]
    files: tuple[tuple[str, Path], ...]
    apis: tuple[str, ...] | None
    human_performance: float | None

    @property
    def subject(self) -> str:
        return self.message.strip().splitlines()[0]

    @property
    def date(self) -> str:
        return f"2024-01-{self.index:02d} 12:00:00 +0000"


@dataclass(frozen=True)
class DemoTask:
    """A performance commit of the built demo repository."""

    slug: str
    base_commit: str
    head_commit: str
    subject: str
    apis: tuple[str, ...]
    files_changed: tuple[str, ...]
    perf_script: Path
    human_performance: float | None
    project: str = "demo"

    @property
    def instance_id(self) -> str:
        return f"{self.project}-{self.slug}"

    @property
    def perf_name(self) -> str:
        return self.slug


def _repo_path(stored: Path, step_dir: Path) -> str:
    parts = list(stored.relative_to(step_dir).parts)
    parts[-1] = parts[-1][: -len(_PAYLOAD_SUFFIX)]
    parts = ["." + p[len(_DOT_PREFIX) :] if p.startswith(_DOT_PREFIX) else p for p in parts]
    return "/".join(parts)


def load_steps(history: Path = HISTORY_DIR) -> list[Step]:
    """The steps of the history, oldest first."""
    steps: list[Step] = []
    for step_dir in sorted(p for p in history.iterdir() if p.is_dir()):
        number, _, slug = step_dir.name.partition("-")
        if not number.isdigit() or not slug:
            raise ValueError(f"{step_dir}: a step directory is named NN-slug")
        files: list[tuple[str, Path]] = []
        for stored in sorted(step_dir.rglob("*")):
            control = stored.parent == step_dir and stored.name in _CONTROL_FILES
            if control or not stored.is_file():
                continue
            if "__pycache__" in stored.parts or stored.suffix == ".pyc":
                continue
            if not stored.name.endswith(_PAYLOAD_SUFFIX):
                raise ValueError(f"{stored}: payload files end in {_PAYLOAD_SUFFIX!r}")
            files.append((_repo_path(stored, step_dir), stored))
        delete_file = step_dir / "DELETE"
        deletes: tuple[str, ...] = ()
        if delete_file.exists():
            lines = delete_file.read_text(encoding="utf-8").splitlines()
            deletes = tuple(line.strip() for line in lines if line.strip())
        apis: tuple[str, ...] | None = None
        human: float | None = None
        task_file = step_dir / "TASK.json"
        if task_file.exists():
            meta = json.loads(task_file.read_text(encoding="utf-8"))
            apis = tuple(str(a) for a in meta["apis"])
            raw_human = meta.get("human_performance")
            human = None if raw_human is None else float(raw_human)
        steps.append(
            Step(
                index=int(number),
                slug=slug,
                path=step_dir,
                message=(step_dir / "MESSAGE").read_text(encoding="utf-8"),
                deletes=deletes,
                files=tuple(files),
                apis=apis,
                human_performance=human,
            )
        )
    indexes = [s.index for s in steps]
    if indexes != list(range(1, len(steps) + 1)):
        raise ValueError(f"{history}: steps must be numbered 01, 02, ... without gaps")
    return steps


def _git_env(date: str | None = None, project: Project = TEXTKIT) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME=project.author_name,
        GIT_AUTHOR_EMAIL=project.author_email,
        GIT_COMMITTER_NAME=project.author_name,
        GIT_COMMITTER_EMAIL=project.author_email,
        LC_ALL="C",
        TZ="UTC",
    )
    if date is not None:
        env.update(GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    return env


def _git(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    settings = [arg for setting in _GIT_SETTINGS for arg in ("-c", setting)]
    proc = subprocess.run(
        ["git", *settings, *args],
        cwd=repo,
        env=dict(env) if env is not None else _git_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {repo} ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout.strip()


def _apply(repo: Path, step: Step) -> None:
    for rel in step.deletes:
        target = repo / rel
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
        else:
            raise RuntimeError(f"step {step.path.name} deletes {rel}, which does not exist")
    for rel, stored in step.files:
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(stored.read_bytes())
        target.chmod(0o644)


def build_demo_repo(dest: Path, *, verify: bool = True, project: Project = TEXTKIT) -> Path:
    """Create the demo repository at *dest* (absent or an empty directory); return *dest*.

    Raises :class:`RuntimeError` when the resulting head is not :data:`EXPECTED_HEAD`
    (unless *verify* is false): the build was not deterministic.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    _git(dest, "init", "-q")
    _git(dest, "symbolic-ref", "HEAD", f"refs/heads/{BRANCH}")
    # Local settings for whoever uses the checkout later; they do not change any SHA.
    _git(dest, "config", "core.autocrlf", "false")
    _git(dest, "config", "commit.gpgsign", "false")
    for step in load_steps(project.history):
        _apply(dest, step)
        _git(dest, "add", "-A")
        message = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed just below
            "w", encoding="utf-8", suffix=".msg", delete=False
        )
        try:
            with message:
                message.write(step.message)
            _git(
                dest,
                "commit",
                "-q",
                "--no-verify",
                "--no-gpg-sign",
                "--cleanup=strip",
                "-F",
                message.name,
                env=_git_env(step.date, project),
            )
        finally:
            os.unlink(message.name)
    head = _git(dest, "rev-parse", "HEAD")
    if verify and head != project.expected_head:
        raise RuntimeError(
            f"the demo repository built at {dest} ends at {head}, expected {project.expected_head}: "
            "the build is not deterministic (or EXPECTED_HEAD is out of date)"
        )
    return dest


def _branch_head(repo: Path) -> str | None:
    if not (repo / ".git").is_dir():
        return None
    try:
        return _git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{BRANCH}^{{commit}}")
    except RuntimeError:
        return None


def demo_repo(cache_dir: Path, project: Project = TEXTKIT) -> Path:
    """``cache_dir/"demo-repo"`` (the project's folder), built on first use (atomically) and reused after."""
    cache_dir = Path(cache_dir)
    target = cache_dir / project.cache_name
    expected = project.expected_head
    if _branch_head(target) == expected:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=".demo-repo-", dir=cache_dir))
    try:
        build_demo_repo(fresh, project=project)
        if target.exists() and _branch_head(target) != expected:
            stale = Path(tempfile.mkdtemp(prefix=".demo-repo-stale-", dir=cache_dir))
            with contextlib.suppress(FileNotFoundError):  # another process moved it first
                os.replace(target, stale / "repo")
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(fresh, target)
        except OSError:
            # Another process won the race; its repository is as good as ours.
            if _branch_head(target) != expected:
                raise
    finally:
        if fresh.exists():
            shutil.rmtree(fresh, ignore_errors=True)
    return target


def commit_shas(repo: Path) -> list[str]:
    """The commits of the demo branch, oldest first."""
    return _git(repo, "rev-list", "--reverse", f"refs/heads/{BRANCH}").split()


def _perf_script(slug: str, project: Project = TEXTKIT) -> Path:
    return project.perf / (slug.replace("-", "_") + ".py")


def demo_tasks(repo: Path, project: Project = TEXTKIT) -> list[DemoTask]:
    """The performance commits of the built demo repository *repo*, oldest first."""
    steps = load_steps(project.history)
    shas = commit_shas(repo)
    if len(shas) != len(steps):
        raise RuntimeError(f"{repo} has {len(shas)} commits, the history {len(steps)}")
    tasks: list[DemoTask] = []
    for step, sha in zip(steps, shas, strict=True):
        if step.apis is None:
            continue
        base = shas[step.index - 2]
        changed = _git(repo, "diff", "--name-only", "--no-renames", base, sha).splitlines()
        tasks.append(
            DemoTask(
                slug=step.slug,
                base_commit=base,
                head_commit=sha,
                subject=_git(repo, "log", "-1", "--format=%s", sha),
                apis=step.apis,
                files_changed=tuple(sorted(changed)),
                perf_script=_perf_script(step.slug, project),
                human_performance=step.human_performance,
                project=project.name,
            )
        )
    return tasks


def dataset_records(repo: Path, project: Project = TEXTKIT) -> list[dict[str, Any]]:
    """One canonical dataset record per task of the built demo repository *repo*."""
    records: list[dict[str, Any]] = []
    for task in demo_tasks(repo, project):
        records.append(
            {
                "instance_id": task.instance_id,
                "repo": project.dataset_repo,
                "base_commit": task.base_commit,
                "head_commit": task.head_commit,
                "subject": task.subject,
                "apis": list(task.apis),
                "files_changed": list(task.files_changed),
                "perf_tests": [
                    {
                        "name": task.perf_name,
                        "script": task.perf_script.read_text(encoding="utf-8"),
                    }
                ],
                "human_performance": task.human_performance,
            }
        )
    return records


def write_dataset(out: Path, repo: Path | None = None, project: Project = TEXTKIT) -> Path:
    """Write the demo dataset (JSONL) to *out*, from *repo* or a freshly built repository."""
    out = Path(out)
    if repo is None:
        with tempfile.TemporaryDirectory(prefix="isobench-demo-") as tmp:
            records = dataset_records(build_demo_repo(Path(tmp) / "repo", project=project), project)
    else:
        records = dataset_records(repo, project)
    out.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(record) + "\n" for record in records)
    out.write_text(text, encoding="utf-8", newline="\n")
    return out


def parse_perf_output(stdout: str) -> tuple[float, str]:
    """``(time_s, digest)`` from the last line of a perf test's standard output."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("the perf test printed nothing")
    value = json.loads(lines[-1])
    if not isinstance(value, dict):
        raise ValueError(f"the last line is not a JSON object: {lines[-1]!r}")
    return float(value["time_s"]), str(value["digest"])


def run_perf_script(checkout: Path, name: str, script: str, python: str = sys.executable) -> str:
    """Write *script* at the root of *checkout* and run it there; return its stdout."""
    path = checkout / f"_isobench_perf_{name}.py"
    path.write_text(script, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(
        [python, path.name],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"{path} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout


def measure_task(
    repo: Path, task: DemoTask, runs: int = 15, python: str = sys.executable
) -> tuple[list[float], list[float]]:
    """Time the task's perf test on base and head (interleaved): ``(base, head)`` seconds."""
    script = task.perf_script.read_text(encoding="utf-8")
    base_times: list[float] = []
    head_times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="isobench-demo-wt-") as tmp:
        trees = {}
        for label, sha in (("base", task.base_commit), ("head", task.head_commit)):
            tree = Path(tmp) / label
            _git(repo, "worktree", "add", "-q", "--detach", str(tree), sha)
            trees[label] = tree
        try:
            digests: set[str] = set()
            for _ in range(runs):
                for label, times in (("base", base_times), ("head", head_times)):
                    seconds, digest = parse_perf_output(run_perf_script(trees[label], task.perf_name, script, python))
                    times.append(seconds)
                    digests.add(digest)
            if len(digests) != 1:
                raise RuntimeError(f"{task.instance_id}: base and head results differ")
        finally:
            for tree in trees.values():
                _git(repo, "worktree", "remove", "--force", str(tree))
    return base_times, head_times


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``build DEST``, ``dataset OUT`` or ``measure [--runs N]``."""
    parser = argparse.ArgumentParser(prog="python -m pytest_isobench.demo.build")
    parser.add_argument("--project", choices=["demo", "demo-gpu"], default="demo", help="which bundled project")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the demo repository").add_argument("dest", type=Path)
    sub.add_parser("dataset", help="write the demo dataset").add_argument("out", type=Path)
    measure = sub.add_parser("measure", help="time every task's base and head")
    measure.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    project = TEXTKIT if args.project == "demo" else GPU_PROJECT
    if args.command == "build":
        print(build_demo_repo(args.dest, verify=False, project=project), _git(args.dest, "rev-parse", "HEAD"))
    elif args.command == "dataset":
        print(write_dataset(args.out, project=project))
    else:
        with tempfile.TemporaryDirectory(prefix="isobench-demo-") as tmp:
            repo = build_demo_repo(Path(tmp) / "repo", project=project)
            for task in demo_tasks(repo, project):
                base, head = measure_task(repo, task, args.runs)
                b, h = statistics.median(base), statistics.median(head)
                print(
                    f"{task.instance_id}: base {b * 1e3:.1f} ms, head {h * 1e3:.2f} ms, "
                    f"speedup {b / h:.2f} (base {task.base_commit[:8]}, head "
                    f"{task.head_commit[:8]})"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
