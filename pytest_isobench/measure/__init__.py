"""The measure layer: the timing protocol, its statistics and the verdict.

Pure code over plain values: the protocol is handed a ``run_one`` callable rather than
running processes, and verdicts are functions of samples and a rule. Nothing here may
import pytest or docker, and scipy is imported only inside the functions that use it.
"""

from __future__ import annotations

from pytest_isobench.measure.gso import GsoResult, gso_opt
from pytest_isobench.measure.paired import paired_speedup
from pytest_isobench.measure.protocol import (
    Measurement,
    ProtocolResult,
    ProtocolSettings,
    Sample,
    StopReason,
    run_protocol,
)
from pytest_isobench.measure.rule import SuccessRule
from pytest_isobench.measure.sequential import SequentialDesign, design
from pytest_isobench.measure.stats import (
    Direction,
    Estimate,
    VariantStats,
    combine,
    faster_pvalue,
    speedup,
    speedup_ci,
    summarize,
)
from pytest_isobench.measure.verdict import (
    AGENT,
    HUMAN,
    Category,
    Verdict,
    categorize,
    format_estimate,
    format_pvalue,
    judge,
)

__all__ = [
    "AGENT",
    "HUMAN",
    "Category",
    "Direction",
    "Estimate",
    "GsoResult",
    "Measurement",
    "ProtocolResult",
    "ProtocolSettings",
    "Sample",
    "SequentialDesign",
    "StopReason",
    "SuccessRule",
    "VariantStats",
    "Verdict",
    "categorize",
    "combine",
    "design",
    "faster_pvalue",
    "format_estimate",
    "format_pvalue",
    "gso_opt",
    "judge",
    "paired_speedup",
    "run_protocol",
    "speedup",
    "speedup_ci",
    "summarize",
]
