"""ISO-Bench's own artefacts: run directories, their quirks, ``isobench import`` and the
published agents' soft metrics in the report. The fixture below builds a small tree of
the same shape as ISO-Bench's ``state/runs`` and ``analysis/eval_results_v2`` (the real
data stays out of this repository), with the quirks seen there: path-shaped instance ids,
a patch holding the harness's own ``model_patch.diff``, short human shas in some runs,
an empty journal, an evaluation that failed for infrastructure reasons.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.agents.agent import AgentContext
from pytest_isobench.agents.builtin import PredictionsAgent
from pytest_isobench.agents.predictions import load_predictions
from pytest_isobench.cli import main
from pytest_isobench.dataset.models import Task
from pytest_isobench.dataset.shapes import task_from_record
from pytest_isobench.published import clean_patch, find_items
from pytest_isobench.published.importer import task_facts

ROOT = Path(__file__).resolve().parents[2]
H1, P1 = "015069b01741e9ecb9e604c7fe87fbdfc306ebe5", "fbefc8a78d22b20eac042c586805c7dcbfc66b1c"
H2, P2 = "0d243f2a54fbd1c56da8a571f0899c30b6aba5d9", "88f6ba3281f727d5641d362476ae68562b666081"

HUMAN1 = (
    "diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1,3 +1,3 @@\n"
    " import os\n-x = slow()\n+x = fast()\n y = 2\n"
)
HUMAN2 = (
    "diff --git a/vllm/b.py b/vllm/b.py\n--- a/vllm/b.py\n+++ b/vllm/b.py\n@@ -1,2 +1,2 @@\n"
    "-for i in range(n): f(i)\n+f_batched(n)\n"
)
# agent 1 on task 1: the human's change plus one line of its own
AGENT1 = (
    "diff --git a/vllm/a.py b/vllm/a.py\n--- a/vllm/a.py\n+++ b/vllm/a.py\n@@ -1,3 +1,4 @@\n"
    " import os\n-x = slow()\n+x = fast()\n+cache = {}\n y = 2\n"
)
HARNESS = "diff --git a/model_patch.diff b/model_patch.diff\nnew file mode 100644\nindex 000000000..e69de29bb\n"
SCRATCH = (
    "diff --git a/.bench_scratch/t.py b/.bench_scratch/t.py\nnew file mode 100644\n--- /dev/null\n"
    "+++ b/.bench_scratch/t.py\n@@ -0,0 +1 @@\n+print(1)\n"
)


def _item(
    root: Path,
    run: str,
    item: str,
    *,
    human: str | None,
    pre: str | None,
    patch: str | None,
    status: str = "success",
    journal: str | None = None,
) -> Path:
    folder = root / run / item
    folder.mkdir(parents=True)
    repo, agent, _model, ts = run.split("/")
    if human is not None:
        summary = {
            "schema_version": "1.0",
            "meta": {"repo": repo, "agent": agent, "model": "gpt-5", "model_full": "gpt-5-2025-08-07", "timestamp": ts},
            "commits": {"human": human, "pre": pre},
            "agent": {"status": status, "patch_generated": bool(patch), "patch_stats": {"files_changed": 1}},
        }
        (folder / "run_summary.json").write_text(json.dumps(summary))
    if journal is not None:
        (folder / "journal.json").write_text(journal)
    if patch is not None:
        row = {"instance_id": f"/home/u/OmniPerf-Bench/{repo}__repo-{(pre or '0' * 7)[:7]}", "model_patch": patch}
        (folder / "prediction.jsonl").write_text(json.dumps({**row, "model_name_or_path": "gpt-5-2025-08-07"}) + "\n")
        (folder / "model_patch.diff").write_text(patch)
    return folder


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """A small ISO-Bench tree: two agents on vLLM, one sglang run under ISO-Bench's ``sglan``."""
    root = tmp_path / "ISO-Bench" / "state" / "runs"
    _item(root, "vllm/codex/gpt-5/2025-11-20_11-05-30", "vllm_core-0000", human=H1, pre=P1, patch=HARNESS + AGENT1)
    _item(root, "vllm/codex/gpt-5/2025-11-20_11-05-30", "vllm_core-0001", human=H2, pre=P2, patch="", status="error")
    _item(root, "vllm/trae/gpt-5/2025-10-01_00-00-00", "vllm_core-0000", human=H1, pre=P1, patch=HUMAN1 + SCRATCH)
    _item(root, "vllm/trae/gpt-5/2025-10-01_00-00-00", "vllm_core-0001", human=None, pre=None, patch=None, journal="")
    # a later partial re-run of trae with no patch for task 1: the earlier patch still counts
    _item(root, "vllm/trae/gpt-5/2025-10-02_00-00-00", "vllm_core-0000", human=H1, pre=P1, patch="", status="error")
    _item(root, "sglan/trae/claude/2025-12-24_09-35-05", "sglang_smoke_015069b0", human=H1[:8], pre=P1, patch=AGENT1)
    _item(root, "sglang/claude_code/default/2025-12-23_06-28-44", "sglang_000_015069b0", human=H1, pre=P1, patch=AGENT1)
    evaluation = tmp_path / "ISO-Bench" / "archive" / "analysis" / "eval_results_v2" / "vllm" / "codex" / "gpt-5"
    folder = evaluation / "2025-11-20_11-05-30" / "vllm_core-0000"
    folder.mkdir(parents=True)
    (folder / "run_summary.json").write_text(
        (root / "vllm/codex/gpt-5/2025-11-20_11-05-30/vllm_core-0000/run_summary.json").read_text()
    )
    result = {
        "metadata": {"run_id": "vllm/codex/gpt-5/2025-11-20_11-05-30", "item_id": "vllm_core-0000"},
        "result": {"status": "baseline_failed", "error_message": "No module named 'IPython'", "speedup": None},
    }
    (folder / "test_results.json").write_text(json.dumps(result))
    return tmp_path / "ISO-Bench"


