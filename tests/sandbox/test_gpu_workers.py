"""Each pytest-xdist worker gets its own GPUs: the shares are disjoint and complete."""

from __future__ import annotations

import pytest

from pytest_isobench.sandbox.gpus import device_requests, worker_share


@pytest.mark.parametrize(
    ("spec", "workers", "visible", "expected"),
    [
        ("all", 4, 8, ["0,1", "2,3", "4,5", "6,7"]),
        ("1", 4, 8, ["device=0", "device=1", "device=2", "device=3"]),
        ("2", 2, 4, ["0,1", "2,3"]),
        ("0,1,2,3", 2, 0, ["0,1", "2,3"]),
        ("all", 1, 8, ["all"]),
    ],
)
def test_workers_never_share_a_gpu(spec: str, workers: int, visible: int, expected: list[str]) -> None:
    shares = [worker_share(spec, k, workers, visible) for k in range(workers)]
    assert shares == expected
    ids = [i for share in shares if share and share != "all" for i in share.removeprefix("device=").split(",")]
    assert len(ids) == len(set(ids))


def test_each_share_becomes_a_device_request_for_its_ids() -> None:
    share = worker_share("all", 1, 2, 4)
    (request,) = device_requests(share)
    assert request["DeviceIDs"] == ["2", "3"]
    assert request["Capabilities"] == [["gpu"]]


def test_too_few_gpus_for_the_workers_is_an_error_naming_the_fix() -> None:
    with pytest.raises(ValueError, match="lower -n"):
        worker_share("all", 0, 4, 2)
    with pytest.raises(ValueError, match="lower -n"):
        worker_share("2", 1, 2, 3)


def test_no_gpu_requested_stays_none() -> None:
    assert worker_share(None, 3, 4, 8) is None
