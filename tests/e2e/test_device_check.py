"""``scripts/device-check.sh`` on a machine without a GPU: it goes as far as it can, then says so.

The script is run as the GPU machine would run it, with this interpreter standing in for
the offline install (``ISOBENCH_CHECK_PYTHON``): it records the environment, checks that
``tasks/demo-gpu.yaml`` collects its three tasks, and stops with status 3 and the reason
before the GPU runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_stops_before_the_gpu_runs_and_says_why(tmp_path: Path) -> None:
    if shutil.which("nvidia-smi") is not None:
        pytest.skip("a GPU driver is installed here: this checks the path of a machine without one")
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out), "ISOBENCH_CHECK_PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "device-check.sh")], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "device-check: tasks/demo-gpu.yaml collects 3 tasks" in proc.stdout
    assert (
        "device-check: no GPU here (nvidia-smi lists 0, torch CUDA: False): stopping before the GPU runs" in proc.stdout
    )
    facts = json.loads((out / "environment.json").read_text())
    assert facts["nvidia_smi_gpus"] == 0 and facts["cuda_available"] is False
    assert facts["gpu"] == {"available": False, "reason": "nvidia-smi not found on PATH"}
    assert "3 tests collected" in (out / "collect.txt").read_text()
    assert not (out / "no-agent").exists()  # nothing ran that needs a GPU