def test_clean_patch_removes_harness_files_and_says_which() -> None:
    cleaned = clean_patch(HARNESS + AGENT1 + SCRATCH + HARNESS.replace("model_patch.diff", "sub/_isobench_t.py"))
    assert cleaned.patch == AGENT1
    assert cleaned.removed == ["model_patch.diff", ".bench_scratch/t.py", "sub/_isobench_t.py"]
    assert "model_patch.diff" in (cleaned.warning or "")
    only = clean_patch(HARNESS)
    assert only.empty and only.patch == "" and only.removed == ["model_patch.diff"]
    assert clean_patch(AGENT1) == type(cleaned)(AGENT1, [])


def test_find_items_reads_the_quirks(runs: Path) -> None:
    items, problems = find_items([runs])
    by = {(i.agent, i.run, i.item): i for i in items}
    codex = by[("codex", "2025-11-20_11-05-30", "vllm_core-0000")]
    # the evaluation folder's copy of run_summary.json is the same item, not a second one
    assert len([i for i in items if i.item == "vllm_core-0000" and i.agent == "codex"]) == 1
    assert codex.human_commit == H1 and codex.base_commit == P1 and codex.patch_source == "prediction.jsonl"
    assert codex.evaluation is not None and codex.evaluation["status"] == "baseline_failed"
    assert codex.evaluation["error_message"] == "No module named 'IPython'"
    assert codex.base_prefix == P1 and codex.instance_id is not None and codex.instance_id.endswith("__repo-fbefc8a")
    # ISO-Bench's `sglan` folder, a short human sha completed from the other runs
    smoke = by[("trae", "2025-12-24_09-35-05", "sglang_smoke_015069b0")]
    assert smoke.repo == "sglan" and smoke.human_commit == H1
    # an empty journal.json is a problem named by file, and the item is still there
    broken = by[("trae", "2025-10-01_00-00-00", "vllm_core-0001")]
    assert broken.human_commit is None and broken.patch is None
    assert any("vllm_core-0001/journal.json:1: not valid JSON" in p for p in problems)


def test_task_facts_one_per_human_commit(runs: Path) -> None:
    items, _ = find_items([runs / "state" / "runs" / "sglang", runs / "state" / "runs" / "sglan"])
    facts = task_facts(items)
    assert facts == [
        {
            "commit_hash": H1,
            "parent_commit": P1,
            "repo": "https://github.com/sgl-project/sglang.git",
            "isobench_items": ["sglang_000_015069b0", "sglang_smoke_015069b0"],
        }
    ]
    task = task_from_record(facts[0], "facts:1")
    assert task.base_commit == P1 and task.head_commit == H1 and not task.base_is_parent


def test_predictions_from_a_run_directory_map_by_commit(runs: Path) -> None:
    table = load_predictions(runs / "state" / "runs" / "vllm" / "codex")
    found, how = table.match(item_id="vllm-015069b0", instance_id=H1, head=H1, base=None)
    assert found is not None and how == "human commit" and found.patch == AGENT1
    assert found.warnings == ["harness artefacts removed from the patch: model_patch.diff"]
    empty, _ = table.match(item_id="vllm-0d243f2a", instance_id=H2, head=H2)
    assert empty is not None and empty.patch == "" and empty.missing is not None and "empty patch" in empty.missing


