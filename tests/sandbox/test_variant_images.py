"""Per-variant image templates and the import check's rules, without an engine.

The bundled vLLM and SGLang suites name ISO-Bench's published images: for a real record
of ``data/vllm.jsonl`` the human gets ``anonymous/vllm-bench:<commit>``, the baseline and
the agent ``anonymous/vllm-baseline:baseline-<parent first 12 hex>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_isobench.provenance.imported import PackageCheck, problems
from pytest_isobench.sandbox.images import render, variant_image
from pytest_isobench.sandbox.protocol import SandboxError
from pytest_isobench.suite import load_suite

ROOT = Path(__file__).resolve().parents[2]


def test_bundled_vllm_suite_names_isobench_images() -> None:
    suite = load_suite(ROOT / "tasks" / "vllm.yaml")
    record = json.loads((ROOT / "data" / "vllm.jsonl").read_text().splitlines()[0])
    head = record.get("head_commit") or record["commit_hash"]
    parent = "0123456789abcdef0123456789abcdef01234567"  # the first parent, resolved from git at run time
    assert variant_image(None, suite, "human", head, parent) == f"anonymous/vllm-bench:{head}"
    assert variant_image(None, suite, "baseline", parent, parent) == "anonymous/vllm-baseline:baseline-0123456789ab"
    assert variant_image(None, suite, "agent", parent, parent) == "anonymous/vllm-baseline:baseline-0123456789ab"
    assert variant_image("mine:latest", suite, "human", head, parent) == "mine:latest"  # --isobench-image wins
    assert suite.package is not None and suite.package.name == "vllm"
    sglang = load_suite(ROOT / "tasks" / "sglang.yaml")
    assert variant_image(None, sglang, "human", head, parent) == f"anonymous/sglang-bench:{head}"
    assert variant_image(None, sglang, "baseline", parent, parent) == f"anonymous/sglang-bench:{parent}"
    assert sglang.package is not None and sglang.package.folder == "python/sglang"


def test_template_fields_and_errors() -> None:
    assert render("r/x:{short}-{parent12}", "a" * 40, "0123456789abcdef") == "r/x:aaaaaaaa-0123456789ab"
    assert render("python:3.12-slim", "abc") == "python:3.12-slim"
    with pytest.raises(SandboxError, match="known fields: commit, short, parent, parent12"):
        render("vllm:{sha}", "abc")


def test_problems_name_what_is_not_the_variants_code() -> None:
    found = {"package": "vllm", "commit": "abc1234", "files": {"vllm/x.py": {"installed": None, "checkout": "1"}}}
    assert problems(found, "def5678") == [
        "reports commit abc1234, expected def5678",
        "vllm/x.py is missing from the installed package",
    ]
    extra = {"package": "vllm", "files": {"vllm/y.py": {"installed": "2", "checkout": None}}}
    assert problems(extra, None) == ["vllm/y.py is installed but not in the variant's commit"]
    assert problems({"package": "vllm", "error": "ImportError: vllm._C"}, None) == [
        "cannot import vllm: ImportError: vllm._C"
    ]
    same = {"package": "vllm", "commit": "abc1234", "files": {"vllm/x.py": {"installed": "1", "checkout": "1"}}}
    assert problems(same, "abc1234ffff") == []
    assert PackageCheck(name="sglang", repo_path="python/sglang").folder == "python/sglang"
