"""Each variant measures the code it names: per-commit images and the installed-package check.

A stand-in of a vLLM-like project (``tinyserve``) is made here with a real git history and
built into per-commit images FROM the demo image on the real engine, the way ISO-Bench
ships vLLM: installed non-editable into site-packages by its own build step, which also
"compiles" ``csrc/kernel.c`` into the module ``tinyserve/_C.py`` (a bare checkout cannot
import the package, as a bare vLLM checkout lacks ``vllm._C``). The human image is tagged
``{commit}``, the baseline's ``baseline-{parent12}``. Through pytest on the Docker backend:
baseline and human import their own version and commit; an agent's Python patch is copied
into the installed package and timed there; a patch to compiled code triggers the suite's
rebuild; a human image that holds the baseline's code is an error before any timing.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gitutil import git

from pytest_isobench.sandbox.docker_sandbox import engine_client
from pytest_isobench.sandbox.images import render
from pytest_isobench.serving import standin

pytestmark = pytest.mark.docker
BASE_IMAGE = "isobench-demo:bookworm"

BUILD = '''"""Build and install tinyserve into site-packages (non-editable): python3 build.py install."""
import os, re, shutil, site, subprocess, sys
from pathlib import Path

here = Path(__file__).resolve().parent
latency = re.search(r"#define LATENCY_MS (\\d+)", (here / "csrc" / "kernel.c").read_text()).group(1)
commit = os.environ.get("TINYSERVE_COMMIT") or subprocess.run(
    ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True).stdout.strip()
target = Path(site.getsitepackages()[0])
dest = target / "tinyserve"
shutil.rmtree(dest, ignore_errors=True)
shutil.copytree(here / "tinyserve", dest)
(dest / "_C.py").write_text(f"# compiled from csrc/kernel.c\\nLATENCY_MS = {latency}\\n")
(dest / "_build_info.py").write_text(f"__commit__ = {commit!r}\\n")
version = re.search(r'__version__ = "(.*)"', (here / "tinyserve" / "__init__.py").read_text()).group(1)
info = target / f"tinyserve-{version}.dist-info"
for old in target.glob("tinyserve-*.dist-info"):
    shutil.rmtree(old)
info.mkdir()
(info / "METADATA").write_text(f"Metadata-Version: 2.1\\nName: tinyserve\\nVersion: {version}\\n")
print("installed tinyserve", version, commit[:12], "into", dest)
'''
INIT = (
    '"""tinyserve: a stand-in for an inference engine."""\n\n__version__ = "{version}"\n\n'
    "from ._build_info import __commit__  # written by build.py\nfrom . import _C  # compiled by build.py\n"
)
ENGINE = (
    "from . import _C\n\nSLOWDOWN = {slowdown}\n\n\ndef step_delay():\n    return _C.LATENCY_MS / 1000 * SLOWDOWN\n"
)
KERNEL = "// compiled into tinyserve/_C by build.py\n#define LATENCY_MS {latency}\n"
PERF = (
    "import json, time\nimport tinyserve.engine as engine\nstart = time.perf_counter()\n"
    "time.sleep(engine.step_delay())\n"
    "print(json.dumps({'time_s': time.perf_counter() - start, 'digest': 'same'}))\n"
)


def _server_source() -> str:
    """The stand-in vLLM server, its latency taken from the installed ``tinyserve.engine``."""
    text = standin.source("vllm_standin.py")
    head = "def configured_latency(cli_value: float | None) -> tuple[float, str]:\n"
    assert head in text
    return text.replace(
        head, head + "    from tinyserve import engine\n\n    return engine.step_delay() * 1000, 'tinyserve.engine'\n"
    )


def _write(repo: Path, version: str, slowdown: str, latency: int) -> None:
    (repo / "tinyserve").mkdir(exist_ok=True)
    (repo / "csrc").mkdir(exist_ok=True)
    (repo / "benchmarks").mkdir(exist_ok=True)
    (repo / "tinyserve" / "server.py").write_text(_server_source())
    (repo / "benchmarks" / "benchmark_serving.py").write_text(standin.source("benchmark_serving_standin.py"))
    (repo / "build.py").write_text(BUILD)
    (repo / "tinyserve" / "__init__.py").write_text(INIT.format(version=version))
    (repo / "tinyserve" / "engine.py").write_text(ENGINE.format(slowdown=slowdown))
    (repo / "csrc" / "kernel.c").write_text(KERNEL.format(latency=latency))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    repo = tmp_path_factory.mktemp("tinyserve") / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    _write(repo, "0.1.0", "2.0", 60)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "tinyserve 0.1.0")
    base = git(repo, "rev-parse", "HEAD").strip()
    _write(repo, "0.2.0", "1.0", 60)
    git(repo, "commit", "-q", "-am", "perf: no slowdown in the engine")
    return repo, base, git(repo, "rev-parse", "HEAD").strip()


def _build(client: Any, repo: Path, commit: str, tag: str) -> None:
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", commit], capture_output=True, check=True
    )
    dockerfile = (
        f"FROM {BASE_IMAGE}\nCOPY src /src\n"
        f"RUN cd /src && TINYSERVE_COMMIT={commit} python3 build.py install && rm -rf /src\n"
    ).encode()
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as src:
            for member in src.getmembers():
                data = src.extractfile(member) if member.isfile() else None
                member.name = f"src/{member.name}"
                tar.addfile(member, data)
    context.seek(0)
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True)


@pytest.fixture(scope="module")
def images(project: tuple[Path, str, str]) -> Iterator[dict[str, str]]:
    """Per-commit images of the stand-in, removed after the module: the suite's templates."""

    client = engine_client()
    repo, base, head = project
    name = f"isobench-test-tinyserve-{uuid.uuid4().hex[:8]}"
    templates = {"human": f"{name}:{{commit}}", "baseline": f"{name}-baseline:baseline-{{parent12}}"}
    built = [str(render(templates["human"], head, base)), str(render(templates["baseline"], base, base))]
    try:
        _build(client, repo, head, built[0])
        _build(client, repo, base, built[1])
        yield templates
    finally:
        for tag in built:
            with contextlib.suppress(Exception):
                client.images.remove(tag, force=True)
        client.close()


