"""Every ``pytest.StashKey`` of the plugin, in a module that imports nothing of ours.

Any module may import this one without creating an import cycle: the types named below
are only read by the type checker. The run's state lives under :data:`SESSION_KEY` (one
:class:`~pytest_isobench.session.IsobenchSession`); the other keys hang off task items.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .dataset.lazy import TaskRef
    from .dataset.models import Task
    from .results.record import TaskRecord
    from .session import IsobenchSession
    from .suite import Suite

#: The one run state of a pytest session (config stash).
SESSION_KEY: pytest.StashKey[IsobenchSession] = pytest.StashKey()

#: On a task item: its dataset reference (cheap, read at collection) ...
REF_KEY: pytest.StashKey[TaskRef] = pytest.StashKey()
#: ... the full task, mapped from the reference on first use ...
TASK_KEY: pytest.StashKey[Task] = pytest.StashKey()
#: ... its suite ...
SUITE_KEY: pytest.StashKey[Suite] = pytest.StashKey()
#: ... why perf-test generation left it without a perf test ...
TESTGEN_KEY: pytest.StashKey[str] = pytest.StashKey()
#: ... and the record of its run, once there is one.
RECORD_KEY: pytest.StashKey[TaskRecord] = pytest.StashKey()

#: Which dataset source each suite used (config stash; shown after collection).
SOURCE_NOTES_KEY: pytest.StashKey[list[str]] = pytest.StashKey()

#: The attribute of a task's call report that carries its record (as JSON, so xdist ships it).
RECORD_ATTR = "isobench_record"

#: Marker names already registered by collection (config stash).
MARKERS_KEY: pytest.StashKey[set[str]] = pytest.StashKey()
