"""The stand-in serving task measured end to end in Docker, through the real DockerSandbox.

A tiny git repository has two commits: the baseline's ``standin_config.py`` says
``LATENCY_MS = 80``, the human's ``LATENCY_MS = 40``; the agent's patch touches only a
comment. The stand-in server is launched in each variant's container exactly as
``vllm serve MODEL --port P`` would be and reads the latency from its checkout, so the
speedup really comes from the checkout. The stand-in client prints vLLM's serving result
block, which is parsed, interleaved by the timing protocol and judged. Also: a server that
never becomes healthy is killed at its start-up limit with its last log lines, and no
container or server process is left behind.
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from typing import TYPE_CHECKING

import pytest

from pytest_isobench.measure.protocol import ProtocolSettings
from pytest_isobench.measure.verdict import judge
from pytest_isobench.sandbox.docker_sandbox import DockerSandbox, engine_client
from pytest_isobench.sandbox.protocol import LABEL, LABEL_RUN, SandboxSpec, Variant
from pytest_isobench.serving import modes, standin
from pytest_isobench.serving.runner import ServingSession, ServingSpec, measure_variants
from pytest_isobench.serving.server import ModelServer, ServerError
from pytest_isobench.serving.settings import ServingSettings

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    import docker

    from pytest_isobench.sandbox.docker_sandbox import DockerSandbox

pytestmark = pytest.mark.docker

IMAGE = "isobench-demo:bookworm"
TASK_COMMAND = "python benchmarks/benchmark_serving.py --model demo/tiny-llm --num-prompts 16"
DEFAULTS = modes.WorkloadDefaults(
    serve_command="{python} " + standin.SERVER_FILE + " serve {model} --port {port}",
    client_script=standin.CLIENT_FILE,
    startup_timeout_s=30,
)
AGENT_PATCH = """\
--- a/standin_config.py
+++ b/standin_config.py
@@ -1,2 +1,2 @@
-# how long the stand-in server waits before the first token
+# how long the stand-in server waits before the first token (tuned by the agent)
 LATENCY_MS = 80
