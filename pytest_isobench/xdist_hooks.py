"""xdist glue, registered only when pytest-xdist is present: share the run id with workers."""

from __future__ import annotations

from typing import Any

from .settings import Settings


class XdistHooks:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["isobench_run_id"] = self.settings.run_id
