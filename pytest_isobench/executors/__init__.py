"""Where a :class:`~pytest_isobench.taskrun.TaskRun` runs.

:mod:`.protocol` says what an executor is; :mod:`.inprocess` is the default (also under
pytest-xdist): the task runs in the pytest item's own process. Another plugin may put its
executor on ``IsobenchSession.executor``. The Ray executor (``--isobench-ray``, the
``ray_*`` modules) replaces pytest's run loop instead: it ships each selected task item's
run to a cluster (the agent and the measurement as separate Ray tasks) and replays the
returned records into pytest's reports, the way pytest-xdist's controller replays its
workers' reports. Executors decide where, never what: the task run is the same object
whichever runs it; importing this package never imports Ray.
"""
