"""``isobench dataset build|push|pull`` end to end, through ``cli.main``.

The known history of ``test_history_scan`` (three perf commits among twenty) is built into
a dataset that the plugin collects; the views load back through the plugin's loaders; bad
input gives a clear message and a non-zero exit code; a crash mid-write leaves no file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets  # imported at collection: an in-process pytester run elsewhere must not be the first to load numpy
import pytest
from test_history_scan import Git, History, known_history

from pytest_isobench import cli
from pytest_isobench.dataset import load_source, loaders, task_from_record
from pytest_isobench.history import export


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return known_history(tmp_path_factory.mktemp("known") / "repo")


def build(history: History, out: Path, *extra: str) -> int:
    return cli.main(["dataset", "build", str(history.root), "--out", str(out), "--no-progress", *extra])


def rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def test_build_finds_the_three_with_parents_files_and_apis(
    history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "perf.jsonl"
    assert build(history, out) == 0
    captured = capsys.readouterr()
    assert "wrote 3 canonical record(s)" in captured.out
    assert "scanned 20 commit(s)" in captured.err and "merge commit: 1" in captured.err
    records = rows(out)
    git = history.git
    assert [r["head_commit"] for r in records] == [history.perf[k] for k in ("parse", "engine", "join")]
    for record in records:
        assert record["base_commit"] == git("rev-parse", f"{record['head_commit']}^")
        assert record["instance_id"] == f"repo-{record['head_commit'][:12]}"
        assert record["repo"] == str(history.root)
    assert [r["apis"] for r in records[:2]] == [["pkg.core.parse"], ["pkg.core.Engine.run"]]
    assert set(records[2]["apis"]) == {"pkg.util.join", "pkg.text.shout"}
    assert [r["files_changed"] for r in records] == [
        ["pkg/core.py"],
        ["pkg/core.py", "tests/test_core.py"],
        ["assets/logo.png", "pkg/text.py", "pkg/util.py"],
    ]
    assert records[0]["subject"].startswith("perf: speed up core.parse")
    assert records[0]["pr_number"] == 101 and records[0]["date"] == "2024-01-04T12:00:00+00:00"
    assert records[2]["stats"]["num_binary_files"] == 1

    loaded = load_source(str(out))
    assert loaded.errors == []
    assert [t.head_commit for t in loaded.tasks] == [r["head_commit"] for r in records]
    assert [t.base_commit for t in loaded.tasks] == [r["base_commit"] for r in records]
    assert loaded.tasks[1].apis == ["pkg.core.Engine.run"]
    assert all(t.shape == "instance" for t in loaded.tasks)

    # `isobench dataset validate` agrees.
    assert cli.main(["dataset", "validate", str(out)]) == 0


def test_output_collects_with_pytest(history: History, tmp_path: Path, pytester: pytest.Pytester) -> None:
    out = tmp_path / "perf.jsonl"
    assert build(history, out, "--perf-command", "python bench.py") == 0
    result = pytester.runpytest("--isobench-dataset=" + str(out), "--collect-only", "-q")
    shorts = [history.perf[k][:8] for k in ("parse", "engine", "join")]
    # the item lines (node ids), not the collection notes that name tasks too
    collected = [line for line in result.outlines if "::" in line and any(s in line for s in shorts)]
    assert len(collected) == 3, result.outlines
    result.stdout.fnmatch_lines(["*3 tests collected*"])
    assert result.ret == 0


def test_gso_view_loads_back_with_the_same_meaning(history: History, tmp_path: Path) -> None:
    canonical, gso = tmp_path / "c.jsonl", tmp_path / "gso.jsonl"
    assert build(history, canonical) == 0
    assert build(history, gso, "--format", "gso") == 0
    gso_rows = rows(gso)
    # One GSO row per API, as GSO's instances are (commit, API) pairs.
    assert len(gso_rows) == 4
    for record in rows(canonical):
        mine = [r for r in gso_rows if r["opt_commit"] == record["head_commit"]]
        tasks = [task_from_record(r, "gso") for r in mine]
        assert {t.shape for t in tasks} == {"gso"}
        assert {t.head_commit for t in tasks} == {record["head_commit"]}
        assert {t.base_commit for t in tasks} == {record["base_commit"]}
        assert sorted(api for t in tasks for api in t.apis) == sorted(record["apis"])
        assert all(r["gt_commit_message"] == record["message"] for r in mine)
        assert all(r["gt_diff"].startswith("diff --git ") for r in mine)
        assert all(r["created_at"] == record["date"] for r in mine)
    assert load_source(str(gso)).errors == []


def test_swe_perf_and_isobench_views(history: History, tmp_path: Path) -> None:
    swe, iso = tmp_path / "swe.jsonl", tmp_path / "iso.jsonl"
    assert build(history, swe, "--format", "swe-perf") == 0
    assert build(history, iso, "--format", "isobench", "--perf-command", "python bench.py") == 0
    swe_rows = rows(swe)
    engine = next(r for r in swe_rows if r["head_commit"] == history.perf["engine"])
    assert "tests/test_core.py" in engine["test_patch"] and "tests/test_core.py" not in engine["patch"]
    assert "pkg/core.py" in engine["patch"]
    assert engine["patch_functions"] == ["pkg.core.Engine.run", "pkg.core.Engine._step"]
    iso_rows = rows(iso)
    assert [r["commit_hash"] for r in iso_rows] == [history.perf[k] for k in ("parse", "engine", "join")]
    for path in (swe, iso):
        loaded = load_source(str(path))
        assert loaded.errors == []
        assert [t.head_commit for t in loaded.tasks] == [history.perf[k] for k in ("parse", "engine", "join")]
    tasks = load_source(str(iso)).tasks
    assert all(t.base_is_parent and t.perf_tests[0].command == "python bench.py" for t in tasks)


def test_bad_input_gives_a_clear_message(history: History, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.jsonl"
    plain = tmp_path / "plain"
    plain.mkdir()
    assert cli.main(["dataset", "build", str(plain), "--out", str(out)]) != 0
    assert "not a git repository" in capsys.readouterr().err
    assert cli.main(["dataset", "build", str(tmp_path / "missing"), "--out", str(out)]) != 0
    assert "no such directory" in capsys.readouterr().err
    assert build(history, out, "--branch", "v9.9-does-not-exist") != 0
    assert "bad revision 'v9.9-does-not-exist'" in capsys.readouterr().err
    assert not out.exists()


def test_output_is_atomic(history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "perf.jsonl"
    real_line = export._line
    calls = {"n": 0}

    def crash_midway(row: dict[str, Any]) -> str:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("simulated crash")
        return real_line(row)

    monkeypatch.setattr(export, "_line", crash_midway)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(history, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []

    out.write_text("old content\n")
    calls["n"] = 0
    with pytest.raises(RuntimeError):
        build(history, out)
    assert out.read_text() == "old content\n"
    assert [p.name for p in tmp_path.iterdir()] == ["perf.jsonl"]


def test_keyword_and_repo_url_options(history: History, tmp_path: Path) -> None:
    out = tmp_path / "o.jsonl"
    assert build(history, out, "--keyword", "quadratic", "--repo-url", "https://github.com/acme/pkg.git") == 0
    (record,) = rows(out)
    assert record["head_commit"] == history.perf["join"]
    assert record["repo"] == "https://github.com/acme/pkg.git"
    assert record["instance_id"] == f"acme__pkg-{history.perf['join'][:12]}"


def test_push_needs_a_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    data = tmp_path / "d.jsonl"
    data.write_text('{"instance_id": "a", "head_commit": "abc"}\n')
    assert cli.main(["dataset", "push", str(data), "me/perf"]) == 2
    assert "HF_TOKEN" in capsys.readouterr().err


def test_push_uploads_our_records(
    history: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "perf.jsonl"
    assert build(history, out) == 0
    pushed: dict[str, Any] = {}

    def fake_push(self: datasets.Dataset, name: str, **kwargs: Any) -> None:
        pushed.update(name=name, rows=self.to_list(), **kwargs)

    monkeypatch.setattr(datasets.Dataset, "push_to_hub", fake_push)
    monkeypatch.setenv("HF_TOKEN", "hf_test")
    assert cli.main(["dataset", "push", str(out), "me/perf"]) == 0
    assert pushed["name"] == "me/perf" and pushed["token"] == "hf_test" and pushed["split"] == "train"
    assert [r["head_commit"] for r in pushed["rows"]] == [r["head_commit"] for r in rows(out)]
    assert "pushed 3 record(s)" in capsys.readouterr().out


def test_pull_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf" / "datasets"))
    assert cli.main(["dataset", "pull", "nobody/nothing-here"]) == 2
    assert "local cache" in capsys.readouterr().err

    seen: list[tuple[str, str | None]] = []

    def cached(name: str, split: str | None, source: str) -> list[dict[str, Any]]:
        seen.append((name, split))
        return [{"instance_id": "x", "head_commit": "abc", "apis": ["m.f"]}]

    monkeypatch.setattr(loaders, "_load_hf", cached)
    out = tmp_path / "pulled.jsonl"
    assert cli.main(["dataset", "pull", "hf:me/perf:test", "--out", str(out)]) == 0
    assert seen == [("me/perf", "test")]
    assert rows(out) == [{"instance_id": "x", "head_commit": "abc", "apis": ["m.f"]}]
    assert "pulled 1 record(s)" in capsys.readouterr().out


def test_empty_history_writes_an_empty_file(tmp_path: Path) -> None:
    git = Git(tmp_path / "repo")
    git.commit("Initial commit", {"a.py": "x = 1\n"})
    git.commit("Faster docs build", {"README.md": "fast\n"})
    out = tmp_path / "o.jsonl"
    assert cli.main(["dataset", "build", str(git.root), "--out", str(out), "--no-progress"]) == 0
    assert out.read_text() == ""