def _suite(
    pytester: pytest.Pytester,
    repo: Path,
    base: str,
    head: str,
    images: dict[str, str],
    extra: str = "",
    test: dict[str, str] | None = None,
) -> None:
    record = {"instance_id": "tinyserve-1", "repo": str(repo), "base_commit": base, "head_commit": head}
    record["perf_tests"] = [test or {"name": "step", "script": PERF}]
    (pytester.path / "data.jsonl").write_text(json.dumps(record) + "\n")
    pytester.makefile(
        ".yaml",
        tiny=f"""
        name: tiny
        dataset: data.jsonl
        images:
          baseline: "{images["baseline"]}"
          human: "{images["human"]}"
        package: {{name: tinyserve}}
        perf: {{python: "PYTHONSAFEPATH=1 python3", timeout_s: 60}}
        timing: {{warmup: 0, min_rounds: 3, max_time_s: 20}}
        {extra}
        """,
    )


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    results = pytester.path / "results"
    result = pytester.runpytest_subprocess(
        "tiny.yaml",
        "-p",
        "no:cacheprovider",
        "--isobench-backend=docker",
        f"--isobench-results={results}",
        f"--isobench-cache-dir={pytester.path / 'cache'}",
        *args,
        timeout=600,
    )
    (path,) = (results / "tasks").glob("*.json")
    return result, json.loads(path.read_text())


def _patch(repo: Path, base: str, files: dict[str, str]) -> str:
    git(repo, "checkout", "-q", base)
    for name, text in files.items():
        (repo / name).write_text(text)
    diff = git(repo, "diff")
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "checkout", "-q", "main")
    return diff


def _predictions(pytester: pytest.Pytester, patch: str) -> str:
    preds = pytester.path / "preds.jsonl"
    preds.write_text(json.dumps({"instance_id": "tinyserve-1", "model_patch": patch, "model_name_or_path": "t"}) + "\n")
    return f"--isobench-predictions={preds}"


