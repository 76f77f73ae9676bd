"""The record of a task whose process died under it (an xdist worker killed or crashed).

The controller knows only the node id of such a task and why it was lost. This builds the
``error`` record that stands for it, so the summary counts it and ``--isobench-resume``
runs it again; it never guesses figures, and knows nothing about xdist beyond its text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..session import Settings


def lost_record(nodeid: str, settings: Settings, reason: str) -> dict[str, Any]:
    """An ``error`` record for ``nodeid``: infrastructure, never the agent's fault."""
    item_id = nodeid.rsplit("::", 1)[-1]
    return {
        "item_id": item_id,
        "nodeid": nodeid,
        "suite": nodeid.split("::", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[0],
        "agent": settings.agent,
        "model": settings.model,
        "settings": settings.fingerprint(),
        "run_id": settings.run_id,
        "status": "error",
        "verdict": None,
        "lost": True,
        "reason": f"task lost (infrastructure, not the agent's fault): {reason}",
    }
