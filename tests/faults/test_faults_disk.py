"""The results disk fills up mid-run, for real: the results directory is a small tmpfs.

Once the first task's record is on it, the test fills every remaining byte. The next
record cannot be written: the run must say so naming the directory, stop (not run the
remaining tasks, not exit 0), and leave every record written before complete, valid JSON,
with no half-written file beside it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import make_project, output, record_bytes, records, start, wait_for

from pytest_isobench.results.store import read_records


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount = tmp_path / "results"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write until the filesystem refuses: not one byte left."""
    with contextlib.suppress(OSError), (path / "filler").open("wb", buffering=0) as fh:
        while True:
            fh.write(b"\0" * 4096)
    with contextlib.suppress(OSError), (path / "filler-small").open("wb", buffering=0) as fh:
        while True:
            fh.write(b"\0")


@pytest.mark.slow
def test_full_results_disk_stops_the_run_and_keeps_what_was_written(tmp_path: Path, small_disk: Path) -> None:
    project = make_project(tmp_path / "p", tasks=4, extra=["", "time.sleep(2)", "", ""])
    cache = tmp_path / "cache"
    proc = start(project, cache, small_disk, "--isobench-backend=local", "-rA")
    try:
        wait_for(proc, lambda: len(list((small_disk / "tasks").glob("*.json"))) == 1, "the first record", 120)
        _fill(small_disk)
        before = record_bytes(small_disk)
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output(project)
    assert proc.returncode == 2, text[-3000:]  # pytest's "interrupted": the run was stopped
    assert f"Interrupted: results directory {small_disk} is full" in text
    assert "INTERNALERROR" not in text
    # The run stopped: the last two tasks never started.
    for item_id in project.ids[2:]:
        assert item_id not in text.split("short test summary info")[-1], text[-2000:]
    assert record_bytes(small_disk) == before
    loaded = read_records(small_disk)
    assert loaded.problems == [] and [r.item_id for r in loaded.records] == [project.ids[0]]
    assert sorted(records(small_disk)) == [project.ids[0]]
    assert [p.name for p in (small_disk / "tasks").iterdir()] == [f"{project.ids[0]}.json"]
    left = [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
    assert left == [], left[:5]


# The controller says when a worker's record was refused (the test frees the disk then).
SEEN_FULL = """\
import os
from pathlib import Path


def pytest_runtest_logreport(report):
    if report.failed and "is full" in str(report.longrepr):
        Path(os.environ["FX_SEEN_FULL"]).touch()
"""


def _count(results: Path) -> int:
    return len(list((results / "tasks").glob("*.json")))


@pytest.mark.slow
def test_full_results_disk_under_xdist_stops_every_worker_and_the_controller(tmp_path: Path, small_disk: Path) -> None:
    """One worker's record does not fit; the disk is freed right after (another program's files went).

    The run must still stop: the other worker finishes the task it is in and starts no other
    (xdist alone lets it run every task already sent to it).
    """
    pytest.importorskip("xdist")
    project = make_project(tmp_path / "p", tasks=24, extra=["time.sleep(0.4)"] * 24)
    (project.path / "conftest.py").write_text(SEEN_FULL)
    seen_full = tmp_path / "seen-full"
    cache = tmp_path / "cache"
    env = {"FX_SEEN_FULL": str(seen_full)}
    proc = start(project, cache, small_disk, "--isobench-backend=local", "-n", "2", "-v", "-rA", env=env)
    try:
        wait_for(proc, lambda: _count(small_disk) >= 2, "two records", 180)
        seen = _count(small_disk)
        wait_for(proc, lambda: _count(small_disk) > seen, "the next record", 180)
        _fill(small_disk)  # that worker has just begun a task: the other one is likely to end first
        wait_for(proc, seen_full.exists, "a record refused by the full disk", 180)
        for filler in small_disk.glob("filler*"):
            filler.unlink()  # room again: only the stop stops the other worker now
        before = record_bytes(small_disk)
        proc.wait(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = output(project)
    assert proc.returncode == 2, text[-3000:]  # interrupted, on the controller too
    assert f"Interrupted: results directory {small_disk} is full" in text, text[-3000:]
    assert "INTERNALERROR" not in text, text[-3000:]
    after = record_bytes(small_disk)
    assert {k: after[k] for k in before} == before  # every record written before is untouched
    assert len(set(after) - set(before)) <= 1, sorted(set(after) - set(before))  # at most the task in flight
    loaded = read_records(small_disk)
    assert loaded.problems == [] and len(loaded.records) == len(after) < len(project.ids)
    assert sorted(p.name for p in (small_disk / "tasks").iterdir()) == sorted(after)  # no half-written file
    left = [p for p in (cache / "worktrees").rglob("*") if p.is_file()] if (cache / "worktrees").exists() else []
    assert left == [], left[:5]
    assert not (cache / "runs").exists()  # the run's stop flag went with it
