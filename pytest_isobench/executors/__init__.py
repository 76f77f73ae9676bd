"""Where a task runs: in its pytest item (the default, also under pytest-xdist) or on a Ray cluster.

The Ray executor (``--isobench-ray``) keeps pytest as the collector, selector and reporter:
it ships each selected task item's run to the cluster (the agent and the measurement as
separate Ray tasks) and replays the returned records into pytest's reports, the way
pytest-xdist's controller replays its workers' reports. Nothing here changes what a task
does; importing this package never imports Ray.
"""
