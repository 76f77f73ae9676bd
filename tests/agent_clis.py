"""Helpers for tests that drive the real Claude Code and Codex CLIs against ``FakeModels``.

The CLIs come from ``scripts/install-agent-clis.sh`` (``.agent-clis/`` of the checkout, or
the folder ``ISOBENCH_AGENT_CLIS_BIN`` names). Where they are missing a test skips with
the command that installs them; in CI (``ISOBENCH_REQUIRE_AGENT_CLIS=1``, set by ``.ci/run``)
it fails instead. The script the stand-in server plays is the demo's unique-seen-set task:
read ``textkit/dedup.py``, look around (the output of which goes back to the server, where
a decoy secret must never appear), make the human's edit, finish.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fake_models import FakeModels, Step

ROOT = Path(__file__).resolve().parents[1]
TASK = "866ff223"  # demo-unique-seen-set
DECOY_VAR = "ISOBENCH_TEST_DECOY_TOKEN"
DECOY_VALUE = "decoy-5f0c1e7a9b3d-never-reaches-an-agent"
DECOY_PROBE = "5f0c1e7a9b3d"  # a part of the decoy, searched for without spelling it in the command
OLD = (
    "    result: list[T] = []\n    for item in items:\n"
    "        if item not in result:\n            result.append(item)\n"
)
NEW = (
    "    seen: set[object] = set()\n    result: list[T] = []\n    for item in items:\n"
    "        if item not in seen:\n            seen.add(item)\n            result.append(item)\n"
)
LOOK = (
    'env; echo "FILES:"; find "$HOME" . -path ./.git -prune -o -type f -print; echo "HITS:"; '
    f'grep -rlF "$(printf %s%s {DECOY_PROBE[:6]} {DECOY_PROBE[6:]})" "$HOME" . 2>/dev/null; echo "END"'
)
SCRIPT = [
    Step("read", path="textkit/dedup.py"),
    Step("bash", command=LOOK),
    Step("edit", path="textkit/dedup.py", old=OLD, new=NEW),
    Step("done", text="Made unique() linear with a seen-set."),
]
EXPECTED_DIFF_LINES = (
    "+    seen: set[object] = set()",
    "-        if item not in result:",
    "+            seen.add(item)",
)


def cli_bin() -> Path:
    """The folder holding ``claude`` and ``codex``; skip (or fail in CI) when they are missing."""
    where = Path(os.environ.get("ISOBENCH_AGENT_CLIS_BIN") or ROOT / ".agent-clis" / "node_modules" / ".bin")
    missing = [tool for tool in ("claude", "codex") if not (where / tool).exists()]
    if missing:
        problem = f"agent CLIs {', '.join(missing)} not in {where}: run scripts/install-agent-clis.sh"
        if os.environ.get("ISOBENCH_REQUIRE_AGENT_CLIS") == "1":
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    return where


def decoy_home(path: Path) -> Path:
    """A host HOME full of the things an agent must not read, each holding the decoy."""
    for rel in (".claude/.credentials.json", ".claude/CLAUDE.md", ".codex/auth.json", ".config/trae/key", ".netrc"):
        target = path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"token": DECOY_VALUE}))
    (path / ".claude.json").write_text(json.dumps({"primaryApiKey": DECOY_VALUE}))
    return path


def agent_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bin_dir: Path) -> None:
    """The caller's environment of these tests: the CLIs on PATH, a decoy variable and HOME."""
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv(DECOY_VAR, DECOY_VALUE)
    monkeypatch.setenv("HOME", str(decoy_home(tmp_path / "host-home")))
    for var in (
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_AUTH_TOKEN",
        "CLAUDE_CODE_OAUTH_TOKEN",
        "ANTHROPIC_BASE_URL",
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "CODEX_API_KEY",
        "CODEX_BASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)


def point_at(monkeypatch: pytest.MonkeyPatch, agent: str, url_base: str) -> None:
    """Give ``agent`` its key and endpoint the way a user would export them."""
    if agent == "claude_code":
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-stand-in")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", url_base)
    else:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-stand-in")
        monkeypatch.setenv("OPENAI_BASE_URL", url_base + "/v1")


def tool_outputs(server: FakeModels) -> list[str]:
    """Every tool result the CLI sent back to the model (Anthropic, Responses and Chat shapes)."""
    found: list[str] = []
    for seen in server.requests:
        for message in seen.body.get("messages") or []:
            if message.get("role") == "tool":  # Chat Completions (OpenHands)
                content = message.get("content")
                if isinstance(content, list):  # text parts
                    content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
                found.append(str(content))
            for block in message.get("content") or [] if isinstance(message.get("content"), list) else []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    content = block.get("content")
                    found.append(content if isinstance(content, str) else json.dumps(content))
        for item in seen.body.get("input") or []:
            if isinstance(item, dict) and str(item.get("type", "")).endswith("call_output"):
                output = item.get("output")
                found.append(output if isinstance(output, str) else json.dumps(output))
    return found


def reported_json(logs: str, agent: str) -> Any:
    """The tool's own usage report, read back from the run's logs (its standard output)."""
    stdout = logs.split("--- stdout ---\n", 1)[1].split("\n--- stderr ---", 1)[0]
    docs = [json.loads(line) for line in stdout.splitlines() if line.strip().startswith("{")]
    if agent == "claude_code":
        return next(d for d in docs if d.get("type") == "result")
    return [d["usage"] for d in docs if d.get("type") == "turn.completed"]


def git_diff_files(patch: str) -> list[str]:
    return [line[6:] for line in patch.splitlines() if line.startswith("+++ b/")]


def run_git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


AGENTS_IMAGE = "isobench-agents:bookworm"


def required_image(image: str, script: str, require_var: str) -> str:
    """``image``, built by ``script``; skip without it, or fail where ``require_var`` is 1 (CI)."""
    import docker

    client = docker.from_env(timeout=10)
    try:
        client.images.get(image)
    except docker.errors.ImageNotFound:
        problem = f"image {image} missing: run {script}"
        if os.environ.get(require_var) == "1":
            pytest.fail(f"required in CI: {problem}")
        pytest.skip(problem)
    finally:
        client.close()
    return image


def agents_image() -> str:
    """The image with node and the CLIs (scripts/build-agents-image.sh); skip or fail without it."""
    return required_image(AGENTS_IMAGE, "scripts/build-agents-image.sh", "ISOBENCH_REQUIRE_AGENT_CLIS")


def bridge_gateway() -> str:
    """The host's address on Docker's default bridge: where a container reaches a host server."""
    import ipaddress

    import docker

    client = docker.from_env(timeout=10)
    try:
        config = client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    finally:
        client.close()
    return str(config.get("Gateway") or next(ipaddress.ip_network(config["Subnet"]).hosts()))
