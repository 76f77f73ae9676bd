"""GPU provenance: nvidia-smi's real output parsed, warnings, clock locking, and the record field.

A fake ``nvidia-smi`` (``tests/fake_nvidia_smi.py``, real output formats) is put on
``PATH``; the end-to-end test runs a GPU task of a repository made here on the local
backend (its perf test needs no GPU) and reads the ``gpu`` field of the written record.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from gitutil import git

from pytest_isobench.provenance import gpu

TESTS = Path(__file__).resolve().parents[1]
REAL_ROW = (
    "0, GPU-4a1c2f3e-1b2c-3d4e-5f60-718293a4b5c6, NVIDIA H100 80GB HBM3, 550.54.15, 00000000:18:00.0, "
    "1980, 2619, 1980, 2619, 1755, 34, 71.43, 700.00, Enabled, Enabled, 4, 81559, 0"
)


@pytest.fixture
def fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake nvidia-smi first on PATH; returns its state directory."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    state = tmp_path / "smi-state"
    state.mkdir()
    exe = bindir / "nvidia-smi"
    exe.write_text(f"#!{sys.executable}\n" + (TESTS / "fake_nvidia_smi.py").read_text())
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SMI_DIR", str(state))
    monkeypatch.delenv(gpu.LOCKED_ENV, raising=False)
    gpu._cuda_version.cache_clear()
    return state


def test_parse_real_row_and_missing_values() -> None:
    (row,) = gpu.parse_gpus(REAL_ROW + "\n")
    assert row["name"] == "NVIDIA H100 80GB HBM3"
    assert row["driver"] == "550.54.15"
    assert (row["sm_clock_mhz"], row["mem_clock_mhz"], row["base_sm_clock_mhz"]) == (1980, 2619, 1755)
    assert row["power_w"] == 71.43 and row["temperature_c"] == 34
    assert row["ecc"] == "Enabled" and row["persistence"] == "Enabled"
    na = REAL_ROW.replace("71.43", "[N/A]").replace("Enabled, Enabled", "[Not Supported], Disabled")
    (row,) = gpu.parse_gpus(na)
    assert row["power_w"] is None and row["ecc"] is None and row["persistence"] == "Disabled"


def test_unreadable_row_names_the_line() -> None:
    with pytest.raises(gpu.GpuQueryError, match=r"line 2: expected 18 fields, got 3"):
        gpu.parse_gpus(REAL_ROW + "\n0, x, y\n")
    with pytest.raises(gpu.GpuQueryError, match=r"field 'sm_clock_mhz': expected a number, got 'fast'"):
        gpu.parse_gpus(REAL_ROW.replace("1980, 2619, 1980", "fast, 2619, 1980", 1))


def test_compute_apps_and_cuda_banner() -> None:
    apps = gpu.parse_apps("GPU-4a1c, 4242, /usr/bin/python3, 1200\nNo running processes found\n")
    assert apps == [{"gpu_uuid": "GPU-4a1c", "pid": 4242, "process_name": "/usr/bin/python3", "used_memory_mib": 1200}]
    assert (
        gpu.parse_cuda_version("| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4  |") == "12.4"
    )


def test_no_nvidia_smi_is_recorded_as_absent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert gpu.snapshot() == {"available": False, "reason": "nvidia-smi not found on PATH"}
    assert gpu.task_gpu_record(gpu.snapshot(), None, uses_gpu=True) == {
        "available": False,
        "reason": "nvidia-smi not found on PATH",
    }
    assert gpu.lock_clocks().locked_mhz is None


def test_snapshot_through_the_fake_tool(fake_smi: Path) -> None:
    (fake_smi / "apps.csv").write_text("GPU-9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9, 777, vllm-server, 30000\n")
    state = gpu.snapshot()
    assert state["available"] and state["cuda"] == "12.4"
    assert [g["index"] for g in state["gpus"]] == [0, 1]
    assert state["gpus"][1]["power_w"] is None  # [N/A]
    assert [a["pid"] for a in state["processes"]] == [777]
    only_first = gpu.snapshot(["0"])
    assert [g["index"] for g in only_first["gpus"]] == [0]
    assert only_first["processes"] == []  # pid 777 is on GPU 1, not ours


def test_warnings(fake_smi: Path) -> None:
    (fake_smi / "apps.csv").write_text("GPU-4a1c2f3e-1b2c-3d4e-5f60-718293a4b5c6, 31337, python3, 900\n")
    start = gpu.snapshot()
    end = gpu.snapshot()
    end["gpus"][0]["sm_clock_mhz"] = 1410  # throttled during the task
    record = gpu.task_gpu_record(start, end, uses_gpu=True)
    assert record["start"][0]["temperature_c"] == 34 and record["end"][0]["temperature_c"] == 37
    text = "\n".join(record["warnings"])
    assert "GPU clocks are not locked" in text
    assert "another process holds a GPU during this task: pid 31337 (python3)" in text
    assert "GPU 0: SM clock moved from 1980 to 1410 MHz" in text
    assert "GPU 1: persistence mode is off" in text
    assert gpu.task_gpu_record(start, end, uses_gpu=False)["warnings"] == []


def test_lock_refused_without_permission_then_allowed(fake_smi: Path) -> None:
    refused = gpu.lock_clocks()
    assert refused.locked_mhz is None and "does not have permission" in refused.message
    assert gpu.locked_clocks() is None
    (fake_smi / "root").write_text("")
    locked = gpu.lock_clocks()
    assert locked.locked_mhz == 1755 and gpu.locked_clocks() == 1755  # the base clock
    assert gpu.reset_clocks(locked) == "GPU clocks reset"
    assert gpu.locked_clocks() is None
    calls = (fake_smi / "calls.log").read_text().splitlines()
    assert "-i 0,1 -lgc 1755,1755" in calls and calls[-1] == "-i 0,1 -rgc"


PERF = (
    "import json, time\nt = time.perf_counter()\ns = sum(range(200000))\n"
    "print(json.dumps({'time_s': time.perf_counter() - t, 'digest': str(s)}))\n"
)


@pytest.mark.slow
def test_record_carries_gpu_state_and_lock(
    pytester: pytest.Pytester, fake_smi: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = pytester.path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("1\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "one")
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / "a.txt").write_text("2\n")
    git(repo, "commit", "-q", "-am", "two")
    head = git(repo, "rev-parse", "HEAD").strip()
    record = {"instance_id": "g-1", "repo": str(repo), "base_commit": base, "head_commit": head}
    record["perf_tests"] = [{"name": "sum", "script": PERF}]
    (pytester.path / "data.jsonl").write_text(json.dumps(record) + "\n")
    pytester.makefile(
        ".yaml", g="name: g\ndataset: data.jsonl\ngpus_required: 1\ntiming: {min_rounds: 2, max_time_s: 5}\n"
    )
    (fake_smi / "root").write_text("")
    (fake_smi / "apps.csv").write_text("GPU-4a1c2f3e-1b2c-3d4e-5f60-718293a4b5c6, 4242, other-job, 100\n")
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "g.yaml",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=local",
        "--isobench-lock-clocks",
        "--isobench-gpus=device=0",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        timeout=120,
    )
    result.stdout.fnmatch_lines(
        [
            "*GpuWarning: g-*: another process holds a GPU during this task: pid 4242 (other-job)*",
            "*GPU clocks locked at 1755 MHz on GPU 0,1*",
            "*GPU clocks reset*",
        ]
    )
    (path,) = (results / "tasks").glob("*.json")
    saved = json.loads(path.read_text())["gpu"]
    assert saved["available"] and saved["cuda"] == "12.4" and saved["clocks_locked_mhz"] == 1755
    assert [d["index"] for d in saved["devices"]] == [0]  # --isobench-gpus=device=0: only the task's GPU
    assert saved["devices"][0]["name"] == "NVIDIA H100 80GB HBM3" and saved["devices"][0]["ecc"] == "Enabled"
    assert saved["end"][0]["temperature_c"] > saved["start"][0]["temperature_c"]  # two snapshots
    assert saved["warnings"] == ["another process holds a GPU during this task: pid 4242 (other-job)"]
    calls = (fake_smi / "calls.log").read_text().splitlines()
    lock = calls.index("-i 0,1 -lgc 1755,1755")
    assert calls.index("-i 0,1 -rgc") > lock
    assert shutil.which("nvidia-smi") is not None
    # The device check's figures read the same record.
    figures = subprocess.run(
        [sys.executable, str(TESTS.parent / "scripts" / "device_figures.py"), str(pytester.path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "== results" in figures and "g-" in figures and "| human " in figures
    assert '"clocks_locked_mhz": 1755' in figures
