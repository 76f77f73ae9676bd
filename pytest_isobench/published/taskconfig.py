"""ISO-Bench's task configs (``tasks/*.yaml``) and ``bench.yaml``, written as our suite.

An ISO-Bench task config describes one task: ``repo`` (``url``, ``human_commit``, an
optional ``pre_commit``), ``runner`` (GPU, network while preparing), the optimisation
contract (target files), ``metrics`` (a ``runtime:throughput`` metric carries the command
that measures) and ``scoring``; ``bench.yaml`` holds the container limits and one block per
agent. ``isobench convert`` writes a dataset (one commit-level record per task) and a
suite file that collects it, and says what it did not carry over. ISO-Bench's agent names
are mapped to ours (:data:`AGENT_NAMES`). Values of the form ``${VAR:-default}`` take
their default, as ISO-Bench's loader does when ``VAR`` is unset; a required value left as
a bare ``${VAR}`` makes its task skipped, with the reason.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..atomic import atomic_write

__all__ = ["AGENT_NAMES", "ConfigError", "Converted", "convert_configs", "write_converted"]

# ISO-Bench's agent keys -> ours (``codex_cli`` is the Codex command-line tool, our ``codex``).
AGENT_NAMES = {
    "trae": "trae",
    "codex": "codex",
    "codex_cli": "codex",
    "claude_code": "claude_code",
    "openhands": "openhands",
}
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HEX = re.compile(r"^[0-9a-fA-F]{7,40}$")
# keys of a task config read here; anything else is reported as not carried over
_READ = {"id", "name", "description", "repo", "runner", "optimization_contract", "metrics", "agents", "scoring"}


class ConfigError(ValueError):
    """A task config or bench.yaml that cannot be read; the message names the file."""


def _expand(value: Any) -> Any:
    """``${VAR:-default}`` -> ``default``; a bare ``${VAR}`` is left as it is (unresolved)."""
    if isinstance(value, str):
        return _VAR.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(0), value)
    if isinstance(value, dict):
        return {k: _expand(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v) for v in value]
    return value


def _load(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping")
    expanded: dict[str, Any] = _expand(data)
    return expanded


@dataclass
class Converted:
    records: list[dict[str, Any]] = field(default_factory=list)
    suite: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    agent: str | None = None


def _section(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _perf_command(metrics: Any) -> str | None:
    for metric in metrics if isinstance(metrics, list) else []:
        if isinstance(metric, dict) and str(metric.get("using", "")).startswith("runtime:"):
            cmd = _section(metric, "args").get("cmd")
            if isinstance(cmd, str) and cmd.strip():
                return cmd
    return None


def _record(path: Path, data: dict[str, Any], out: Converted) -> dict[str, Any] | None:
    repo = _section(data, "repo")
    head, pre = repo.get("human_commit"), repo.get("pre_commit")
    if not isinstance(head, str) or not _HEX.match(head):
        out.skipped.append(f"{path}: repo.human_commit {head!r} is not a commit sha (a template left unset?)")
        return None
    contract = _section(data, "optimization_contract")
    record: dict[str, Any] = {
        "commit_hash": head,
        "instance_id": str(data.get("id") or path.stem),
        "repo": repo.get("url"),
        "commit_subject": str(data.get("name") or data.get("description") or ""),
        "files_changed": [str(f) for f in contract.get("target_files") or []],
        "extra": {"isobench_task_config": str(path), "constraints": contract.get("constraints") or []},
    }
    if isinstance(pre, str) and _HEX.match(pre):
        record["parent_commit"] = pre
    command = _perf_command(data.get("metrics"))
    if command:
        record["perf_command"] = command
    else:
        out.notes.append(f"{path}: no runtime metric with a command: the task has no perf test (skipped when run)")
    unknown = sorted(set(data) - _READ)
    if unknown:
        out.notes.append(f"{path}: not carried over: {', '.join(unknown)} (ISO-Bench's own environment and scoring)")
    return record


def _gpus(value: Any) -> str | None:
    """bench.yaml's ``gpus`` (none | all | device=0,1) as our ``resources.gpus``."""
    text = str(value or "").strip()
    if not text or text == "none":
        return None
    return text.removeprefix("device=")


def _apply_bench(bench: dict[str, Any], suite: dict[str, Any], out: Converted, agent: str | None) -> None:
    container, agents = _section(bench, "container"), _section(bench, "agents")
    resources = suite.setdefault("resources", {})
    if container.get("memory"):
        resources["memory"] = str(container["memory"])
    gpus = _gpus(container.get("gpus"))
    if gpus:
        resources["gpus"] = gpus
    chosen = agent or (str(agents["default"]) if agents.get("default") else None)
    if chosen is None:
        return
    if chosen not in AGENT_NAMES:
        out.notes.append(f"agent {chosen!r} has no counterpart here (known: {', '.join(sorted(AGENT_NAMES))})")
        return
    out.agent = AGENT_NAMES[chosen]
    budget = _section(agents, chosen).get("time_budget_minutes")
    if isinstance(budget, int | float) and budget > 0:
        suite.setdefault("timeouts", {})["agent_s"] = float(budget) * 60


def convert_configs(paths: list[Path], name: str, bench: Path | None = None, agent: str | None = None) -> Converted:
    """ISO-Bench task configs -> commit-level records and a suite named ``name`` whose
    dataset is ``<name>.jsonl`` beside it."""
    out = Converted()
    configs = [(p, _load(p)) for p in paths]
    for path, data in configs:
        record = _record(path, data, out)
        if record is not None:
            out.records.append(record)
    urls = {r["repo"] for r in out.records if r.get("repo")}
    suite: dict[str, Any] = {
        "name": name,
        "description": "converted from ISO-Bench task configs: " + ", ".join(p.name for p in paths),
        "dataset": f"{name}.jsonl",
        "success": {"rule": "isobench", "similar_tolerance": 0.05},
    }
    if len(urls) == 1:
        suite["repo"] = next(iter(urls))
    runners = [_section(d, "runner") for _p, d in configs]
    if any(r.get("requires_gpu") for r in runners):
        suite["gpus_required"] = 1
    if any(r.get("allow_network_during_prepare") for r in runners):
        suite.setdefault("resources", {})["network_during_setup"] = True
    if bench is not None:
        _apply_bench(_load(bench), suite, out, agent)
    elif agent is not None:
        out.agent = AGENT_NAMES.get(agent)
    out.suite = suite
    return out


def write_converted(done: Converted, out: Path, name: str) -> tuple[Path, Path]:
    """Write ``<name>.yaml`` (the suite, with the agent mapping in its header) and
    ``<name>.jsonl`` (the records) under ``out``."""
    suite_path, data_path = out / f"{name}.yaml", out / f"{name}.jsonl"
    header = "# written by `isobench convert` from ISO-Bench task configs; ISO-Bench's agent names map to ours:\n# "
    header += ", ".join(f"{k} -> {v}" for k, v in AGENT_NAMES.items()) + "\n"
    atomic_write(suite_path, header + yaml.safe_dump(done.suite, sort_keys=False))
    atomic_write(data_path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in done.records))
    return suite_path, data_path
