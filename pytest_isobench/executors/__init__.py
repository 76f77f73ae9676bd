"""Where a :class:`~pytest_isobench.taskrun.TaskRun` runs.

:mod:`.inprocess` (the default, also under pytest-xdist): in the pytest item's own
process, its record handed back to the item. Executors decide where, never what: the
task run is the same object whichever runs it.
"""
