"""The ``predictions`` agent: SWE-bench style files, errors that name file:line, lookups by
our item id and by the dataset's instance id. No engine, no sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_isobench.agents.agent import AgentContext, AgentUnavailable
from pytest_isobench.agents.builtin import PredictionsAgent
from pytest_isobench.agents.predictions import load_predictions
from pytest_isobench.dataset.models import Task

PATCH = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-a\n+b\n"
OTHER = PATCH.replace("+b", "+c")


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def context(path: Path, instance_id: str, item_id: str = "") -> AgentContext:
    return AgentContext(
        task=Task(instance_id=instance_id, head_commit="0123456789abcdef"),
        repo_dir=Path("."),
        base_sha="a",
        head_sha="b",
        model=None,
        timeout_s=1,
        prompt="p",
        options={"predictions": str(path), "item_id": item_id},
    )


def test_loads_jsonl_skipping_blank_lines(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"instance_id": "x-1", "model_patch": PATCH, "model_name_or_path": "m"},
            "",
            {"instance_id": "x-2", "model_patch": None, "model_name_or_path": "m"},
        ],
    )
    table = load_predictions(path)
    assert [r.ids for r in table.rows] == [["x-1"], ["x-2"]] and table.rows[0].patch == PATCH
    assert table.rows[1].patch == "" and table.rows[1].missing == f"{path}:3: model_patch is null"


def test_loads_a_json_list_or_mapping(tmp_path: Path) -> None:
    rows = [{"instance_id": "x-1", "model_patch": PATCH}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.json").write_text(json.dumps({"x-1": rows[0]}))
    a, b = load_predictions(tmp_path / "a.json"), load_predictions(tmp_path / "b.json")
    assert [(r.ids, r.patch) for r in a.rows] == [(r.ids, r.patch) for r in b.rows] == [(["x-1"], PATCH)]


@pytest.mark.parametrize(
    ("rows", "line", "why"),
    [
        ([{"instance_id": "a", "model_patch": ""}, "{not json"], 2, "malformed JSON"),
        ([{"instance_id": "a", "model_patch": ""}, "", {"model_patch": ""}], 3, "expected instance_id and model_patch"),
        (["[1, 2]"], 1, "expected instance_id and model_patch"),
        ([{"instance_id": "a"}], 1, "expected instance_id and model_patch"),
    ],
    ids=["bad-json", "no-instance-id", "not-an-object", "no-patch"],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, rows: list[Any], line: int, why: str) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(ValueError, match=f"bad.jsonl:{line}: {why}"):
        load_predictions(path)


def test_lookup_by_item_id_then_instance_id(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"instance_id": "vllm-8aa1485f", "model_patch": PATCH, "model_name_or_path": "by-item"},
            {"instance_id": "vllm-project__vllm-42", "model_patch": OTHER, "model_name_or_path": "x"},
        ],
    )
    agent = PredictionsAgent()
    agent.check({"predictions": str(path)})
    by_item = agent.run(context(path, "vllm-project__vllm-42", item_id="vllm-8aa1485f"))
    assert by_item.patch == PATCH and by_item.model == "by-item"
    by_instance = agent.run(context(path, "vllm-project__vllm-42", item_id="vllm-00000000"))
    assert by_instance.patch.endswith("+c\n") and by_instance.model == "x"


def test_missing_prediction_and_missing_option(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"instance_id": "a", "model_patch": PATCH}])
    with pytest.raises(AgentUnavailable, match=r"no prediction for item-1 \(inst-1\) in .*p.jsonl"):
        PredictionsAgent().run(context(path, "inst-1", item_id="item-1"))
    with pytest.raises(AgentUnavailable, match=r"needs --isobench-predictions=FILE\|DIR"):
        PredictionsAgent().check({})


def test_a_null_patch_is_an_empty_patch(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "p.jsonl", [{"instance_id": "a", "model_patch": None}])
    run = PredictionsAgent().run(context(path, "a"))
    assert run.patch == "" and PredictionsAgent.needs_sandbox is False
