"""Suite files (``tasks/*.yaml``): parsing, defaults, and errors that name the key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_isobench.dataset import load_source
from pytest_isobench.suite import Suite, SuiteError, default_suite, load_suite

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_project_vllm_suite() -> None:
    suite = load_suite(ROOT / "tasks" / "vllm.yaml")
    assert suite.name == "vllm"
    assert suite.dataset == "../data/vllm.jsonl"
    assert suite.repo == "https://github.com/vllm-project/vllm.git"
    assert suite.gpus_required == 1
    assert suite.resources.gpus == "all"
    assert suite.timeouts.setup_s == 3600 and suite.timeouts.agent_s == 7200
    assert suite.perf.timeout_s == 1800
    assert suite.success.rule == "isobench" and suite.success.similar_tolerance == 0.05
    assert suite.path == ROOT / "tasks" / "vllm.yaml"
    assert suite.base_dir == ROOT / "tasks"
    # The dataset path is relative to the suite file, not to the working directory.
    assert len(load_source(suite.dataset, base_dir=suite.base_dir).tasks) == 99


@pytest.mark.parametrize("path", sorted((ROOT / "tasks").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_project_suite_parses(path: Path) -> None:
    suite = load_suite(path)
    assert suite.name == path.stem
    assert suite.dataset


def test_full_suite_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
name: my-suite.v2
description: everything set
dataset: hf:ISO-Bench/ISO-Bench:sglang
repo: /srv/repos/sglang
image: lmsysorg/sglang:latest
gpus_required: 2
resources: {cpuset: "0-3", memory: 16g, gpus: "0,1", network_during_setup: false}
timeouts: {setup_s: 60, agent_s: 120}
perf:
  python: python3.11
  timeout_s: 30
  metric: {name: latency, pattern: 'latency: ([0-9.]+) ms', direction: lower}
success: {rule: gso, gso_human_fraction: 0.9, gso_min_speedup: 1.1}
setup_commands: [pip install -e .]
markers: [nightly]
""",
    )
    suite = load_suite(path)
    assert suite.name == "my-suite.v2"
    assert suite.dataset == "hf:ISO-Bench/ISO-Bench:sglang"
    assert suite.gpus_required == 2
    assert suite.resources.cpuset == "0-3" and suite.resources.gpus == "0,1"
    assert suite.resources.network_during_setup is False
    assert (suite.timeouts.setup_s, suite.timeouts.agent_s) == (60, 120)
    assert suite.perf.python == "python3.11" and suite.perf.timeout_s == 30
    assert suite.perf.metric is not None
    assert suite.perf.metric.pattern == "latency: ([0-9.]+) ms"
    assert suite.success.rule == "gso" and suite.success.gso_min_speedup == 1.1
    assert suite.setup_commands == ["pip install -e ."]
    assert suite.markers == ["nightly"]


def test_minimal_suite_takes_name_from_file_and_defaults(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, "dataset: data.jsonl\n", name="fast_cpu.yaml"))
    assert suite.name == "fast_cpu"
    assert suite.repo is None and suite.image is None
    assert suite.gpus_required == 0
    assert suite.perf.timeout_s == 300 and suite.timeouts.setup_s == 1800
    assert suite.success.rule == "isobench"
    assert suite.base_dir == tmp_path


def test_default_suite_for_an_ad_hoc_dataset() -> None:
    suite = default_suite("dataset", "x.jsonl")
    assert isinstance(suite, Suite)
    assert (suite.name, suite.dataset, suite.path) == ("dataset", "x.jsonl", None)
    assert suite.base_dir == Path.cwd()


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\ndataset: d.jsonl\ngpu_required: 1\n")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert "key 'gpu_required'" in message


def test_unknown_nested_key_is_named_with_its_path(tmp_path: Path) -> None:
    path = write(tmp_path, "dataset: d.jsonl\nresources:\n  cpus: 4\n")
    with pytest.raises(SuiteError, match=r"key 'resources\.cpus'"):
        load_suite(path)


def test_missing_dataset_is_named(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"key 'dataset': Field required"):
        load_suite(write(tmp_path, "name: s\nrepo: x\n"))


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("gpus_required: -1", "gpus_required"),
        ("timeouts: {setup_s: 0}", "timeouts.setup_s"),
        ("success: {rule: fastest}", "success.rule"),
        ("perf: {metric: {name: t, pattern: 'no group'}}", "perf.metric.pattern"),
        ("perf: {metric: {name: t, pattern: '([0-9]+'}}", "perf.metric.pattern"),
        ("setup_commands: echo", "setup_commands"),
        ("markers: [nightly, 'not a marker']", "markers"),
        ("markers: [2fast]", "markers"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(SuiteError, match=rf"key '{key}'"):
        load_suite(write(tmp_path, f"dataset: d.jsonl\n{text}\n"))


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\nbogus: 1\nother: 2\n")
    with pytest.raises(SuiteError) as info:
        load_suite(path)
    for key in ("bogus", "other", "dataset"):
        assert f"key '{key}'" in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "name: s\ndataset: d.jsonl\nrepo: x\n  image: y\n",
        "name: s\ndataset: d.jsonl\nrepo: [unclosed\nimage: x\n",
    ],
)
def test_bad_yaml_names_file_and_line(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SuiteError, match=rf"^{re.escape(str(path))}:4: not valid YAML \(.+\)$"):
        load_suite(path)


def test_bad_yaml_tab_indent_names_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: s\ndataset: d.jsonl\n\tresources: {}\n")
    with pytest.raises(SuiteError, match=rf"^{re.escape(str(path))}:3: not valid YAML"):
        load_suite(path)


@pytest.mark.parametrize("name", ["has space", "-leading-dash", "slash/name", "", "é"])
def test_bad_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(SuiteError, match=r"key 'name'"):
        load_suite(write(tmp_path, f"name: '{name}'\ndataset: d.jsonl\n"))


def test_bad_name_from_the_file_stem(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"key 'name'"):
        load_suite(write(tmp_path, "dataset: d.jsonl\n", name="my suite.yaml"))


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just a string\n"])
def test_not_a_mapping(tmp_path: Path, text: str) -> None:
    with pytest.raises(SuiteError, match="expected a mapping of suite keys"):
        load_suite(write(tmp_path, text))


def test_missing_suite_file(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"gone\.yaml: cannot read"):
        load_suite(tmp_path / "gone.yaml")
