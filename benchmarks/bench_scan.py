"""How fast the history scan goes: commits per second over a generated 5,000-commit history.

The repository is written in one go with ``git fast-import``: 40 Python modules of 30
functions each (about 200 lines), one function edited per commit; about 10% of the messages
name a performance keyword, some of them on docs-only or test-only commits (decoys), and a
few commits touch many files. The scan runs the keyword filter, the file filters and the
AST analysis of every match, as ``isobench dataset build`` does.

Run: ``python benchmarks/bench_scan.py [--commits 5000] [--perf-every 10] [--repeat 3]``.
A script, not a test: it prints the figures (target: at least 200 commits per second).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import tempfile
from pathlib import Path

from pytest_isobench.history.scan import ScanOptions, scan_repository

MODULES = 40
FUNCTIONS = 30


def module_text(module: int, versions: list[int]) -> bytes:
    lines = [f'"""Module {module} of the benchmark package."""', "", "import math", ""]
    for index, version in enumerate(versions):
        name = f"f{index}" if index % 5 else f"_private{index}"
        lines += [
            "",
            f"def {name}(x, y=1):",
            f'    """Function {index}, version {version}."""',
            f"    total = x * {version + 1} + y",
            "    for step in range(3):",
            "        total += math.sqrt(abs(total) + step)",
            "    return total",
        ]
        if index % 10 == 9:
            lines += ["", "", f"class Box{index}:", "    def get(self):", f"        return {version}", ""]
    return ("\n".join(lines) + "\n").encode()


def fast_import_stream(commits: int, perf_every: int, seed: int) -> bytes:
    rng = random.Random(seed)
    state = [[0] * FUNCTIONS for _ in range(MODULES)]
    out: list[bytes] = []

    def blob(path: str, data: bytes) -> None:
        out.append(f"M 100644 inline {path}\ndata {len(data)}\n".encode() + data + b"\n")

    for number in range(commits):
        when = 1_600_000_000 + number * 600
        module = rng.randrange(MODULES)
        function = rng.randrange(FUNCTIONS)
        kind = "plain"
        if number and number % perf_every == 0:
            kind = rng.choice(["perf", "perf", "perf", "perf", "perf", "perf", "docs", "tests", "wide"])
        message = {
            "plain": f"Update f{function} in mod{module}",
            "perf": f"perf: speed up f{function} of mod{module} (#{number})",
            "docs": f"docs: performance notes for mod{module}",
            "tests": f"Make the mod{module} tests faster",
            "wide": f"Optimize every module ({number})",
        }[kind]
        out.append(
            f"commit refs/heads/main\nmark :{number + 1}\n"
            f"author Bench <bench@example.com> {when} +0000\ncommitter Bench <bench@example.com> {when} +0000\n"
            f"data {len(message.encode())}\n{message}\n".encode()
        )
        if number:
            out.append(f"from :{number}\n".encode())
        if number == 0:
            for index in range(MODULES):
                blob(f"src/benchpkg/mod{index}.py", module_text(index, state[index]))
            blob("src/benchpkg/__init__.py", b"")
            blob("README.md", b"# bench\n")
        elif kind == "docs":
            blob(f"docs/mod{module}.md", f"Notes {number}\n".encode())
        elif kind == "tests":
            blob(f"tests/test_mod{module}.py", f"def test_{number}():\n    assert True\n".encode())
        elif kind == "wide":
            for index in range(MODULES):
                state[index][function] = number
                blob(f"src/benchpkg/mod{index}.py", module_text(index, state[index]))
        else:
            state[module][function] = number
            blob(f"src/benchpkg/mod{module}.py", module_text(module, state[module]))
        out.append(b"\n")
    return b"".join(out)


def make_repo(root: Path, commits: int, perf_every: int, seed: int) -> None:
    env_args = ["-c", "init.defaultBranch=main"]
    subprocess.run(["git", *env_args, "init", "-q", str(root)], check=True)
    subprocess.run(
        ["git", "fast-import", "--quiet"], cwd=root, input=fast_import_stream(commits, perf_every, seed), check=True
    )
    subprocess.run(["git", "checkout", "-q", "main"], cwd=root, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--perf-every", type=int, default=10, help="one keyword commit in N")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="isobench-bench-scan-") as tmp:
        root = Path(tmp) / "repo"
        make_repo(root, args.commits, args.perf_every, args.seed)
        rates = []
        result = None
        for _ in range(args.repeat):
            result = scan_repository(root, ScanOptions(progress=False))
            rates.append(result.rate)
        assert result is not None
        functions = sum(len(c.functions) for c in result.commits)
        print(f"repository: {args.commits} commits, {MODULES} modules of {FUNCTIONS} functions")
        print(result.summary())
        print(f"AST analysis: {len(result.commits)} kept commits, {functions} changed functions")
        print(
            f"commits/s: median {statistics.median(rates):.0f}, best {max(rates):.0f} "
            f"over {args.repeat} scan(s) (target >= 200)"
        )


if __name__ == "__main__":
    main()
