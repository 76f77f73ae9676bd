"""The driver of ``setup-experiment`` perf tests (ISO-Bench's and GSO's shape), run in a sandbox.

Such a test defines ``setup()`` (returns data), ``experiment(data)`` (the timed work,
returns a result), ``store_result(result, path)``, ``load_result(path)`` and
``check_equivalence(current, reference)`` (asserts). The harness writes this file beside
the test as ``_isobench_driver.py`` (with ``perf/timing.py`` in place of its import, see
:func:`pytest_isobench.perf.perftest.driver_source`) and runs::

    python3 _isobench_driver.py SCRIPT              time experiment(data): the timing protocol
    python3 _isobench_driver.py SCRIPT --reference  store the result: {"isobench": "reference", "tar": B64}
    python3 _isobench_driver.py SCRIPT --eqcheck    read {"reference": B64} on stdin, check it:
                                                    {"isobench": "equivalence", "ok": ..., "message": ...}

The script is imported as a module (its ``__main__`` block never runs: its own timing and
file handling stay out), ``setup()`` is called once per process, and ``experiment(data)``
is timed by the same code as the demo's tests (``ISOBENCH_MIN_TIME_S``, loops, lockstep),
so these tests get lockstep's precision. When the test uses a CUDA device, every call is
followed by ``torch.cuda.synchronize()``, so that a pass ends when the device's work does.

A script that raises (or prints) one of ISO-Bench's error codes while importing, setting
up or running prints ``{"isobench": "error", "code": CODE, ...}`` and exits with status 2.
The reference is written to and read from a temporary folder outside the checkout and
removed at once: the agent's code never finds it there while it is timed.

It runs on the sandbox's Python (3.8 or newer), standard library only; the harness reads
its text, it is never imported by the harness at run time.
"""

from __future__ import annotations

import base64
import importlib.util
import inspect
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable
from types import ModuleType
from typing import Any

from pytest_isobench.perf.timing import measure

ERROR_CODES = ("CAPABILITY_UNSUPPORTED", "IMPORT_MISSING_SYMBOL", "OPT_PATH_NOT_TRIGGERED")
ERROR_EXIT = 2
REFERENCE_NAME = "isobench_reference"
NEEDED = ("setup", "experiment")
EQUIVALENCE = ("store_result", "load_result", "check_equivalence")


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def code_in(text: str) -> str | None:
    for code in ERROR_CODES:
        if code in text:
            return code
    return None


def guarded(step: str, call: Callable[..., Any], *args: Any) -> Any:
    """``call(*args)``; an error that names one of the codes ends the run with that code."""
    try:
        return call(*args)
    except SystemExit as exc:
        if exc.code == ERROR_EXIT:
            say(isobench="error", code=code_in(str(exc)) or "EXIT_2", step=step, message=f"exit status 2 in {step}")
        raise
    except BaseException as exc:
        code = code_in(f"{type(exc).__name__}: {exc}")
        if code is not None:
            say(isobench="error", code=code, step=step, message=f"{type(exc).__name__}: {exc}"[:2000])
            sys.exit(ERROR_EXIT)
        raise


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("_isobench_task_test", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def synchronizer() -> Callable[[], None] | None:
    """``torch.cuda.synchronize`` when the test has torch on a CUDA device, else None."""
    torch = sys.modules.get("torch")
    try:
        if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
            sync: Callable[[], None] = torch.cuda.synchronize
            return sync
    except Exception:
        return None
    return None


def pack(folder: str) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, name), arcname=name)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def unpack(text: str, folder: str) -> None:
    with tarfile.open(fileobj=io.BytesIO(base64.b64decode(text)), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) or ".." in member.name:
                raise SystemExit(f"refusing reference member {member.name!r}")
        if hasattr(tarfile, "data_filter"):  # Python with extraction filters: the safe one
            tar.extractall(folder, filter="data")
        else:
            tar.extractall(folder)


def experiment_of(module: ModuleType, data: Any) -> Callable[[], Any]:
    """``experiment(data)``, or ``experiment()`` for a test whose experiment takes no data
    (some of GSO's keep it in a global that ``setup()`` fills)."""
    experiment = module.experiment
    try:
        params = inspect.signature(experiment).parameters.values()
    except (TypeError, ValueError):
        return lambda: experiment(data)
    needed = [p for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if not needed:
        return lambda: experiment()
    return lambda: experiment(data)


def reference(module: ModuleType, data: Any) -> None:
    result = guarded("experiment", experiment_of(module, data))
    missing = [name for name in EQUIVALENCE if not callable(getattr(module, name, None))]
    if missing:
        say(isobench="reference", tar=None, missing=missing)
        return
    folder = tempfile.mkdtemp(prefix="isobench-ref-")
    try:
        module.store_result(result, os.path.join(folder, REFERENCE_NAME))
        say(isobench="reference", tar=pack(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def eqcheck(module: ModuleType, data: Any) -> None:
    asked = json.loads(sys.stdin.readline() or "{}")
    folder = tempfile.mkdtemp(prefix="isobench-ref-")
    try:
        unpack(asked["reference"], folder)
        try:
            expected = module.load_result(os.path.join(folder, REFERENCE_NAME))
        except Exception as exc:
            say(isobench="equivalence", ok=False, message=f"load_result failed: {type(exc).__name__}: {exc}"[:2000])
            return
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result = guarded("experiment", experiment_of(module, data))
    try:
        module.check_equivalence(result, expected)
    except AssertionError as exc:
        say(isobench="equivalence", ok=False, message=(str(exc) or "check_equivalence: AssertionError")[:2000])
        return
    except Exception as exc:
        say(isobench="equivalence", ok=False, message=f"check_equivalence raised {type(exc).__name__}: {exc}"[:2000])
        return
    say(isobench="equivalence", ok=True)


def time_experiment(module: ModuleType, data: Any) -> None:
    experiment = experiment_of(module, data)
    sync = synchronizer()

    def region() -> Any:
        result = experiment()
        if sync is not None:
            sync()
        return result

    per_loop, loops = measure(lambda: guarded("experiment", region))
    say(time_s=per_loop, loops=loops)


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise SystemExit("usage: _isobench_driver.py SCRIPT [--reference | --eqcheck]")
    mode = argv[2] if len(argv) > 2 else ""
    module = guarded("import", load, argv[1])
    missing = [name for name in NEEDED if not callable(getattr(module, name, None))]
    if missing:
        raise SystemExit(f"{argv[1]} has no {' or '.join(missing)}(): not a setup/experiment perf test")
    data = guarded("setup", module.setup)
    if mode == "--reference":
        reference(module, data)
    elif mode == "--eqcheck":
        eqcheck(module, data)
    else:
        time_experiment(module, data)


if __name__ == "__main__":
    main(sys.argv)