"""


def git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
        "PATH": "/usr/bin:/bin",
    }
    out = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True, env=env)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository whose second commit halves the stand-in's latency: (path, base, head)."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    config = "# how long the stand-in server waits before the first token\nLATENCY_MS = {}\n"
    (path / "standin_config.py").write_text(config.format(80))
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "baseline")
    base = git(path, "rev-parse", "HEAD")
    (path / "standin_config.py").write_text(config.format(40))
    git(path, "commit", "-q", "-am", "perf: halve the latency")
    return path, base, git(path, "rev-parse", "HEAD")


@pytest.fixture
def client() -> Iterator[docker.DockerClient]:
    c = engine_client()
    yield c
    c.close()


@pytest.fixture
def run_id() -> str:
    return f"pytest-serving-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def open_sandbox(
    client: docker.DockerClient, run_id: str, repo: tuple[Path, str, str]
) -> Iterator[dict[str, DockerSandbox]]:
    """The sandboxes a test opens with :func:`start_variant`; all closed, and none left, after."""
    opened: dict[str, DockerSandbox] = {}
    yield opened
    for box in opened.values():
        box.close()
    left = client.containers.list(all=True, filters={"label": [LABEL, f"{LABEL_RUN}={run_id}"]})
    assert left == [], f"containers left behind: {[c.name for c in left]}"


def start_variant(
    opened: dict[str, DockerSandbox],
    client: docker.DockerClient,
    run_id: str,
    repo: Path,
    variant: Variant,
    commit: str,
) -> DockerSandbox:
    box = DockerSandbox(
        SandboxSpec(
            task_id="standin-serving", variant=variant, repo_dir=repo, commit=commit, image=IMAGE, run_id=run_id
        ),
        client,
    )
    opened[variant] = box
    box.start()
    standin.install(box)
    return box


def standin_processes(box: DockerSandbox) -> list[str]:
    res = box.exec("ps -eo pid,pgid,args | grep '[_]isobench_vllm_standin' || true", 10)
    return [line for line in res.stdout.splitlines() if line.strip()]


@pytest.mark.serial
def test_standin_serving_task_end_to_end(
    open_sandbox: dict[str, DockerSandbox], client: docker.DockerClient, run_id: str, repo: tuple[Path, str, str]
) -> None:
    path, base, head = repo
    sandboxes = {
        "baseline": start_variant(open_sandbox, client, run_id, path, "baseline", base),
        "human": start_variant(open_sandbox, client, run_id, path, "human", head),
        "agent": start_variant(open_sandbox, client, run_id, path, "agent", base),
    }
    sandboxes["agent"].apply_patch(AGENT_PATCH)
    assert "tuned by the agent" in sandboxes["agent"].diff()

    plan = modes.serving_plan(TASK_COMMAND, DEFAULTS)
    assert plan.serve_command == f"python3 {standin.SERVER_FILE} serve demo/tiny-llm --port 8000"
    spec = ServingSpec.from_plan(plan, server=dataclasses.replace(plan.server, poll_s=0.1))
    settings = ProtocolSettings(
        warmup=1, min_rounds=5, max_rounds=12, max_time_s=90, target_rel_width=0.03, direction=spec.direction, seed=3
    )
    networks: list[bool] = []

    def offline() -> None:  # timing runs offline (the loopback stays up); servers are already up
        for b in sandboxes.values():
            b.set_network(False)
            networks.append(b.network_enabled)

    out = measure_variants(sandboxes, spec, settings, on_ready=offline)
    assert networks == [False, False, False]
    result = out.result

    assert result.failures == {}
    base_ttft, human_ttft, agent_ttft = (min(result.values(v)) for v in ("baseline", "human", "agent"))
    assert 80 <= base_ttft < 110 and 40 <= human_ttft < 70 and 80 <= agent_ttft < 110
    verdict = judge([result], has_agent=True)
    assert verdict.human is not None and verdict.human_significant
    assert 1.5 < verdict.human.point < 2.1, verdict.message
    assert verdict.category == "worse" and not verdict.passed, verdict.message

    for name, session in out.sessions.items():
        assert session["ready_s"] is not None and "server_log" not in session
        runs = session["runs"]
        assert len(runs) == result.rounds + settings.warmup
        assert {"mean_ttft_ms", "p99_ttft_ms", "mean_tpot_ms", "mean_itl_ms", "request_throughput"} <= set(
            runs[-1]["metrics"]
        ), name
        assert standin_processes(sandboxes[name]) == [], f"{name}: server still running"
    print(
        f"\nTTFT mean ms: baseline {base_ttft:.1f}, human {human_ttft:.1f}, agent {agent_ttft:.1f}; "
        f"rounds {result.rounds} ({result.stop_reason}); {verdict.message}"
    )


def test_server_never_healthy_is_killed_with_its_log(
    open_sandbox: dict[str, DockerSandbox], client: docker.DockerClient, run_id: str, repo: tuple[Path, str, str]
) -> None:
    path, base, _ = repo
    box = start_variant(open_sandbox, client, run_id, path, "baseline", base)
    hang = standin.serve_command("demo/tiny-llm", 8000, "python3", "--startup-s", "inf")
    server = ModelServer(box, hang, settings=ServingSettings(startup_timeout_s=2.5, poll_s=0.25))
    with pytest.raises(ServerError, match=r"within its start-up limit of 2.5 s and was killed") as info:
        server.start()
    assert "Loading model weights..." in info.value.log
    assert "Loading model weights..." in str(info.value).split("last log lines:")[1]
    assert standin_processes(box) == []

    # Through a session: every run is a failed measurement carrying the reason and the log.
    spec = ServingSpec(
        mode="serving",
        client_command="python3 never-run.py",
        serve_command=hang,
        server=ServingSettings(startup_timeout_s=2, poll_s=0.25),
    )
    with ServingSession(box, spec) as session:
        m = session.run_once()
    assert m.error is not None and "start-up limit of 2 s" in m.error and "Loading model weights" in m.error
    assert "Loading model weights" in session.as_record()["server_log"]
    assert standin_processes(box) == []


def test_server_that_crashes_is_reported_at_once(
    open_sandbox: dict[str, DockerSandbox], client: docker.DockerClient, run_id: str, repo: tuple[Path, str, str]
) -> None:
    path, base, _ = repo
    box = start_variant(open_sandbox, client, run_id, path, "baseline", base)
    crash = "echo 'RuntimeError: CUDA out of memory (stand-in)'; exit 1"
    server = ModelServer(box, crash, settings=ServingSettings(startup_timeout_s=30, poll_s=0.2))
    with pytest.raises(ServerError, match=r"exited before it became healthy[\s\S]*CUDA out of memory"):
        server.start()
    assert server.polls <= 3
