"""Where a :class:`~pytest_isobench.taskrun.TaskRun` runs.

:mod:`.base` says what an executor is; :mod:`.inprocess` is the default (also under
pytest-xdist): the task runs in the pytest item's own process. Another plugin may put its
executor on ``IsobenchSession.executor``. Executors decide where, never what: the task run
is the same object whichever runs it.
"""
