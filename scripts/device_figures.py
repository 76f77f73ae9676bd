#!/usr/bin/env python3
"""Print the figures of a device check: per task the human speedup with its interval, the
agent-vs-human (an A/A when the agent is the human diff) and the verdict, then the GPU
provenance of the first record. Usage: device_figures.py OUT_DIR (the folders of the runs
under it each hold tasks/*.json). Standard library only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def estimate(value: dict[str, float] | None) -> str:
    if not value:
        return "-"
    return f"{value['point']:.3f}x [{value['low']:.3f}, {value['high']:.3f}]"


def main(out: Path) -> int:
    first_gpu: dict[str, Any] | None = None
    runs = sorted(p.parent for p in out.glob("*/tasks"))
    if not runs:
        print(f"no records under {out}")
        return 1
    for run in runs:
        print(f"== {run.name}")
        for path in sorted((run / "tasks").glob("*.json")):
            record = json.loads(path.read_text())
            verdict = record.get("verdict") or {}
            medians = {}
            for test in record.get("perf_tests") or []:
                for variant, data in (test.get("variants") or {}).items():
                    values = sorted(data.get("values") or [])
                    if values:
                        medians[variant] = f"{values[len(values) // 2] * 1e3:.3f} ms"
            print(
                f"{record['item_id']}: {record['status']}"
                f" | human {estimate(verdict.get('human'))}"
                f" | agent vs human {estimate(verdict.get('agent_vs_human'))}"
                f" | {verdict.get('category') or ('significant' if verdict.get('human_significant') else '-')}"
                f" | medians {medians} | rounds {[t.get('rounds') for t in record.get('perf_tests') or []]}"
            )
            if record["status"] in ("error", "skipped"):
                print(f"    reason: {str(record.get('reason', ''))[-400:]}")
            gpu = record.get("gpu") or {}
            for warning in gpu.get("warnings") or []:
                print(f"    warning: {warning}")
            if first_gpu is None and gpu:
                first_gpu = gpu
    print("== GPU provenance (first record)")
    print(json.dumps(first_gpu, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "device-check-out")))
