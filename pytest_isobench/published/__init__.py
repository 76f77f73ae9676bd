"""ISO-Bench's own artefacts, read as they are: published run directories, their
predictions and evaluation results.

This package reads files that ISO-Bench's harness wrote (``state/runs/...`` and
``analysis/eval_results*/...``) and turns them into plain values: run items, cleaned
patches, task facts, prediction tables. It never measures anything, and what ISO-Bench
observed (agent status, its evaluation status) is kept apart from our own timings.
"""

from __future__ import annotations

from .patches import CleanPatch, clean_patch
from .runs import PublishedItem, find_items, normalise_repo

__all__ = ["CleanPatch", "PublishedItem", "clean_patch", "find_items", "normalise_repo"]
