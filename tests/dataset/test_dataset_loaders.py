"""The dataset loaders on the real ISO-Bench files and on synthetic rows of every shape.

Real files: the 99 commit-level vLLM records, the 2 canonical instances and the project's
``data/vllm.jsonl``. Synthetic: Hugging Face ISO-Bench rows and GSO rows, written as
``.jsonl``, ``.json`` and ``.parquet``. The hub is never contacted.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.dataset import (
    DatasetError,
    DatasetUnavailable,
    LoadResult,
    Task,
    load_source,
)
from pytest_isobench.dataset.loaders import parse_hf

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "datasets"
PERF_COMMITS = SHARED / "vllm-perf-commits.jsonl"
# The shared sample when this checkout sits beside it; else the project's copy of it.
CANONICAL = SHARED / "vllm-canonical-sample.jsonl"
if not CANONICAL.is_file():
    CANONICAL = ROOT / "data" / "vllm-canonical-sample.jsonl"
PROJECT_VLLM = ROOT / "data" / "vllm.jsonl"

needs_shared = pytest.mark.skipif(not PERF_COMMITS.is_file(), reason=f"{SHARED} (the shared ISO-Bench files) is absent")


def raw_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_head(tasks: list[Task], prefix: str) -> Task:
    found = [t for t in tasks if t.head_commit.startswith(prefix)]
    assert len(found) == 1, [t.head_commit for t in found]
    return found[0]


# -- real files ----------------------------------------------------------------------


@needs_shared
def test_commit_level_file_loads_all_99_with_parent_base() -> None:
    result = load_source(str(PERF_COMMITS))
    raws = raw_records(PERF_COMMITS)
    assert result.errors == []
    assert len(result.tasks) == len(raws) == 99
    assert [t.head_commit for t in result.tasks] == [r["commit_hash"] for r in raws]
    for task, raw in zip(result.tasks, raws, strict=True):
        assert task.shape == "commit"
        assert task.base_commit is None and task.base_is_parent
        assert task.instance_id == raw["commit_hash"]
        assert task.subject == raw["commit_subject"]
        assert task.apis == raw["apis"]
        assert task.files_changed == raw["files_changed"]
        assert task.models == [m for m in raw["models"] if m not in ("", "N/A")]
        commands = [p.command for p in task.perf_tests]
        assert commands == ([raw["perf_command"]] if raw["perf_command"] else [])
        assert all(p.script is None for p in task.perf_tests)
        assert task.origin is not None and task.origin.line is not None
    assert sum(1 for t in result.tasks if t.perf_tests) == 61


@needs_shared
def test_commit_level_long_fields_stay_on_disk_but_read_back() -> None:
    result = load_source(str(PERF_COMMITS))
    raws = raw_records(PERF_COMMITS)
    for task in result.tasks:
        for name in ("diff_text", "timeline_text", "commit_message", "llm_reason"):
            assert name not in task.extra
    # Unknown (not mapped) fields are kept.
    first = result.tasks[0]
    assert first.extra["pr_url"] == raws[0]["pr_url"]
    assert first.extra["stats"] == raws[0]["stats"]
    assert first.extra["lm_eval_commands"] == raws[0]["lm_eval_commands"]
    # Held tasks are a small fraction of the file: the diffs were not kept.
    held = sum(len(t.model_dump_json()) for t in result.tasks)
    assert held < PERF_COMMITS.stat().st_size / 10
    for index in (0, 42, 98):
        task = result.tasks[index]
        assert task.long_field("diff_text") == raws[index]["diff_text"]
        assert task.long_field("commit_message") == raws[index]["commit_message"]
        assert task.long_field("timeline_text") == raws[index]["timeline_text"]
    assert result.tasks[0].long_field("no_such_field") is None


@needs_shared
def test_commit_level_known_record_is_mapped_field_by_field() -> None:
    task = by_head(load_source(str(PERF_COMMITS)).tasks, "8aa1485f")
    assert task.head_commit[:8] == "8aa1485f"
    assert task.subject.startswith("[Perf] Disable chunked local attention by default")
    assert [p.command for p in task.perf_tests] == [
        "python benchmarks/benchmark_serving.py --model meta-llama/Llama-4-Scout-17B-16E-Instruct"
        " --trust-remote-code --max-model-len 16384"
    ]
    assert task.models == ["meta-llama/Llama-4-Scout-17B-16E-Instruct"]
    assert "vllm/config.py" in task.files_changed
    assert task.repo is None  # the suite supplies it


def test_canonical_sample_maps_scripts_human_figures_and_fork_repo() -> None:
    result = load_source(str(CANONICAL))
    raws = raw_records(CANONICAL)
    assert result.errors == []
    first, second = result.tasks
    assert [t.head_commit[:8] for t in result.tasks] == ["8d75fe48", "0f40557a"]
    for task, raw in zip(result.tasks, raws, strict=True):
        assert task.shape == "instance"
        assert task.instance_id == raw["instance_id"]
        assert task.repo == raw["repo"]
        # every script, as a perf test or (a pytest module of unit tests) as a gate
        scripts = [p.script for p in task.perf_tests] + [u.script for u in task.unit_tests]
        assert scripts == raw["efficiency_test"]
        assert all(p.command is None for p in task.perf_tests)
        assert task.subject == raw["gt_commit_message"].split("\n", 1)[0]
        change = raw["duration_changes"][0]
        assert task.human is not None
        assert task.human.base == change["base"]
        assert task.human.head == change["head"]
        assert task.human.speedup == pytest.approx(raw["human_performance"])
        assert task.extra["version"] == raw["version"]
        assert "patch" not in task.extra and "gt_commit_message" not in task.extra
        assert task.long_field("patch") == raw["patch"]
    assert first.base_commit == "388596c91437a51d428a447594e9faec340c29b2"
    assert not first.base_is_parent
    assert [p.kind for p in first.perf_tests] == ["setup-experiment"] and first.unit_tests == []
    assert second.perf_tests == [] and [u.name for u in second.unit_tests] == ["efficiency_test0"]
    assert second.repo == "coding-mess/vllm"
    assert second.base_commit == "0f40557af6141ced118b81f2a04e651a0c6c9dbd^"
    assert second.base_is_parent
    assert first.human is not None and first.human.speedup == pytest.approx(1.0616536796)


def test_project_vllm_facts_match_the_real_commits() -> None:
    result = load_source(str(PROJECT_VLLM))
    assert result.errors == []
    assert len(result.tasks) == 99
    assert len({t.head_commit for t in result.tasks}) == 99
    # the baseline is ISO-Bench's `pre` commit of its published runs (parent_commit), a full sha
    assert all(t.shape == "commit" and len(t.base_commit or "") == 40 for t in result.tasks)
    assert not any(t.base_is_parent for t in result.tasks)
    assert sum(1 for t in result.tasks if t.perf_tests) == 61
    if PERF_COMMITS.is_file():
        real = load_source(str(PERF_COMMITS)).tasks
        assert [t.head_commit for t in result.tasks] == [t.head_commit for t in real]
        for ours, theirs in zip(result.tasks, real, strict=True):
            assert ours.perf_tests == theirs.perf_tests
            assert ours.apis == theirs.apis
            assert ours.files_changed == theirs.files_changed
            assert ours.subject == theirs.subject


def test_relative_source_with_base_dir() -> None:
    result = load_source("vllm.jsonl", base_dir=ROOT / "data")
    assert len(result.tasks) == 99


def test_long_field_survives_a_change_of_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "d").mkdir()
    shutil.copy(PROJECT_VLLM, tmp_path / "d" / "v.jsonl")
    monkeypatch.chdir(tmp_path)
    task = load_source("d/v.jsonl").tasks[0]
    monkeypatch.chdir(ROOT)
    assert task.long_field("pr_url") is not None
    assert task.origin is not None and Path(task.origin.source).is_absolute()


# -- synthetic Hugging Face ISO-Bench and GSO rows, in every file format ---------------

HF_ROW: dict[str, Any] = {
    "commit_hash": "1f3e5a7c9b2d4f6e8a0c1e3f5a7b9d2c4e6f8a0b",
    "commit_subject": "[Perf] Faster sampler (#4242)",
    "commit_message": "[Perf] Faster sampler (#4242)\n\nA long body " + "x" * 2000,
    "commit_date": "2024-05-01T10:00:00Z",
    "diff_text": "diff --git a/vllm/sampler.py b/vllm/sampler.py\n" + "+ line\n" * 500,
    "test_script": "import time\nt = time.perf_counter()\nprint(time.perf_counter() - t)\n",
    "repo": "vllm-project/vllm",
    "pr_url": "https://github.com/vllm-project/vllm/pull/4242",
    "apis": ["vllm.model_executor.layers.sampler.Sampler.forward"],
    "files_changed": ["vllm/model_executor/layers/sampler.py"],
    "functions_changed": ["Sampler.forward"],
    "has_performance": True,
    "perf_command": "python benchmarks/benchmark_latency.py --model facebook/opt-125m",
}

GSO_ROW: dict[str, Any] = {
    "instance_id": "numpy__numpy-24610",
    "repo": "numpy/numpy",
    "base_commit": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    "opt_commit": "fedcba98765432100123456789abcdef01234567",
    "api": "numpy.add.reduce",
    "prob_script": "import numpy as np\nnp.add.reduce(np.ones(10))\n",
    "tests": ["import timeit\nprint(timeit.timeit('1+1'))\n", "print('second test')\n"],
    "hints_text": "see the ufunc reduction loop " * 50,
    "setup_commands": ["apt-get install -y gcc"],
    "install_commands": ["pip install -e ."],
    "created_at": "2023-09-01T00:00:00Z",
    "gt_commit_message": "ENH: speed up add.reduce\n\nDetails " + "y" * 500,
    "gt_diff": "diff --git a/numpy/core/src/umath/loops.c b/numpy/core/src/umath/loops.c\n",
    "arch": "x86_64",
    "instance_image_tag": "numpy-24610",
}


def write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    if path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif path.suffix == ".json":
        path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    elif path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:  # pragma: no cover - test helper misuse
        raise AssertionError(path)
    return path


FORMATS = [".jsonl", ".json", ".parquet"]


def load_one(tmp_path: Path, suffix: str, row: dict[str, Any]) -> tuple[Task, LoadResult]:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    path = write_rows(tmp_path / f"rows{suffix}", [row])
    result = load_source(str(path))
    assert result.errors == []
    assert len(result.tasks) == 1
    return result.tasks[0], result


@pytest.mark.parametrize("suffix", FORMATS)
def test_hf_isobench_row(tmp_path: Path, suffix: str) -> None:
    task, _ = load_one(tmp_path, suffix, HF_ROW)
    assert task.shape == "hf-isobench"
    assert task.head_commit == HF_ROW["commit_hash"] == task.instance_id
    assert task.base_commit is None and task.base_is_parent
    assert task.repo == "vllm-project/vllm"
    assert task.subject == "[Perf] Faster sampler (#4242)"
    scripts = [p.script for p in task.perf_tests if p.script]
    commands = [p.command for p in task.perf_tests if p.command]
    assert scripts == [HF_ROW["test_script"]]
    assert commands == [HF_ROW["perf_command"]]
    assert len({p.name for p in task.perf_tests}) == 2
    assert task.apis == HF_ROW["apis"]
    assert task.files_changed == HF_ROW["files_changed"]
    assert task.human is None
    assert task.extra["pr_url"] == HF_ROW["pr_url"]
    assert task.extra["functions_changed"] == ["Sampler.forward"]
    assert task.extra["has_performance"] is True
    # Long fields: re-read from the line for JSONL, kept in memory otherwise.
    if suffix == ".jsonl":
        assert "diff_text" not in task.extra and "commit_message" not in task.extra
    else:
        assert task.extra["diff_text"] == HF_ROW["diff_text"]
    assert task.long_field("diff_text") == HF_ROW["diff_text"]
    assert task.long_field("commit_message") == HF_ROW["commit_message"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_gso_row(tmp_path: Path, suffix: str) -> None:
    task, _ = load_one(tmp_path, suffix, GSO_ROW)
    assert task.shape == "gso"
    assert task.instance_id == "numpy__numpy-24610"
    assert task.repo == "numpy/numpy"
    assert task.head_commit == GSO_ROW["opt_commit"]
    assert task.base_commit == GSO_ROW["base_commit"]
    assert not task.base_is_parent
    assert [p.script for p in task.perf_tests] == GSO_ROW["tests"]
    assert task.apis == ["numpy.add.reduce"]
    assert task.setup_commands == GSO_ROW["setup_commands"]
    assert task.install_commands == GSO_ROW["install_commands"]
    assert task.subject == "ENH: speed up add.reduce"
    assert task.extra["arch"] == "x86_64"
    assert task.extra["instance_image_tag"] == "numpy-24610"
    assert task.extra["created_at"] == GSO_ROW["created_at"]
    if suffix == ".jsonl":
        assert not {"gt_diff", "hints_text", "gt_commit_message"} & set(task.extra)
    assert task.long_field("gt_diff") == GSO_ROW["gt_diff"]
    assert task.long_field("hints_text") == GSO_ROW["hints_text"]


@pytest.mark.parametrize("suffix", FORMATS)
def test_gso_row_without_tests_uses_prob_script(tmp_path: Path, suffix: str) -> None:
    row = {**GSO_ROW, "tests": []}
    task, _ = load_one(tmp_path, suffix, row)
    assert [p.script for p in task.perf_tests] == [GSO_ROW["prob_script"]]


@pytest.mark.parametrize("suffix", [".json", ".parquet"])
def test_canonical_records_in_other_formats(tmp_path: Path, suffix: str) -> None:
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    rows = raw_records(CANONICAL)
    path = write_rows(tmp_path / f"canon{suffix}", rows)
    result = load_source(str(path))
    assert result.errors == []
    assert [t.head_commit[:8] for t in result.tasks] == ["8d75fe48", "0f40557a"]
    second = result.tasks[1]
    assert second.base_commit is not None and second.base_commit.endswith("^")
    assert second.human is not None
    assert second.human.speedup == pytest.approx(rows[1]["human_performance"])
    # Not addressable by line: long fields are kept in extra.
    assert second.extra["patch"] == rows[1]["patch"]
    assert second.long_field("patch") == rows[1]["patch"]


def test_json_object_with_tasks_list_and_mixed_shapes(tmp_path: Path) -> None:
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps({"tasks": [HF_ROW, GSO_ROW]}), encoding="utf-8")
    result = load_source(str(path))
    assert [t.shape for t in result.tasks] == ["hf-isobench", "gso"]


def test_own_instance_shape_with_perf_tests_and_metric(tmp_path: Path) -> None:
    row = {
        "instance_id": "demo-1",
        "repo": "isobench:demo",
        "base_commit": "aaaa",
        "head_commit": "bbbbbbbbcccc",
        "subject": "precompile the regex",
        "perf_tests": [{"name": "slug", "script": "print('t=1.5')"}],
        "metric": {"name": "t", "pattern": r"t=([0-9.]+)"},
        "gpus": 1,
        "team": "perf",
    }
    task, _ = load_one(tmp_path, ".jsonl", row)
    assert task.shape == "instance"
    assert task.subject == "precompile the regex"
    assert task.gpus == 1
    (perf,) = task.perf_tests
    assert perf.name == "slug"
    assert perf.metric is not None and perf.metric.name == "t"
    assert task.extra == {"team": "perf"}


# -- bad input ------------------------------------------------------------------------


def test_malformed_jsonl_line_names_file_and_line(tmp_path: Path) -> None:
    rows = raw_records(PROJECT_VLLM)[:3]
    lines = [json.dumps(rows[0]), json.dumps(rows[1]), '{"commit_hash": "abc", oops', "",
             json.dumps(rows[2])]  # fmt: skip
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_source(str(path))
    assert [t.head_commit for t in result.tasks] == [r["commit_hash"] for r in rows]
    (error,) = result.errors
    assert error.startswith(f"{path}:3: malformed JSON")
    # The line numbers of later records still point at their own line.
    assert result.tasks[2].origin is not None and result.tasks[2].origin.line == 5
    assert result.tasks[2].long_field("pr_url") == rows[2]["pr_url"]


def test_jsonl_line_that_is_not_an_object(tmp_path: Path) -> None:
    path = tmp_path / "list.jsonl"
    path.write_text("[1, 2]\n", encoding="utf-8")
    result = load_source(str(path))
    assert result.tasks == []
    (error,) = result.errors
    assert f"{path}:1" in error and "expected a JSON object" in error


def test_canonical_without_head_commit_names_field_and_record(tmp_path: Path) -> None:
    rows = raw_records(CANONICAL)
    del rows[1]["head_commit"]
    path = write_rows(tmp_path / "canon.jsonl", rows)
    result = load_source(str(path))
    assert [t.head_commit[:8] for t in result.tasks] == ["8d75fe48"]
    (error,) = result.errors
    assert error.startswith(f"{path}:2:")
    assert "'head_commit'" in error and "missing" in error


def test_gso_row_with_empty_base_names_field_and_row(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = write_rows(tmp_path / "gso.parquet", [GSO_ROW, {**GSO_ROW, "base_commit": " "}])
    result = load_source(str(path))
    assert len(result.tasks) == 1
    (error,) = result.errors
    assert f"{path}[row 1]" in error and "'base_commit'" in error


def test_wrongly_typed_field_names_field(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "typed.jsonl", [{**HF_ROW, "commit_hash": 1234}])
    (error,) = load_source(str(path)).errors
    assert f"{path}:1" in error and "'commit_hash'" in error and "string" in error


def test_unknown_shape_lists_the_known_shapes(tmp_path: Path) -> None:
    path = write_rows(tmp_path / "odd.json", [{"sha": "abc", "title": "x"}])
    result = load_source(str(path))
    assert result.tasks == []
    (error,) = result.errors
    assert f"{path}[0]" in error
    assert "unknown record shape" in error and "sha" in error
    for shape in ("canonical instance", "commit-level ISO-Bench", "Hugging Face", "GSO row"):
        assert shape in error


def test_malformed_json_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('[\n  {"commit_hash": "abc"},\n  {oops}\n]\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.json:3: malformed JSON"):
        load_source(str(path))


def test_json_scalar_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "scalar.json"
    path.write_text("42", encoding="utf-8")
    with pytest.raises(DatasetError, match="expected a JSON array"):
        load_source(str(path))


def test_corrupt_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match=r"bad\.parquet: cannot read as Parquet"):
        load_source(str(path))


def test_unknown_suffix(tmp_path: Path) -> None:
    path = tmp_path / "tasks.csv"
    path.write_text("commit_hash\nabc\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"tasks\.csv: unknown dataset format '\.csv'") as info:
        load_source(str(path))
    assert ".jsonl" in str(info.value) and "hf:" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"nowhere\.jsonl: dataset file not found"):
        load_source(str(tmp_path / "nowhere.jsonl"))
    with pytest.raises(DatasetError, match="not found"):
        load_source("nowhere.jsonl", base_dir=tmp_path)


# -- hf: sources ----------------------------------------------------------------------


def test_parse_hf() -> None:
    assert parse_hf("hf:ISO-Bench/ISO-Bench:vllm") == ("ISO-Bench/ISO-Bench", "vllm")
    assert parse_hf("hf:gso-bench/gso") == ("gso-bench/gso", None)


@pytest.mark.parametrize("source", ["hf:", "hf:nothing", "hf:a/b/c", "hf:/name", "hf:owner/", "hf::train"])
def test_bad_hf_name(source: str) -> None:
    with pytest.raises(DatasetError, match=r"expected hf:OWNER/NAME\[:split\]") as info:
        load_source(source)
    assert not isinstance(info.value, DatasetUnavailable)


@pytest.fixture
def offline_hf(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An offline Hugging Face set-up with empty caches under ``tmp_path``."""
    home = tmp_path / "hf-home"
    cache = home / "datasets"
    cache.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache))
    datasets = pytest.importorskip("datasets")
    # datasets reads these at import time; an earlier import must not point elsewhere.
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache)
    return cache


