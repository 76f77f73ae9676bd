"""From a repository's history to a dataset of performance tasks.

:mod:`.scan` finds performance commits with gitpython (message keywords, file filters, the
changed functions and public APIs from the Python AST), :mod:`.classify` optionally asks an
OpenAI-compatible model whether each is a real optimisation, and :mod:`.export` writes the
records (ours, or the GSO, SWE-Perf and ISO-Bench views) atomically and pushes or pulls them
with the ``datasets`` library. Nothing heavy is imported until a function runs.
"""

from __future__ import annotations

from .scan import CommitInfo, ScanError, ScanOptions, ScanResult, scan_repository

__all__ = ["CommitInfo", "ScanError", "ScanOptions", "ScanResult", "scan_repository"]
