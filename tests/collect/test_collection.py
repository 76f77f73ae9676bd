"""Collection end to end with ``pytester``: suites and datasets become stable task items.

Every run here is ``--collect-only`` or selects only items that fail before any sandbox is
opened: collection must never need git, docker, a GPU or the network.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.collect.ids import task_ids
from pytest_isobench.collect.items import marker_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT_VLLM = ROOT / "data" / "vllm.jsonl"
CANONICAL = ROOT.parent / "shared" / "datasets" / "vllm-canonical-sample.jsonl"
if not CANONICAL.is_file():  # a checkout without the shared folder: the project's copy
    CANONICAL = ROOT / "data" / "vllm-canonical-sample.jsonl"
VLLM_HEADS = [json.loads(line)["commit_hash"] for line in PROJECT_VLLM.read_text().splitlines()]

_ITEM_LINE = re.compile(r"^(\S+)::(\S+)$")


def listed(result: pytest.RunResult) -> list[str]:
    """The node ids printed by ``--collect-only -q``, in order."""
    return [line for line in result.outlines if _ITEM_LINE.match(line)]


def names(result: pytest.RunResult) -> list[str]:
    return [line.split("::", 1)[1] for line in listed(result)]


def put(pytester: pytest.Pytester, rel: str, text: str) -> Path:
    path = pytester.path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def commit_record(head: str, **fields: Any) -> str:
    return json.dumps({"commit_hash": head, "commit_subject": f"perf {head[:6]}", **fields})


@pytest.fixture
def vllm_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """The project's real ``tasks/vllm.yaml`` next to a copy of ``data/vllm.jsonl``."""
    (pytester.path / "data").mkdir()
    (pytester.path / "tasks").mkdir()
    shutil.copy(PROJECT_VLLM, pytester.path / "data" / "vllm.jsonl")
    shutil.copy(ROOT / "tasks" / "vllm.yaml", pytester.path / "tasks" / "vllm.yaml")
    return pytester


@pytest.fixture
def canonical(pytester: pytest.Pytester) -> Path:
    if not CANONICAL.is_file():
        pytest.skip(f"{CANONICAL} (shared ISO-Bench sample) is absent")
    target = pytester.path / "canon" / CANONICAL.name
    target.parent.mkdir(exist_ok=True)
    shutil.copy(CANONICAL, target)
    return target


# -- ids -------------------------------------------------------------------------------


def test_vllm_suite_lists_99_stable_ids(vllm_project: pytest.Pytester) -> None:
    result = vllm_project.runpytest("tasks/vllm.yaml", "--collect-only", "-q")
    assert result.ret == 0
    expected = [f"vllm-{head[:8]}" for head in VLLM_HEADS]
    assert names(result) == expected
    assert all(re.fullmatch(r"vllm-[0-9a-f]{8}", name) for name in names(result))
    assert {line.split("::")[0] for line in listed(result)} == {"tasks/vllm.yaml"}
    result.stdout.fnmatch_lines(["tasks/vllm.yaml::vllm-baeded25", "99 tests collected*"])
    # The same ids again: nothing depends on the run.
    again = vllm_project.runpytest("tasks/vllm.yaml", "--collect-only", "-q")
    assert listed(again) == listed(result)


def test_suites_found_from_the_rootdir_without_arguments(vllm_project: pytest.Pytester) -> None:
    put(vllm_project, "other/not-a-suite.yaml", "dataset: ../data/vllm.jsonl\n")
    result = vllm_project.runpytest("--collect-only", "-q")
    assert len(listed(result)) == 99
    assert {line.split("::")[0] for line in listed(result)} == {"tasks/vllm.yaml"}


def test_dataset_option_lists_both_canonical_tasks(vllm_project: pytest.Pytester, canonical: Path) -> None:
    # Without path arguments only the given dataset is collected, not tasks/*.yaml.
    result = vllm_project.runpytest(
        f"--isobench-dataset={canonical.relative_to(vllm_project.path)}", "--collect-only", "-q"
    )
    assert result.ret == 0
    assert names(result) == ["dataset-8d75fe48", "dataset-0f40557a"]
    result.stdout.fnmatch_lines(["canon/vllm-canonical-sample.jsonl::dataset-8d75fe48", "2 tests*"])
    both = vllm_project.runpytest("tasks/vllm.yaml", f"--isobench-dataset={canonical}", "--collect-only", "-q")
    assert len(listed(both)) == 101


def test_jsonl_path_argument_is_collected(pytester: pytest.Pytester, canonical: Path) -> None:
    result = pytester.runpytest("canon/vllm-canonical-sample.jsonl", "--collect-only", "-q")
    assert listed(result) == [
        "canon/vllm-canonical-sample.jsonl::dataset-8d75fe48",
        "canon/vllm-canonical-sample.jsonl::dataset-0f40557a",
    ]


def test_keyword_selects_exactly_one(vllm_project: pytest.Pytester) -> None:
    result = vllm_project.runpytest("tasks/vllm.yaml", "--collect-only", "-q", "-k", "8aa1485f")
    assert listed(result) == ["tasks/vllm.yaml::vllm-8aa1485f"]
    result.stdout.fnmatch_lines(["1/99 tests collected (98 deselected)*"])


