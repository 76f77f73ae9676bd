"""How a variant is run and read: perf-test shapes and their driver, the perf-test
protocol, lockstep rounds, correctness gates and the noise guard. Imports nothing of
pytest; the statistics over rounds live in ``measure``."""
