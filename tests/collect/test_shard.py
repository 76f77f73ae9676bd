"""``--isobench-shard=K/N``: disjoint, complete, balanced and the same on every machine."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import pytest

from pytest_isobench.collect.ids import task_ids
from pytest_isobench.collect.shard import (
    ShardSpecError,
    assign,
    load_durations,
    parse_shard,
    select,
)

ROOT = Path(__file__).resolve().parents[2]
PROJECT_VLLM = ROOT / "data" / "vllm.jsonl"
HEADS = [json.loads(line)["commit_hash"] for line in PROJECT_VLLM.read_text().splitlines()]
NODE_IDS = [f"tasks/vllm.yaml::{name}" for name in task_ids("vllm", HEADS)]

_ITEM_LINE = re.compile(r"^\S+::\S+$")


def shards_of(ids: list[str], n: int, durations: dict[str, float] | None = None) -> list[set[str]]:
    return [select(ids, k, n, durations) for k in range(1, n + 1)]


# -- parse_shard -----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "pair"), [("1/1", (1, 1)), ("3/8", (3, 8)), (" 2 / 4 ", (2, 4))])
def test_parse_shard(text: str, pair: tuple[int, int]) -> None:
    assert parse_shard(text) == pair


@pytest.mark.parametrize("text", ["0/4", "5/4", "x", "1", "1/0", "-1/4", "1/-4", "a/b", "", "1/2/3"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(ShardSpecError, match=re.escape(repr(text))):
        parse_shard(text)


# -- select / assign on the 99 real node ids ----------------------------------------------


def test_real_node_ids_are_unique() -> None:
    assert len(set(NODE_IDS)) == 99


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_shards_are_disjoint_complete_and_balanced(n: int) -> None:
    shards = shards_of(NODE_IDS, n)
    assert sum(len(s) for s in shards) == 99
    assert set().union(*shards) == set(NODE_IDS)
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    for i in range(n):
        for j in range(i + 1, n):
            assert not shards[i] & shards[j]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_shards_do_not_depend_on_input_order(n: int) -> None:
    reference = shards_of(NODE_IDS, n)
    for seed in range(5):
        shuffled = NODE_IDS[:]
        random.Random(seed).shuffle(shuffled)
        assert shards_of(shuffled, n) == reference
        assert assign(shuffled, n) == assign(NODE_IDS, n)


def test_trivial_cases() -> None:
    assert select(NODE_IDS, 1, 1) == set(NODE_IDS)
    assert assign([], 3) == {}
    assert select([], 1, 3) == set()


def test_more_shards_than_tasks() -> None:
    ids = ["a", "b"]
    shards = shards_of(ids, 5)
    assert [len(s) for s in shards] == [1, 1, 0, 0, 0]


# -- durations ---------------------------------------------------------------------------


def loads(placement: dict[str, int], weights: dict[str, float], n: int) -> list[float]:
    totals = [0.0] * n
    for node, shard in placement.items():
        totals[shard] += weights[node]
    return totals


def test_longest_first_isolates_a_long_task() -> None:
    ids = [f"t{i:02d}" for i in range(12)]
    durations = {i: 1.0 for i in ids} | {"t00": 100.0}
    placement = assign(ids, 2, durations)
    # Optimal: the long task alone, the 11 short ones together.
    assert [n for n, s in placement.items() if s == placement["t00"]] == ["t00"]
    assert sorted(loads(placement, durations, 2)) == [11.0, 100.0]
    # Plain round-robin (no durations) would have put short tasks with the long one.
    plain = assign(ids, 2)
    assert max(loads(plain, durations, 2)) > 100.0


def test_longest_first_reaches_a_perfect_split() -> None:
    durations = {"a": 6.0, "b": 5.0, "c": 4.0, "d": 3.0, "e": 2.0, "f": 1.0}
    placement = assign(list(durations), 3, durations)
    assert sorted(loads(placement, durations, 3)) == [7.0, 7.0, 7.0]
    assert placement["a"] == placement["f"] and placement["c"] == placement["d"]


@pytest.mark.parametrize("n", [2, 3, 4, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_longest_first_is_close_to_optimal(n: int, seed: int) -> None:
    rng = random.Random(seed)
    durations = {node: rng.lognormvariate(3.0, 1.0) for node in NODE_IDS}
    placement = assign(NODE_IDS, n, durations)
    assert set(placement) == set(NODE_IDS)
    totals = loads(placement, durations, n)
    lower_bound = max(sum(durations.values()) / n, max(durations.values()))
    # Longest-first: the busiest shard exceeds the mean by at most one task.
    assert max(totals) <= sum(durations.values()) / n + max(durations.values())
    assert max(totals) <= 1.25 * lower_bound
    # Far better than ignoring the durations.
    plain = loads(assign(NODE_IDS, n), durations, n)
    assert max(totals) <= max(plain)
    # And just as deterministic.
    shuffled = NODE_IDS[:]
    rng.shuffle(shuffled)
    assert assign(shuffled, n, dict(reversed(list(durations.items())))) == placement


def test_unknown_tasks_count_as_the_mean() -> None:
    durations = {"a": 30.0, "b": 10.0, "gone::x": 500.0}
    ids = ["a", "b", "u1", "u2"]  # u1 and u2 weigh the mean of a and b: 20 each
    placement = assign(ids, 2, durations)
    # Weighing 20, the unknowns share a shard and a+b the other (40 / 40); weighing
    # anything small they would join b, weighing the ids absent from the run they'd split.
    assert placement["a"] == placement["b"] != placement["u1"] == placement["u2"]
    assert select(ids, 1, 2, durations) | select(ids, 2, 2, durations) == set(ids)


def test_durations_of_other_ids_only_keep_counts_balanced() -> None:
    durations = {"elsewhere::x": 1000.0}
    shards = shards_of(NODE_IDS, 4, durations)
    assert sorted(len(s) for s in shards) == [24, 25, 25, 25]


def test_load_durations(tmp_path: Path) -> None:
    path = tmp_path / "durations.json"
    path.write_text(json.dumps({"a::x": 1.5, "b::y": 2, "c::z": "slow", "d::w": None}))
    assert load_durations(path) == {"a::x": 1.5, "b::y": 2.0}
    path.write_text("[1, 2]")
    with pytest.raises(ShardSpecError, match="expected a JSON object"):
        load_durations(path)
    path.write_text("{oops")
    with pytest.raises(ShardSpecError, match="cannot read durations"):
        load_durations(path)
    with pytest.raises(ShardSpecError, match="cannot read durations"):
        load_durations(tmp_path / "missing.json")


# -- through pytest -------------------------------------------------------------------------


@pytest.fixture
def vllm_project(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "data").mkdir()
    (pytester.path / "tasks").mkdir()
    shutil.copy(PROJECT_VLLM, pytester.path / "data" / "vllm.jsonl")
    shutil.copy(ROOT / "tasks" / "vllm.yaml", pytester.path / "tasks" / "vllm.yaml")
    return pytester


def collected(result: pytest.RunResult) -> set[str]:
    return {line for line in result.outlines if _ITEM_LINE.match(line)}


def test_pytest_shards_of_four(vllm_project: pytest.Pytester) -> None:
    seen: list[set[str]] = []
    for k in range(1, 5):
        result = vllm_project.runpytest("--collect-only", "-q", f"--isobench-shard={k}/4")
        assert result.ret == 0
        got = collected(result)
        assert got == select(NODE_IDS, k, 4)
        result.stdout.fnmatch_lines([f"{len(got)}/99 tests collected ({99 - len(got)} deselected)*"])
        seen.append(got)
    assert sorted(len(s) for s in seen) == [24, 25, 25, 25]
    assert set().union(*seen) == set(NODE_IDS)
    assert sum(len(s) for s in seen) == 99


def test_pytest_shard_ignores_keyword_selection(vllm_project: pytest.Pytester) -> None:
    # -k narrows a shard; it never moves a task to another shard.
    home = [k for k in range(1, 4) if "tasks/vllm.yaml::vllm-8aa1485f" in select(NODE_IDS, k, 3)]
    assert len(home) == 1
    for k in range(1, 4):
        result = vllm_project.runpytest("--collect-only", "-q", f"--isobench-shard={k}/3", "-k", "8aa1485f")
        expected = {"tasks/vllm.yaml::vllm-8aa1485f"} if k == home[0] else set()
        assert collected(result) == expected


def test_pytest_shards_with_durations(vllm_project: pytest.Pytester) -> None:
    rng = random.Random(7)
    durations = {node: rng.uniform(1, 100) for node in NODE_IDS[:80]}
    (vllm_project.path / "durations.json").write_text(json.dumps(durations))
    seen = []
    for k in range(1, 4):
        result = vllm_project.runpytest(
            "--collect-only", "-q", f"--isobench-shard={k}/3", "--isobench-durations=durations.json"
        )
        got = collected(result)
        assert got == select(NODE_IDS, k, 3, durations)
        seen.append(got)
    assert set().union(*seen) == set(NODE_IDS) and sum(map(len, seen)) == 99


def test_problem_items_are_kept_in_every_shard(vllm_project: pytest.Pytester) -> None:
    (vllm_project.path / "tasks" / "bad.yaml").write_text("dataset: x.jsonl\nbogus: 1\n")
    for k in (1, 2):
        result = vllm_project.runpytest("--collect-only", "-q", f"--isobench-shard={k}/2")
        assert "tasks/bad.yaml::bad-suite" in collected(result)
