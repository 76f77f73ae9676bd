"""Synthetic work for the Ray executor: phases that wait and return records of a realistic size.

Exercises the executor alone (submission, placement, retries, replay, records, memory)
without repositories or sandboxes: the tests and ``benchmarks/bench_ray.py`` put
:data:`SYNTHETIC_WORK` under :data:`~.ray_plugin.WORK_KEY` from a conftest. The outcome
follows the task's instance id (``...fail...`` fails, ``...error...`` raises, otherwise it
passes); ``ISOBENCH_SYNTHETIC_SLEEP`` (seconds per phase) and ``ISOBENCH_SYNTHETIC_VALUES``
(samples per record) are read on the controller and travel in the payload; with
``ISOBENCH_SYNTHETIC_MARKS`` (a folder) a measurement leaves ``<item>.started`` (holding its
process id) and, once it has waited, ``<item>.done`` there; interrupted while it waits (Ray's
cancel), it leaves ``<item>.cancelled`` instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..collect.items import task_of
from .work import Finished, Handover, Placement, Work


def payload(item: Any, settings: Any) -> dict[str, Any]:
    return {
        "item_id": item.name,
        "nodeid": item.nodeid,
        "instance_id": task_of(item).instance_id,
        "agent": settings.agent,
        "run_id": settings.run_id,
        "sleep_s": float(os.environ.get("ISOBENCH_SYNTHETIC_SLEEP", "0")),
        "values": int(os.environ.get("ISOBENCH_SYNTHETIC_VALUES", "40")),
        "marks": os.environ.get("ISOBENCH_SYNTHETIC_MARKS"),
    }


def agent(job: dict[str, Any], placement: Placement) -> Finished | Handover:
    time.sleep(job["sleep_s"] / 2)
    return Handover(patch=f"--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-slow\n+fast  # {job['item_id']}\n")


def measure(job: dict[str, Any], handover: Handover | None, placement: Placement) -> Finished:
    marks = Path(job["marks"]) if job["marks"] else None
    if marks is not None:
        (marks / f"{job['item_id']}.started").write_text(str(os.getpid()))
    try:
        end = time.monotonic() + job["sleep_s"]
        while time.monotonic() < end:  # short steps: Ray's cancel interrupts between them, not inside one
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
    except KeyboardInterrupt:  # Ray's cancel; a forced one kills the process instead
        if marks is not None:
            (marks / f"{job['item_id']}.cancelled").touch()
        raise
    if marks is not None:  # a cancelled measurement never gets here
        (marks / f"{job['item_id']}.done").touch()
    if "error" in job["instance_id"]:
        raise RuntimeError(f"synthetic infrastructure failure in {job['item_id']}")
    passed = "fail" not in job["instance_id"]
    values = [0.1 + 0.001 * i for i in range(job["values"])]
    verdict = {"passed": passed, "category": None if passed else "worse", "message": "synthetic"}
    record = {
        "item_id": job["item_id"],
        "nodeid": job["nodeid"],
        "instance_id": job["instance_id"],
        "run_id": job["run_id"],
        "agent": job["agent"],
        "status": "passed" if passed else "failed",
        "verdict": verdict,
        "patch": handover.patch if handover else None,
        "gpu_ids": list(placement.gpu_ids),
        "machine": {"cpuset": placement.cpuset},
        "perf_tests": [
            {"name": "synthetic", "variants": {"baseline": {"values": values}, "human": {"values": values}}}
        ],
    }
    return Finished(record["status"], "" if passed else "synthetic: worse than the human", record)


SYNTHETIC_WORK = Work(payload=payload, agent=agent, measure=measure)
