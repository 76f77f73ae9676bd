"""The GPU demo suite (``tasks/demo-gpu.yaml``): its project, its dataset, and its skips without a GPU.

The project's history is built from the package's files and must end at the same commit
everywhere; ``data/demo-gpu.jsonl`` must be what that build gives. Without a GPU every
task collects with the ``gpu`` marker and is skipped with the reason. Where torch is
installed (not in CI), each task's perf test also runs on the CPU on base and head with
equal digests (a dry run of the logic; the real timing needs CUDA).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pytest_isobench.demo.projects import GPU_PROJECT
from pytest_isobench.demo.repository import build_demo_repo
from pytest_isobench.demo.tasks import dataset_records, demo_tasks
from pytest_isobench.demo.timing import measure_task

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "tasks" / "demo-gpu.yaml"


@pytest.fixture(scope="module")
def gpu_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_demo_repo(tmp_path_factory.mktemp("demo-gpu") / "repo", project=GPU_PROJECT)


def test_history_is_reproducible_and_the_dataset_matches(gpu_repo: Path, tmp_path: Path) -> None:
    again = build_demo_repo(tmp_path / "again", project=GPU_PROJECT)  # verify=True checks the head
    assert again.exists()
    shipped = [json.loads(line) for line in (ROOT / "data" / "demo-gpu.jsonl").read_text().splitlines()]
    assert shipped == dataset_records(gpu_repo, GPU_PROJECT)
    assert [(r["instance_id"], r["files_changed"]) for r in shipped] == [
        ("demo-gpu-batched-projection", ["tinylm/project.py"]),
        ("demo-gpu-sdpa-attention", ["tinylm/attention.py"]),
        ("demo-gpu-decode-without-sync", ["tinylm/decode.py"]),
    ]
    for record in shipped:
        script = record["perf_tests"][0]["script"]
        assert "torch.cuda.Event(enable_timing=True)" in script and '"time_s"' in script


@pytest.mark.slow
def test_without_a_gpu_every_task_is_skipped_with_the_reason(pytester: pytest.Pytester, tmp_path: Path) -> None:
    if shutil.which("nvidia-smi") is not None:
        pytest.skip("a GPU driver is installed here: the no-GPU path needs a machine without one")
    collected = pytester.runpytest_subprocess(str(SUITE), "--collect-only", "-q", "-m", "gpu", "-p", "no:cacheprovider")
    collected.stdout.fnmatch_lines(
        ["*demo-gpu-ce2690a1*", "*demo-gpu-3e3a25d3*", "*demo-gpu-032dd598*", "3 tests collected*"]
    )
    results = tmp_path / "results"
    ran = pytester.runpytest_subprocess(
        str(SUITE),
        "-rs",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=local",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={tmp_path / 'cache'}",
    )
    ran.assert_outcomes(skipped=3)
    ran.stdout.fnmatch_lines(["SKIPPED*needs 1 GPU(s), 0 visible here*"] * 3)
    records = [json.loads(p.read_text()) for p in sorted((results / "tasks").glob("*.json"))]
    assert [r["status"] for r in records] == ["skipped"] * 3
    assert all(r["gpu"] == {"available": False, "reason": "nvidia-smi not found on PATH"} for r in records)


@pytest.mark.slow
def test_cpu_dry_run_gives_equal_digests(gpu_repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch", reason="torch is not installed (the GPU machine has it; CI does not)")
    import sys

    monkeypatch.setenv("TINYLM_PERF_DEVICE", "cpu")
    for task in demo_tasks(gpu_repo, GPU_PROJECT):
        base, head = measure_task(gpu_repo, task, runs=2, python=sys.executable)  # raises when digests differ
        assert len(base) == len(head) == 2


@pytest.mark.docker
def test_docker_backend_sends_the_gpu_request_to_the_engine(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a GPU visible (a fake nvidia-smi), the container is created with a GPU device request.

    This engine has no NVIDIA runtime, so it refuses the request: the task is an error that
    quotes the engine, which shows the request (``--gpus all``) reached it.
    """
    import os
    import sys

    bindir = tmp_path / "bin"
    bindir.mkdir()
    (tmp_path / "smi").mkdir()
    exe = bindir / "nvidia-smi"
    exe.write_text(f"#!{sys.executable}\n" + (ROOT / "tests" / "fake_nvidia_smi.py").read_text())
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_SMI_DIR", str(tmp_path / "smi"))
    ran = pytester.runpytest_subprocess(
        str(SUITE),
        "-k",
        "ce2690a1",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=docker",
        "--isobench-image=isobench-demo:bookworm",
        f"--isobench-results={tmp_path / 'results'}",
        f"--isobench-cache-dir={tmp_path / 'cache'}",
    )
    ran.assert_outcomes(errors=1)
    ran.stdout.fnmatch_lines(["*could not start a container from 'isobench-demo:bookworm'*capabilities*gpu*"])