def test_a_bare_prediction_file_maps_by_base_commit_prefix(runs: Path, tmp_path: Path) -> None:
    source = runs / "state/runs/vllm/codex/gpt-5/2025-11-20_11-05-30/vllm_core-0000/prediction.jsonl"
    bare = tmp_path / "preds.jsonl"
    bare.write_text(source.read_text())
    table = load_predictions(bare)
    found, how = table.match(item_id="vllm-015069b0", instance_id=H1, head=H1, base=P1)
    assert found is not None and how == "base commit"
    none, why = table.match(item_id="vllm-0d243f2a", instance_id=H2, head=H2, base=P2)
    assert none is None and "no prediction for vllm-0d243f2a" in why


def test_an_ambiguous_prefix_matches_nothing(tmp_path: Path) -> None:
    rows = [
        {"instance_id": "/x/vllm__repo-fbefc8a", "model_patch": AGENT1},
        {"instance_id": "/y/vllm__repo-fbefc8b", "model_patch": HUMAN1},
    ]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    table = load_predictions(path)
    found, why = table.match(item_id="i", instance_id="i", base="fbefc8")  # too short to count
    assert found is None
    rows[1]["instance_id"] = "/y/vllm__repo-fbefc8a1"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    found, why = load_predictions(path).match(item_id="i", instance_id="i", base="fbefc8a1" + "0" * 32)
    assert found is None and "matches 2 different predictions" in why


def test_the_predictions_agent_records_the_removed_artefacts(runs: Path) -> None:
    folder = runs / "state/runs/vllm/codex/gpt-5/2025-11-20_11-05-30"
    ctx = AgentContext(
        task=Task(instance_id=H1, head_commit=H1),
        repo_dir=Path("."),
        base_sha=P1,
        head_sha=H1,
        model=None,
        timeout_s=1,
        prompt="p",
        options={"predictions": str(folder), "item_id": "vllm-015069b0"},
    )
    run = PredictionsAgent().run(ctx)
    assert run.patch == AGENT1 and run.as_dict()["warnings"] == [
        "harness artefacts removed from the patch: model_patch.diff"
    ]
    assert "matched by human commit" in run.logs


def test_import_then_report_shows_the_published_agents(
    runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text(
        json.dumps({"commit_hash": H1, "diff_text": HUMAN1})
        + "\n"
        + json.dumps({"commit_hash": H2, "diff_text": HUMAN2})
        + "\n"
    )
    out = tmp_path / "imported"
    vllm_runs = runs / "state" / "runs" / "vllm"
    evals = runs / "archive" / "analysis" / "eval_results_v2"
    assert main(["import", str(vllm_runs), str(evals), "--out", str(out), "--dataset", str(dataset)]) == 0
    said = capsys.readouterr()
    assert "imported 5 item(s) of 3 run(s): 2 with a non-empty patch, 2 with harness artefacts removed" in said.out
    assert "journal.json:1: not valid JSON" in said.err
    predictions = sorted(p.name for p in (out / "predictions").iterdir())
    assert predictions == [
        "vllm__codex__gpt-5__2025-11-20_11-05-30.jsonl",
        "vllm__trae__gpt-5__2025-10-01_00-00-00.jsonl",
        "vllm__trae__gpt-5__2025-10-02_00-00-00.jsonl",
    ]
    rows = [json.loads(line) for line in (out / "predictions" / predictions[0]).read_text().splitlines()]
    assert [(r["instance_id"], r["item_id"], r["model_patch"]) for r in rows] == [
        (H1, "vllm-015069b0", AGENT1),
        (H2, "vllm-0d243f2a", ""),
    ]
    record: dict[str, Any] = json.loads(
        (out / "published/vllm/codex/gpt-5/2025-11-20_11-05-30/vllm_core-0000.json").read_text()
    )
    assert record["schema"] == "isobench.published/1" and record["source"] == "ISO-Bench"
    assert record["evaluation"]["status"] == "baseline_failed" and "verdict" not in record
    assert record["patch_removed"] == ["model_patch.diff"] and record["human_patch"] == HUMAN1

    md, html = tmp_path / "r.md", tmp_path / "r.html"
    assert main(["report", str(out), "--soft-metrics", "--markdown", str(md), "--html", str(html), "--no-plots"]) == 0
    text = capsys.readouterr().out
    lines = [line.split() for line in text.splitlines()]
    codex = next(line for line in lines if line[:3] == ["vllm", "codex", "gpt-5"])
    trae = next(line for line in lines if line[:3] == ["vllm", "trae", "gpt-5"])
    # codex: 2 tasks, 1 non-empty patch; its patch has the human's 2 changed lines plus 1 of its own:
    # precision 2/3, recall 2/2, same file
    assert codex[3:12] == ["1", "2", "1", "1", "1", "66.7%", "100.0%", "100.0%", "-"]
    # trae: 2 runs, 2 tasks (one without commits); the earlier patch counts over the later empty re-run;
    # it is the human diff (the scratch file removed): precision and recall 100%
    assert trae[3:12] == ["2", "2", "1", "1", "1", "100.0%", "100.0%", "100.0%", "-"]
    assert "not measured here" in text
    assert "## Published agents (ISO-Bench runs)" in md.read_text()
    page = html.read_text()
    assert 'id="published-table"' in page and "66.7%" in page


def test_import_names_a_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(tmp_path / "absent"), "--out", str(tmp_path / "o")]) == 1
    assert "absent: no such file or directory" in capsys.readouterr().err


