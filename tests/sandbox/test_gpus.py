"""GPU selections: parsing, the device requests Docker is sent, and host GPU counting.

No GPU is needed: the requests are checked in the dict form the engine API receives, and the
container create call is captured with a fake client. Nothing here talks to an engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_isobench.sandbox import gpus
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import LABEL, LABEL_VARIANT, Limits, SandboxSpec

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("all", {"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]]}),
        ("2", {"Driver": "", "Count": 2, "DeviceIDs": [], "Capabilities": [["gpu"]]}),
        ("0,1", {"Driver": "", "Count": 0, "DeviceIDs": ["0", "1"], "Capabilities": [["gpu"]]}),
        ("device=3", {"Driver": "", "Count": 0, "DeviceIDs": ["3"], "Capabilities": [["gpu"]]}),
        (
            "GPU-4f1c2a",
            {"Driver": "", "Count": 0, "DeviceIDs": ["GPU-4f1c2a"], "Capabilities": [["gpu"]]},
        ),
    ],
)
def test_device_requests_have_the_fields_docker_expects(value: str, expected: dict[str, Any]) -> None:
    (request,) = gpus.device_requests(value)
    assert dict(request) == {**expected, "Options": {}}


def test_no_gpu_means_no_device_request() -> None:
    assert gpus.device_requests(None) == []


@pytest.mark.parametrize(
    ("value", "normal"),
    [("all", "all"), (" ALL ", "all"), ("02", "2"), ("0, 1", "0,1"), ("device=0", "device=0")],
)
def test_parse_gpus_normalises(value: str, normal: str) -> None:
    assert gpus.parse_gpus(value) == normal


@pytest.mark.parametrize("value", ["", "0", "-1", "two", "0,,1", "device=", "0;1", "a b"])
def test_parse_gpus_rejects_bad_values_saying_what_is_expected(value: str) -> None:
    with pytest.raises(ValueError, match="GPU") as info:
        gpus.parse_gpus(value)
    assert repr(value) in str(info.value)
    if value != "0":
        assert "expected 'all'" in str(info.value)


class _Stop(Exception):
    """Ends ``start`` right after the create call: there is no GPU to run on."""


class FakeClient:
    """Just enough of ``docker.DockerClient`` to capture ``containers.run``'s kwargs."""

    def __init__(self) -> None:
        self.run_calls: list[tuple[str, dict[str, Any]]] = []
        self.removed: list[str] = []
        self.images = self
        self.containers = self
        self.api = self

    def get(self, name: str) -> object:  # images.get
        return object()

    def ping(self) -> bool:  # the sandbox waits for an answering engine first
        return True

    def run(self, image: str, **kwargs: Any) -> None:  # containers.run
        self.run_calls.append((image, kwargs))
        raise _Stop

    def remove_container(self, name: str, **kwargs: Any) -> None:  # api.remove_container
        self.removed.append(name)


def test_a_gpu_sandbox_asks_docker_for_all_gpus(tmp_path: Path) -> None:
    client = FakeClient()
    spec = SandboxSpec(
        task_id="vllm-8aa1485f",
        variant="agent",
        repo_dir=tmp_path,
        commit="0" * 40,
        image="vllm/vllm-openai:latest",
        limits=Limits(gpus="all", cpuset="0-7", memory="64g"),
    )
    sandbox = DockerSandbox(spec, client)
    with pytest.raises(_Stop):
        sandbox.start()
    ((image, kwargs),) = client.run_calls
    assert image == "vllm/vllm-openai:latest"
    assert [dict(r) for r in kwargs["device_requests"]] == [
        {"Driver": "", "Count": -1, "DeviceIDs": [], "Capabilities": [["gpu"]], "Options": {}}
    ]
    assert kwargs["cpuset_cpus"] == "0-7" and kwargs["mem_limit"] == "64g"
    assert kwargs["init"] is True and kwargs["detach"] is True
    assert kwargs["command"] == ["sleep", "infinity"]
    assert kwargs["labels"][LABEL] == "1" and kwargs["labels"][LABEL_VARIANT] == "agent"
    # The failed start cleaned up after itself.
    assert client.removed == [kwargs["name"]]


def test_a_cpu_sandbox_sends_no_device_request(tmp_path: Path) -> None:
    client = FakeClient()
    spec = SandboxSpec("t", "baseline", tmp_path, "0" * 40, image="img")
    with pytest.raises(_Stop):
        DockerSandbox(spec, client).start()
    assert client.run_calls[0][1]["device_requests"] == []


def _fake_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    exe = tmp_path / "nvidia-smi"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))


def test_visible_gpus_counts_whole_gpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_smi(
        tmp_path,
        monkeypatch,
        "echo 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-a)'\n"
        "echo '  MIG 1g.10gb Device 0: (UUID: MIG-b)'\n"
        "echo 'GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-c)'\n",
    )
    assert gpus.visible_gpus() == 2


def test_visible_gpus_is_zero_when_nvidia_smi_fails_or_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_smi(tmp_path, monkeypatch, "echo 'NVIDIA-SMI has failed' >&2; exit 9\n")
    assert gpus.visible_gpus() == 0
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert gpus.visible_gpus() == 0


def test_local_sandbox_sees_only_its_gpus(tmp_path: Path) -> None:
    """The local backend has no device requests: explicit GPU ids become CUDA_VISIBLE_DEVICES."""
    import os

    from gitutil import git

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / "a").write_text("1\n")
    git(repo, "add", "a")
    git(repo, "commit", "-qm", "a")
    sha = git(repo, "rev-parse", "HEAD").strip()
    seen = {}
    for spec_gpus in ("device=1", "0,2", "all", None):
        spec = SandboxSpec(task_id="t", variant="baseline", repo_dir=repo, commit=sha, limits=Limits(gpus=spec_gpus))
        box = LocalSandbox(spec, tmp_path / "wt")
        box.start()
        try:
            seen[spec_gpus] = box.exec("echo ${CUDA_VISIBLE_DEVICES-unset}", 10).stdout.strip()
        finally:
            box.close()
    assert seen["device=1"] == "1" and seen["0,2"] == "0,2"
    assert seen["all"] == seen[None] == os.environ.get("CUDA_VISIBLE_DEVICES", "unset")