def test_shared_prefixes_are_disambiguated(pytester: pytest.Pytester) -> None:
    one = "abcdef01" + "1" * 32
    two = "abcdef01" + "2" * 32
    other = "deadbeef" + "0" * 32
    lines = [commit_record(h) for h in (one, two, other, one.upper())]
    put(pytester, "data/d.jsonl", "\n".join(lines) + "\n")
    put(pytester, "tasks/s.yaml", "dataset: ../data/d.jsonl\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert names(result) == ["s-abcdef011", "s-abcdef012", "s-deadbeef", "s-abcdef011-2"]
    chosen = pytester.runpytest("--collect-only", "-q", "-k", "abcdef012")
    assert names(chosen) == ["s-abcdef012"]


def test_task_ids_unit() -> None:
    assert task_ids("s", ["ABCDEF0123", "1234567890"]) == ["s-abcdef01", "s-12345678"]
    # Grows just enough, for the whole group sharing the prefix.
    assert task_ids("s", ["abcdef0121", "abcdef0122", "abcdef0133", "ffffffff00"]) == [
        "s-abcdef0121", "s-abcdef0122", "s-abcdef0133", "s-ffffffff",
    ]  # fmt: skip
    assert task_ids("s", ["abcdef0111", "abcdef0122"]) == ["s-abcdef011", "s-abcdef012"]
    # One head being the other's prefix.
    assert task_ids("s", ["abcdef01", "abcdef0123"]) == ["s-abcdef01", "s-abcdef012"]
    # Identical commits are numbered in dataset order, whatever the case.
    assert task_ids("s", ["aaaaaaaa11", "AAAAAAAA11", "aaaaaaaa11"]) == [
        "s-aaaaaaaa", "s-aaaaaaaa-2", "s-aaaaaaaa-3",
    ]  # fmt: skip
    assert task_ids("s", ["abc"]) == ["s-abc"]
    assert task_ids("s", []) == []
    assert task_ids("s", ["0123456789abcdef"], width=12) == ["s-0123456789ab"]


def test_task_ids_of_the_real_heads() -> None:
    ids = task_ids("vllm", VLLM_HEADS)
    assert ids == [f"vllm-{h[:8]}" for h in VLLM_HEADS]
    assert len(set(ids)) == 99


# -- markers ---------------------------------------------------------------------------


@pytest.fixture
def two_suites(vllm_project: pytest.Pytester) -> pytest.Pytester:
    cpu_heads = ["c0ffee00" + "1" * 32, "c0ffee11" + "2" * 32]
    put(
        vllm_project,
        "data/cpu.jsonl",
        commit_record(cpu_heads[0]) + "\n" + commit_record(cpu_heads[1], gpus=1) + "\n",
    )
    put(vllm_project, "tasks/cpu-suite.v1.yaml", "name: cpu-suite.v1\ndataset: ../data/cpu.jsonl\n")
    return vllm_project


@pytest.mark.parametrize(
    ("expr", "count"),
    [
        ("vllm", 99),
        ("gpu", 100),
        ("isobench", 101),
        ("cpu_suite_v1", 2),
        ("cpu_suite_v1 and not gpu", 1),
        ("not isobench", 0),
    ],
)
def test_markers_select(two_suites: pytest.Pytester, expr: str, count: int) -> None:
    result = two_suites.runpytest("--collect-only", "-q", "--strict-markers", "-m", expr)
    assert len(listed(result)) == count
    if expr == "cpu_suite_v1 and not gpu":
        assert names(result) == ["cpu-suite.v1-c0ffee00"]
    if count < 101:
        result.stdout.fnmatch_lines([f"*({101 - count} deselected)*"])


def test_suite_markers_are_put_on_its_items(two_suites: pytest.Pytester) -> None:
    put(
        two_suites,
        "tasks/cpu-suite.v1.yaml",
        "name: cpu-suite.v1\ndataset: ../data/cpu.jsonl\nmarkers: [nightly, cpu_bound]\n",
    )
    result = two_suites.runpytest("--collect-only", "-q", "--strict-markers", "-m", "nightly and cpu_bound")
    assert names(result) == ["cpu-suite.v1-c0ffee00", "cpu-suite.v1-c0ffee11"]
    assert listed(two_suites.runpytest("--collect-only", "-q", "--strict-markers", "-m", "not nightly")) == [
        f"tasks/vllm.yaml::{name}" for name in names(two_suites.runpytest("--collect-only", "-q", "-m", "vllm"))
    ]


def test_marker_name() -> None:
    assert marker_name("vllm") == "vllm"
    assert marker_name("cpu-suite.v1") == "cpu_suite_v1"
    assert marker_name("2024-set") == "s_2024_set"


# -- problems stay local -----------------------------------------------------------------


def test_bad_suite_next_to_a_good_one(vllm_project: pytest.Pytester) -> None:
    bad = put(vllm_project, "tasks/bad.yaml", "dataset: ../data/vllm.jsonl\ngpu_required: 1\n")
    result = vllm_project.runpytest("--collect-only", "-q")
    assert result.ret == 0
    items = listed(result)
    assert len(items) == 100
    assert "tasks/bad.yaml::bad-suite" in items
    assert sum(1 for i in items if i.startswith("tasks/vllm.yaml::vllm-")) == 99
    run = vllm_project.runpytest("-k", "bad-suite")
    run.assert_outcomes(errors=1, deselected=99)
    run.stdout.fnmatch_lines([f"*{bad}: key 'gpu_required': Extra inputs are not permitted*"])


def test_missing_dataset_file_is_an_error_item(pytester: pytest.Pytester) -> None:
    put(pytester, "tasks/gone.yaml", "dataset: ../data/gone.jsonl\n")
    put(pytester, "data/ok.jsonl", commit_record("1234abcd" * 5) + "\n")
    put(pytester, "tasks/ok.yaml", "dataset: ../data/ok.jsonl\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert sorted(names(result)) == ["gone-dataset", "ok-1234abcd"]
    run = pytester.runpytest("-k", "gone")
    run.assert_outcomes(errors=1, deselected=1)
    run.stdout.fnmatch_lines(["*data/gone.jsonl: dataset file not found*"])


def test_malformed_line_keeps_the_other_records(pytester: pytest.Pytester) -> None:
    heads = [f"{i:08x}" * 5 for i in (0xA1, 0xB2, 0xC3)]
    lines = [commit_record(heads[0]), '{"commit_hash": "ff", oops', commit_record(heads[1]),
             json.dumps({"instance_id": "x", "base_commit": "y"}), commit_record(heads[2])]  # fmt: skip
    put(pytester, "data/broken.jsonl", "\n".join(lines) + "\n")
    put(pytester, "tasks/s.yaml", "dataset: ../data/broken.jsonl\n")
    result = pytester.runpytest("--collect-only", "-q")
    assert result.ret == 0
    assert names(result) == [f"s-{h[:8]}" for h in heads] + ["s-invalid-1", "s-invalid-2"]
    run = pytester.runpytest("-k", "invalid")
    run.assert_outcomes(errors=2, deselected=3)
    run.stdout.fnmatch_lines(
        ["*data/broken.jsonl:2: malformed JSON*", "*data/broken.jsonl:4: *'head_commit'*"],
        consecutive=False,
    )


def test_malformed_line_in_an_ad_hoc_dataset(pytester: pytest.Pytester) -> None:
    put(pytester, "d.jsonl", commit_record("aa" * 20) + "\nnot json\n")
    result = pytester.runpytest("--isobench-dataset=d.jsonl", "--collect-only", "-q")
    assert names(result) == ["dataset-aaaaaaaa", "dataset-invalid-1"]


def test_unreachable_hf_dataset_is_skipped_and_others_go_on(
    vllm_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = vllm_project.path / "hf-home"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    datasets = pytest.importorskip("datasets")
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", home / "datasets")
    put(vllm_project, "tasks/hub.yaml", "name: hub\ndataset: hf:nobody/nothing\n")
    result = vllm_project.runpytest("--collect-only", "-q")
    assert result.ret == 0
    assert len(listed(result)) == 100
    assert "tasks/hub.yaml::hub-unavailable" in listed(result)
    run = vllm_project.runpytest("-k", "hub", "-rs")
    run.assert_outcomes(skipped=1, deselected=99)
    run.stdout.fnmatch_lines(["SKIPPED*hf:nobody/nothing: Hugging Face dataset 'nobody/nothing'*Fix:*"])


_NO_PROCESSES = """
import socket
import subprocess

import pytest

ATTEMPTS = []


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    real_child = subprocess.Popen._execute_child
    real_connect = socket.socket.connect

    def child(self, args, *rest, **kw):
        ATTEMPTS.append(f"process {args!r}")
        raise OSError("no process may start during collection")

    def connect(self, address):
        ATTEMPTS.append(f"connect {address!r}")
        raise OSError("no connection may open during collection")

    subprocess.Popen._execute_child = child
    socket.socket.connect = connect
    try:
        return (yield)
    finally:
        subprocess.Popen._execute_child = real_child
        socket.socket.connect = real_connect
        with open("attempts.txt", "w") as fh:
            fh.write("\\n".join(ATTEMPTS))
"""


def test_collection_runs_no_git_and_no_docker(pytester: pytest.Pytester) -> None:
    put(pytester, "data/d.jsonl", commit_record("12345678" * 5) + "\n" + commit_record("9" * 40) + "\n")
    put(
        pytester,
        "tasks/s.yaml",
        "dataset: ../data/d.jsonl\nrepo: /nonexistent\nimage: nonexistent/image:none\ngpus_required: 1\n",
    )
    pytester.makeconftest(_NO_PROCESSES)
    result = pytester.runpytest("--collect-only", "-q", "--isobench-backend=docker")
    assert result.ret == 0
    assert names(result) == ["s-12345678", "s-99999999"]
    assert (pytester.path / "attempts.txt").read_text() == ""