def test_hf_offline_without_cache_is_unavailable_with_the_fix(offline_hf: Path) -> None:
    with pytest.raises(DatasetUnavailable) as info:
        load_source("hf:nobody/nothing:train")
    message = str(info.value)
    assert message.startswith("hf:nobody/nothing:train:")
    assert "'nobody/nothing'" in message and "'train'" in message
    assert "Fix:" in message and "local .jsonl/.parquet copy" in message


@pytest.mark.slow
def test_hf_offline_reads_a_filled_cache(offline_hf: Path, tmp_path: Path) -> None:
    import datasets

    rows = raw_records(PROJECT_VLLM)[:3]
    src = write_rows(tmp_path / "src.jsonl", rows)
    builder = datasets.load_dataset_builder("json", data_files={"train": str(src)}, cache_dir=str(tmp_path / "build"))
    builder.download_and_prepare()
    built = Path(builder.cache_dir)
    # The layout datasets uses for a hub dataset it has loaded before.
    target = offline_hf / "someone___tiny" / "default" / "0.0.0" / built.name
    target.mkdir(parents=True)
    shutil.copy(built / "dataset_info.json", target)
    shutil.copy(built / "json-train.arrow", target / "tiny-train.arrow")
    try:
        datasets.load_dataset("someone/tiny", split="train")
    except Exception as exc:
        pytest.skip(f"this datasets version does not read a hand-made cache ({exc!r:.120})")
    result = load_source("hf:someone/tiny:train")
    assert result.errors == []
    assert [t.head_commit for t in result.tasks] == [r["commit_hash"] for r in rows]
    assert result.tasks[0].shape == "commit"
    assert result.tasks[0].origin is None


def test_hf_env_offline_is_respected_quickly(offline_hf: Path) -> None:
    # HF_HUB_OFFLINE=1 must go straight to the cache: no connection attempt at all.
    import socket
    import time

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the loader opened a connection while HF_HUB_OFFLINE=1")

    mp = pytest.MonkeyPatch()
    mp.setattr(socket, "create_connection", refuse)
    start = time.perf_counter()
    try:
        with pytest.raises(DatasetUnavailable):
            load_source("hf:nobody/nothing")
    finally:
        mp.undo()
    assert time.perf_counter() - start < 30