SUITE = """\
name: fallback
dataset: hf:ISO-Bench/ISO-Bench:sglang
dataset_fallback: facts.jsonl
repo: https://github.com/sgl-project/sglang.git
"""


@pytest.mark.slow
def test_a_suite_falls_back_to_shipped_facts_and_says_so(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makefile(".yaml", fallback=SUITE)
    facts = [{"commit_hash": H1, "parent_commit": P1}, {"commit_hash": H2, "parent_commit": P2}]
    pytester.makefile(".jsonl", facts="\n".join(json.dumps(f) for f in facts))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(pytester.path / "hf"))
    # in a subprocess: loading `datasets` inside an inline run would register pyarrow types twice
    result = pytester.runpytest_subprocess("fallback.yaml", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "isobench: suite fallback: hf:ISO-Bench/ISO-Bench:sglang unavailable (not reachable, not cached); "
            "using the shipped facts.jsonl (2 tasks)",
            "fallback.yaml::fallback-015069b0",
            "fallback.yaml::fallback-0d243f2a",
        ]
    )


def test_collection_counts_the_predictions_that_map(pytester: pytest.Pytester, runs: Path) -> None:
    facts = [{"commit_hash": H1, "parent_commit": P1}, {"commit_hash": H2, "parent_commit": P2}]
    pytester.makefile(".jsonl", facts="\n".join(json.dumps(f) for f in facts))
    pytester.makefile(".yaml", s="name: s\ndataset: facts.jsonl\nrepo: r\n")
    folder = runs / "state/runs/vllm/codex"
    result = pytester.runpytest(
        "s.yaml", "--collect-only", "-q", "--isobench-agent=predictions", f"--isobench-predictions={folder}"
    )
    result.stdout.fnmatch_lines([f"isobench: 2 of 2 prediction(s) in {folder} map to a collected item"])
    everything = runs / "state/runs/vllm"
    result = pytester.runpytest(
        "s.yaml", "--collect-only", "-q", "--isobench-agent=predictions", f"--isobench-predictions={everything}"
    )
    result.stdout.fnmatch_lines(
        [
            f"isobench: 4 of 4 prediction(s) in {everything} map to a collected item",
            "  1 item(s) have predictions from several runs: the last in path order is used*",
        ]
    )
    other = pytester.path / "other.jsonl"
    other.write_text(json.dumps({"instance_id": "/x/vllm__repo-1234567", "model_patch": AGENT1}) + "\n")
    result = pytester.runpytest(
        "s.yaml", "--collect-only", "-q", "--isobench-agent=predictions", f"--isobench-predictions={other}"
    )
    result.stdout.fnmatch_lines(
        ["isobench: 0 of 1 prediction(s) in *other.jsonl map to a collected item", "  unmapped: *other.jsonl:1"]
    )


@pytest.mark.slow
def test_the_sglang_suite_collects_80_items_offline(tmp_path: Path) -> None:
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "tasks/sglang.yaml", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = [line for line in done.stdout.splitlines() if line.startswith("tasks/sglang.yaml::sglang-")]
    assert len(ids) == 80 == len(set(ids))
    assert "using the shipped ../data/sglang.jsonl (80 tasks)" in done.stdout
