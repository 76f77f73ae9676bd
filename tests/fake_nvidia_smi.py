#!/usr/bin/env python3
"""A fake ``nvidia-smi`` for tests: real output formats, two H100s, state in a directory.

Installed by tests as an executable named ``nvidia-smi`` on ``PATH``. It answers the
calls our code makes the way the real tool does (output copied from nvidia-smi 550 on an
H100 host): the banner with ``CUDA Version``, ``-L``, ``--query-gpu`` with any of the
real field names in any order (an unknown field is refused as the real tool refuses it),
``--query-compute-apps``, ``-lgc`` and ``-rgc``. ``FAKE_SMI_DIR`` holds its state: every
call is appended to ``calls.log``; each ``--query-gpu`` call warms GPU 0 by 3 degrees;
``apps.csv`` (if present) lists compute processes; ``root`` (if present) allows ``-lgc``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

STATE = Path(os.environ["FAKE_SMI_DIR"])
BANNER = """\
Tue Dec  1 10:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
| Fan  Temp   Perf          Pwr:Usage/Cap |           Memory-Usage | GPU-Util  Compute M. |
|=========================================+========================+======================|
|   0  NVIDIA H100 80GB HBM3          On  |   00000000:18:00.0 Off |                    0 |
| N/A   34C    P0             71W /  700W |       4MiB /  81559MiB |      0%      Default |
+-----------------------------------------+------------------------+----------------------+
"""
UUIDS = ("GPU-4a1c2f3e-1b2c-3d4e-5f60-718293a4b5c6", "GPU-9e8d7c6b-5a49-3827-1605-f4e3d2c1b0a9")


def gpu_fields(index: int, calls: int) -> dict[str, str]:
    return {
        "index": str(index),
        "uuid": UUIDS[index],
        "name": "NVIDIA H100 80GB HBM3",
        "driver_version": "550.54.15",
        "pci.bus_id": f"00000000:{0x18 + index:02X}:00.0",
        "clocks.sm": "1980" if index == 0 else "345",
        "clocks.mem": "2619",
        "clocks.max.sm": "1980",
        "clocks.max.mem": "2619",
        "clocks.default_applications.graphics": "1755",
        "temperature.gpu": str(34 + 3 * calls) if index == 0 else "29",
        "power.draw": "71.43" if index == 0 else "[N/A]",
        "power.limit": "700.00",
        "ecc.mode.current": "Enabled",
        "persistence_mode": "Enabled" if index == 0 else "Disabled",
        "memory.used": "4",
        "memory.total": "81559",
        "utilization.gpu": "0",
    }


def main(argv: list[str]) -> int:
    with (STATE / "calls.log").open("a") as log:
        log.write(" ".join(argv) + "\n")
    if not argv:
        print(BANNER, end="")
        return 0
    if argv == ["-L"]:
        for i, uuid in enumerate(UUIDS):
            print(f"GPU {i}: NVIDIA H100 80GB HBM3 (UUID: {uuid})")
        return 0
    query = next((a for a in argv if a.startswith("--query-gpu=")), None)
    if query is not None:
        counter = STATE / "queries"
        calls = int(counter.read_text()) if counter.exists() else 0
        counter.write_text(str(calls + 1))
        names = query.split("=", 1)[1].split(",")
        for index in range(len(UUIDS)):
            fields = gpu_fields(index, calls)
            unknown = [n for n in names if n not in fields]
            if unknown:
                print(f'Field "{unknown[0]}" is not a valid field to query.', file=sys.stderr)
                return 2
            print(", ".join(fields[n] for n in names))
        return 0
    if any(a.startswith("--query-compute-apps=") for a in argv):
        apps = STATE / "apps.csv"
        if apps.exists():
            print(apps.read_text(), end="")
        return 0
    if "-lgc" in argv:
        bus = "00000000:18:00.0"
        if not (STATE / "root").exists():
            print(f"The current user does not have permission to change clocks for GPU {bus}.")
            print("Terminating early due to previous errors.")
            return 4
        low, high = argv[argv.index("-lgc") + 1].split(",")
        print(f'GPU clocks set to "(gpuClkMin {low}, gpuClkMax {high})" for GPU {bus}')
        print("All done.")
        return 0
    if "-rgc" in argv:
        print("All done.")
        return 0
    print(f"Invalid combination of input arguments: {' '.join(argv)}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
