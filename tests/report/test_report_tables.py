"""Report tables from synthetic records built the way ``runner.py`` builds them.

Shards merged give the same tables as one unsharded set; duplicates are flagged and
counted once; different settings and suites stay apart; a corrupt, partial or empty
results directory is reported file by file while the rest is still reported.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from report_records import demo_records, make_record, write_dir

from pytest_isobench.cli import main
from pytest_isobench.report.markdown import render_markdown
from pytest_isobench.report.tables import build_report, geometric_mean, group_lines, wilson_interval
from pytest_isobench.report.terminal import summary_lines
from pytest_isobench.results.merge import merge_dirs


def test_wilson_interval_known_values() -> None:
    low, high = wilson_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 5)
    assert low == 0.0 and 0.4 < high < 0.45  # 0.4345 by the formula
    low, high = wilson_interval(5, 5)
    assert high == 1.0 and 0.55 < low < 0.6
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_geometric_mean_ignores_missing() -> None:
    assert geometric_mean([2.0, 8.0]) == pytest.approx(4.0)
    assert geometric_mean([]) is None
    assert geometric_mean([0.0, -1.0, math.nan]) is None


def test_group_counts_rates_and_geomeans() -> None:
    report = build_report(demo_records())
    assert len(report.groups) == 1
    g = report.groups[0]
    assert (g.tasks, g.run, g.passed, g.errors, g.skipped) == (5, 4, 2, 1, 0)
    assert g.categories == {"beats": 1, "similar": 1, "worse": 1, "inconclusive": 0, "failed": 1}
    assert g.success_rate == 0.5
    assert (g.success_low, g.success_high) == pytest.approx(wilson_interval(2, 4))
    assert g.geomean_agent == pytest.approx((2.0 * 1.5 * 1.1) ** (1 / 3))
    assert g.geomean_agent_vs_human == pytest.approx((2.0 / 1.5 * 1.0 * 1.1 / 2.0) ** (1 / 3))
    assert g.geomean_human == pytest.approx((1.5 * 1.5 * 2.0) ** (1 / 3))
    assert (g.n_agent_speedups, g.human_significant, g.n_human_speedups) == (3, 3, 3)
    labels = {t.item_id: t.label for t in report.tasks}
    assert labels == {
        "demo-aaaa1111": "beats",
        "demo-bbbb2222": "similar",
        "demo-cccc3333": "worse",
        "demo-dddd4444": "failed",
        "demo-eeee5555": "error",
    }
    lines = group_lines(report.groups)
    assert "50% [15%, 85%]" in lines[2]


def test_human_only_records_are_the_sanity_check() -> None:
    records = [
        make_record("aaaa1111", agent=None, human=1.6),
        make_record("bbbb2222", agent=None, human=1.01, human_significant=False),
    ]
    g = build_report(records).groups[0]
    assert g.key.agent is None and "(no agent)" in g.label
    assert (g.human_significant, g.n_human_speedups) == (1, 2)
    assert g.human_not_significant == ["demo-bbbb2222"]
    assert g.geomean_agent is None
    assert [t.label for t in build_report(records).tasks] == ["significant", "not significant"]


def test_two_shards_merged_equal_one_unsharded_run(tmp_path: Path) -> None:
    records = demo_records()
    whole = write_dir(tmp_path / "whole", records)
    shard1 = write_dir(tmp_path / "shard1", records[::2])
    shard2 = write_dir(tmp_path / "shard2", records[1::2])
    one = merge_dirs([whole])
    two = merge_dirs([shard1, shard2])
    assert not one.problems and not two.problems and not two.duplicates
    a = build_report(one.records).as_dict(with_records=False)
    b = build_report(two.records).as_dict(with_records=False)
    assert a == b
    assert a["groups"][0]["tasks"] == 5

    # and through the command, the JSON tables agree too
    assert main(["report", str(whole), "--json", str(tmp_path / "one.json")]) == 0
    assert main(["report", str(shard1), str(shard2), "--json", str(tmp_path / "two.json")]) == 0
    j1 = json.loads((tmp_path / "one.json").read_text())
    j2 = json.loads((tmp_path / "two.json").read_text())
    assert j1["groups"] == j2["groups"] and j1["tasks"] == j2["tasks"]


def test_duplicates_are_flagged_not_double_counted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = demo_records()
    shard1 = write_dir(tmp_path / "shard1", records[:3])
    shard2 = write_dir(tmp_path / "shard2", records[2:])  # cccc3333 in both
    merged = merge_dirs([shard1, shard2])
    assert len(merged.duplicates) == 1 and "demo-cccc3333" in merged.duplicates[0]
    report = build_report(merged.records, merged.problems, merged.duplicates)
    assert report.groups[0].tasks == 5
    assert report.groups[0].categories["worse"] == 1
    assert main(["report", str(shard1), str(shard2), "--json", str(tmp_path / "r.json")]) == 0
    err = capsys.readouterr().err
    assert "duplicate" in err and "demo-cccc3333" in err
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["duplicates"]) == 1 and data["groups"][0]["tasks"] == 5


def test_different_settings_and_suites_are_kept_apart(tmp_path: Path) -> None:
    records = [
        make_record("aaaa1111", category="beats", agent_x=3.0),
        make_record("aaaa1111", category="worse", agent_x=1.0, settings={"min_rounds": 20}),
        make_record("aaaa1111", category="similar", suite="other"),
        make_record("aaaa1111", category="similar", agent="codex"),
    ]
    shard = write_dir(tmp_path / "a", records[:1])
    for i, record in enumerate(records[1:]):
        write_dir(tmp_path / f"b{i}", [record])
    merged = merge_dirs([shard, *(tmp_path / f"b{i}" for i in range(3))])
    assert merged.duplicates == []
    report = build_report(merged.records)
    assert len(report.groups) == 4
    assert all(g.tasks == 1 for g in report.groups)
    by_rounds = {
        json.loads(g.key.settings)["min_rounds"]: g
        for g in report.groups
        if g.key.suite == "demo" and g.key.agent == "trae"
    }
    assert by_rounds[5].geomean_agent == pytest.approx(3.0)
    assert by_rounds[20].geomean_agent == pytest.approx(1.0)
    assert by_rounds[5].label != by_rounds[20].label  # the settings id tells them apart
    assert len({t.key for t in report.tasks}) == 4


def test_bad_results_dirs_reported_file_by_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write_dir(tmp_path / "good", demo_records()[:2])
    (good / "tasks" / "corrupt.json").write_text('{"item_id": "x", "sta')
    (good / "tasks" / "partial.json").write_text(json.dumps({"schema": "isobench.record/1", "item_id": "y"}))
    (good / "tasks" / "empty.json").write_text("")
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = tmp_path / "missing"
    out_json = tmp_path / "r.json"
    rc = main(
        ["report", str(good), str(empty), str(missing), "--json", str(out_json), "--markdown", str(tmp_path / "r.md")]
    )
    assert rc == 0
    captured = capsys.readouterr()
    for name in ("corrupt.json", "partial.json", "empty.json", str(empty), str(missing)):
        assert name in captured.err
    assert "demo-aaaa1111" in captured.out and "demo-bbbb2222" in captured.out
    data = json.loads(out_json.read_text())
    assert len(data["problems"]) == 5
    assert data["groups"][0]["tasks"] == 2
    md = (tmp_path / "r.md").read_text()
    assert "## Problems reading results" in md and "corrupt.json" in md and "partial.json" in md

    # nothing readable at all: still a report of the problems, and a non-zero exit
    assert main(["report", str(empty)]) == 1
    assert "no complete task records" in capsys.readouterr().err


def test_markdown_report_has_tables_and_figures(tmp_path: Path) -> None:
    trae = write_dir(tmp_path / "trae", demo_records())
    codex = write_dir(tmp_path / "codex", [make_record("aaaa1111", category="worse", agent="codex", agent_x=1.2)])
    path = tmp_path / "out" / "report.md"
    assert main(["report", str(trae), str(codex), "--markdown", str(path)]) == 0
    text = path.read_text()
    assert "| group | tasks | run | passed | beats | similar | worse | inconclusive | failed |" in text
    assert "demo / trae" in text and "demo / codex" in text
    figures = sorted(p.name for p in (tmp_path / "out" / "report_files").glob("*.png"))
    assert figures == ["comparison.png", "intervals.png", "ratios.png", "speedups.png"]
    for name in figures:
        assert f"report_files/{name}" in text
        assert (tmp_path / "out" / "report_files" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_inconclusive_is_counted_apart_everywhere() -> None:
    """Issue 12: "we could not tell" is its own count in the group table, the markdown
    table and the terminal summary, for agent runs and human-only runs alike."""

    records = [
        make_record("aaaa1111", category="similar"),
        make_record("bbbb2222", category="inconclusive"),
        make_record("cccc3333", category="inconclusive"),
    ]
    report = build_report(records)
    (group,) = report.groups
    assert group.categories["inconclusive"] == 2
    assert group.categories["similar"] == 1
    assert group.passed == 1
    assert "| 3 | 3 | 1 | 0 | 1 | 0 | 2 | 0 |" in render_markdown(report, figures=[])
    lines, totals = summary_lines(records)
    assert any("inconclusive" in line for line in lines[2:])
    assert totals == {"similar": 1, "inconclusive": 2}
    human_only = make_record("dddd4444", agent=None, human_significant=False)
    human_only["verdict"]["human_verdict"] = "inconclusive"
    _, totals = summary_lines([human_only])
    assert totals == {"inconclusive": 1}
    assert build_report([human_only]).tasks[0].label == "inconclusive"