def _blob(text: str) -> str:
    return subprocess.run(
        ["git", "hash-object", "--stdin"], input=text, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_each_variant_imports_its_own_code_and_the_patch_lands_installed(
    pytester: pytest.Pytester, project: tuple[Path, str, str], images: dict[str, str]
) -> None:
    repo, base, head = project
    _suite(pytester, repo, base, head, images)
    patched = ENGINE.format(slowdown="0.5")
    patch = _patch(repo, base, {"tinyserve/engine.py": patched})
    result, record = _run(pytester, "--isobench-agent=predictions", _predictions(pytester, patch))
    imported = record["imported"]
    site = "/usr/local/lib/python3.11/dist-packages/tinyserve"
    assert (imported["baseline"]["version"], imported["baseline"]["commit"]) == ("0.1.0", base)
    assert (imported["human"]["version"], imported["human"]["commit"]) == ("0.2.0", head)
    assert imported["baseline"]["path"] == imported["human"]["path"] == imported["agent"]["path"] == site
    assert imported["baseline"]["dist_version"] == "0.1.0" and imported["human"]["dist_version"] == "0.2.0"
    assert not any(v["editable"] for v in imported.values())
    assert all(v["verified"] and v["problems"] == [] for v in imported.values())
    engine = imported["agent"]["files"]["tinyserve/engine.py"]
    assert engine["installed"] == engine["checkout"] == _blob(patched)  # the patch is in site-packages
    assert imported["baseline"]["files"]["tinyserve/engine.py"]["installed"] == _blob(ENGINE.format(slowdown="2.0"))
    (test,) = record["perf_tests"]
    medians = {v: sorted(d["values"])[len(d["values"]) // 2] for v, d in test["variants"].items()}
    assert medians["agent"] < medians["human"] < medians["baseline"]  # 30, 60, 120 ms of sleep
    assert record["agent_rebuilt"] is False
    outcomes = result.parseoutcomes()  # measured, not an error: the verdict itself is up to the timing
    assert outcomes.get("errors", 0) == 0 and outcomes.get("passed", 0) + outcomes.get("failed", 0) == 1


def test_a_patch_to_compiled_code_is_rebuilt_into_the_installed_package(
    pytester: pytest.Pytester, project: tuple[Path, str, str], images: dict[str, str]
) -> None:
    repo, base, head = project
    _suite(
        pytester, repo, base, head, images, extra='rebuild: {paths: ["csrc/*"], command: "python3 build.py install"}'
    )
    patch = _patch(repo, base, {"csrc/kernel.c": KERNEL.format(latency=15)})
    result, record = _run(pytester, "--isobench-agent=predictions", _predictions(pytester, patch))
    assert record["agent_rebuilt"] is True
    agent = record["imported"]["agent"]
    assert agent["problems"] == [] and agent["path"].endswith("dist-packages/tinyserve")
    (test,) = record["perf_tests"]
    medians = {v: sorted(d["values"])[len(d["values"]) // 2] for v, d in test["variants"].items()}
    assert medians["agent"] < medians["human"]  # 15 ms x 2.0 against 60 ms x 1.0
    outcomes = result.parseoutcomes()  # measured, not an error: the verdict itself is up to the timing
    assert outcomes.get("errors", 0) == 0 and outcomes.get("passed", 0) + outcomes.get("failed", 0) == 1


def test_a_human_image_holding_the_baseline_code_is_an_error_before_timing(
    pytester: pytest.Pytester, project: tuple[Path, str, str], images: dict[str, str]
) -> None:
    repo, base, head = project
    wrong = {"baseline": images["baseline"], "human": images["baseline"]}  # the human gets the parent's image
    _suite(pytester, repo, base, head, wrong)
    result, record = _run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the variants do not import their own tinyserve*"])
    assert (record["status"] == "error" and "perf_tests" not in record) or not record.get("perf_tests")
    human = record["imported"]["human"]
    assert human["version"] == "0.1.0" and human["commit"] == base
    assert f"reports commit {base}, expected {head[:12]}" in human["problems"]
    assert "tinyserve/engine.py differs from the variant's commit" in human["problems"]
    assert record["imported"]["baseline"]["problems"] == []


SERVING = """
        serving:
          python: python3
          serve_command: "PYTHONSAFEPATH=1 {python} -m tinyserve.server serve {model} --port {port}"
          startup_timeout_s: 30
          num_prompts: 8
"""


def test_the_server_serves_each_variants_installed_code(
    pytester: pytest.Pytester, project: tuple[Path, str, str], images: dict[str, str]
) -> None:
    repo, base, head = project
    command = "python benchmarks/benchmark_serving.py --model demo/tiny-llm --num-prompts 8"
    _suite(pytester, repo, base, head, images, extra=SERVING, test={"name": "serve", "command": command})
    patch = _patch(repo, base, {"tinyserve/engine.py": ENGINE.format(slowdown="0.5")})
    result, record = _run(pytester, "--isobench-agent=predictions", _predictions(pytester, patch))
    assert all(v["problems"] == [] for v in record["imported"].values())
    (test,) = record["perf_tests"]
    medians = {v: sorted(d["values"])[len(d["values"]) // 2] for v, d in test["variants"].items()}
    # TTFT in ms from the installed engine: 120 (baseline), 60 (human), 30 (the agent's patch).
    assert medians["agent"] < medians["human"] < medians["baseline"], medians
    assert 100 < medians["baseline"] < 400 and medians["agent"] < 100
    outcomes = result.parseoutcomes()  # measured, not an error: the verdict itself is up to the timing
    assert outcomes.get("errors", 0) == 0 and outcomes.get("passed", 0) + outcomes.get("failed", 0) == 1
