"""Serving benchmarks without Docker: metric patterns, modes, identical workloads, secrets,
the server's start-up limit and the session's failure handling (with a fake sandbox), the
stand-ins run as local processes, and ``pytest tasks/vllm.yaml -m gpu`` skipping on a
machine without a GPU.

The output samples are laid out exactly as vLLM's ``benchmarks/benchmark_serving.py``,
``benchmark_latency.py`` and ``benchmark_throughput.py`` print them (log lines and
progress bars included), so the patterns are tested on what they will really read.
"""

# ruff: noqa: E501  (the output samples keep vLLM's long lines)
from __future__ import annotations

import json
import shlex
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

from pytest_isobench.dataset.models import MetricSpec
from pytest_isobench.measure.protocol import ProtocolSettings
from pytest_isobench.perf.perftest import parse_report
from pytest_isobench.sandbox import docker_sandbox, gpus, local
from pytest_isobench.sandbox.protocol import ExecResult
from pytest_isobench.serving import metrics, modes, secrets, standin
from pytest_isobench.serving.runner import ServingSession, ServingSpec, measure_variants, run_client
from pytest_isobench.serving.server import ModelServer, ServerError
from pytest_isobench.serving.settings import ServingSettings

if TYPE_CHECKING:
    from pytest_isobench.sandbox.protocol import Sandbox

ROOT = Path(__file__).resolve().parents[2]


def padded(text: str) -> str:
    """vLLM prints each result row as ``{:<40} {:<10}``: put back the trailing spaces."""
    out, inside = [], False
    for line in text.splitlines():
        if "Serving Benchmark Result" in line:
            inside = True
        elif line.startswith("====="):
            inside = False
        elif inside and not line.startswith("-"):
            line = line.ljust(51)
        out.append(line)
    return "\n".join(out) + "\n"


SERVING_OUTPUT = padded("""\
INFO 01-31 21:58:02 __init__.py:183] Automatically detected platform cuda.
Namespace(backend='vllm', base_url=None, host='127.0.0.1', port=8000, endpoint='/v1/completions', dataset=None, dataset_name='random', dataset_path=None, max_concurrency=None, model='meta-llama/Llama-3.1-8B-Instruct', tokenizer=None, best_of=1, use_beam_search=False, num_prompts=300, logprobs=None, request_rate=inf, burstiness=1.0, seed=0, trust_remote_code=False, disable_tqdm=False, profile=False, save_result=False, metadata=None, result_dir=None, result_filename=None, ignore_eos=False, percentile_metrics='ttft,tpot,itl', metric_percentiles='99', goodput=None, sonnet_input_len=550, sonnet_output_len=150, sonnet_prefix_len=200, sharegpt_output_len=None, random_input_len=1024, random_output_len=128, random_range_ratio=1.0, random_prefix_len=0, hf_subset=None, hf_split=None, hf_output_len=None)
Starting initial single prompt test run...
Initial test run completed. Starting main benchmark run...
Traffic request rate: inf
Burstiness factor: 1.0 (Poisson process)
Maximum request concurrency: None
100%|██████████| 300/300 [00:09<00:00, 31.21it/s]
============ Serving Benchmark Result ============
Successful requests:                     300
Benchmark duration (s):                  9.61
Total input tokens:                      307200
Total generated tokens:                  38400
Request throughput (req/s):              31.21
Output token throughput (tok/s):         3995.11
Total Token throughput (tok/s):          35956.00
---------------Time to First Token----------------
Mean TTFT (ms):                          3187.74
Median TTFT (ms):                        3009.83
P99 TTFT (ms):                           6794.17
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          42.91
Median TPOT (ms):                        44.02
P99 TPOT (ms):                           49.87
---------------Inter-token Latency----------------
Mean ITL (ms):                           42.59
Median ITL (ms):                         27.78
P99 ITL (ms):                            220.18
==================================================
""")

# vLLM 0.5: input/output throughput lines, no total; and one value in scientific form.
SERVING_OUTPUT_OLD = """\
Traffic request rate: 1.0
============ Serving Benchmark Result ============
Successful requests:                     1000
Benchmark duration (s):                  1011.84
Total input tokens:                      215196
Total generated tokens:                  198343
Request throughput (req/s):              0.99
Input token throughput (tok/s):          212.68
Output token throughput (tok/s):         196.02
---------------Time to First Token----------------
Mean TTFT (ms):                          23.17
Median TTFT (ms):                        21.61
P99 TTFT (ms):                           44.58
-----Time per Output Token (excl. 1st token)------
Mean TPOT (ms):                          9.06
Median TPOT (ms):                        8.89
P99 TPOT (ms):                           1.2e1
==================================================
"""

LATENCY_OUTPUT = """\
Namespace(model='meta-llama/Meta-Llama-3-8B', tokenizer=None, quantization=None, tensor_parallel_size=1, input_len=32, output_len=128, batch_size=8, n=1, use_beam_search=False, num_iters_warmup=10, num_iters=30, trust_remote_code=False, dtype='auto', enforce_eager=False, load_format='dummy')
INFO 06-12 10:11:02 llm_engine.py:161] Initializing an LLM engine (v0.5.0) with config: model='meta-llama/Meta-Llama-3-8B', load_format=LoadFormat.DUMMY
INFO 06-12 10:11:40 model_runner.py:160] Loading model weights took 14.9595 GB
Warming up...
Warmup iterations: 100%|██████████| 10/10 [00:09<00:00,  1.07it/s]
Profiling iterations: 100%|██████████| 30/30 [00:27<00:00,  1.08it/s]
Avg latency: 0.9251837326337894 seconds
10% percentile latency: 0.9197455629706383 seconds
25% percentile latency: 0.9222052749246359 seconds
50% percentile latency: 0.9245880190283060 seconds
75% percentile latency: 0.9276447547599673 seconds
90% percentile latency: 0.9304539833590388 seconds
99% percentile latency: 0.9359233826398849 seconds
"""

THROUGHPUT_OUTPUT_OLD = """\
Namespace(backend='vllm', dataset=None, input_len=256, output_len=256, model='google/gemma-2b', num_prompts=1000, seed=0)
INFO 03-05 11:02:13 llm_engine.py:87] Initializing an LLM engine with config: model='google/gemma-2b'
Processed prompts: 100%|██████████| 1000/1000 [00:50<00:00, 19.64it/s]
Throughput: 19.63 requests/s, 10050.27 tokens/s
"""

THROUGHPUT_OUTPUT_NEW = """\
Processed prompts: 100%|██████████| 1000/1000 [01:12<00:00, 13.80it/s, est. speed input: 13799.8 toks/s, output: 1379.98 toks/s]
Throughput: 13.79 requests/s, 15169.46 total tokens/s, 1379.04 output tokens/s
Total num prompt tokens:  1000000
Total num output tokens:  100000
"""


# -- metric patterns -------------------------------------------------------------------


def test_serving_block_is_read_in_full() -> None:
    found = metrics.parse_metrics(SERVING_OUTPUT, metrics.SERVING_METRICS)
    assert found == {
        "request_throughput": 31.21,
        "output_token_throughput": 3995.11,
        "total_token_throughput": 35956.00,
        "mean_ttft_ms": 3187.74,
        "median_ttft_ms": 3009.83,
        "p99_ttft_ms": 6794.17,
        "mean_tpot_ms": 42.91,
        "median_tpot_ms": 44.02,
        "p99_tpot_ms": 49.87,
        "mean_itl_ms": 42.59,
        "median_itl_ms": 27.78,
        "p99_itl_ms": 220.18,
    }


def test_older_serving_block_without_total_throughput_or_itl() -> None:
    found = metrics.parse_metrics(SERVING_OUTPUT_OLD)
    assert found["mean_ttft_ms"] == 23.17
    assert found["request_throughput"] == 0.99
    assert found["output_token_throughput"] == 196.02
    assert found["p99_tpot_ms"] == 12.0
    assert "total_token_throughput" not in found and "mean_itl_ms" not in found


def test_directions_latencies_lower_throughputs_higher() -> None:
    for s in metrics.ALL_METRICS:
        expected = "higher" if "throughput" in s.name else "lower"
        assert s.direction == expected, s.name


def test_latency_and_throughput_outputs() -> None:
    lat = metrics.parse_metrics(LATENCY_OUTPUT, metrics.LATENCY_METRICS)
    assert lat == {
        "avg_latency_s": 0.9251837326337894,
        "p50_latency_s": 0.924588019028306,
        "p99_latency_s": 0.9359233826398849,
    }
    old = metrics.parse_metrics(THROUGHPUT_OUTPUT_OLD, metrics.THROUGHPUT_METRICS)
    assert old == {"request_throughput": 19.63, "token_throughput": 10050.27}
    new = metrics.parse_metrics(THROUGHPUT_OUTPUT_NEW, metrics.THROUGHPUT_METRICS)
    assert new == {
        "request_throughput": 13.79,
        "token_throughput": 15169.46,
        "output_token_throughput_offline": 1379.04,
    }
    # the progress bar's "est. speed" must not be read as a result
    assert metrics.parse_metrics("output: 1379.98 toks/s]", metrics.ALL_METRICS) == {}


def test_last_result_block_wins() -> None:
    twice = SERVING_OUTPUT.replace("3187.74", "1.00") + SERVING_OUTPUT
    assert metrics.parse_metrics(twice)["mean_ttft_ms"] == 3187.74


def test_specs_work_with_the_perf_test_protocol_parser() -> None:
    # The lead's suite-level MetricSpec path (perftest.parse_report) reads the same numbers.
    for spec, text, value in (
        (metrics.spec("mean_ttft_ms"), SERVING_OUTPUT, 3187.74),
        (metrics.spec("avg_latency_s"), LATENCY_OUTPUT, 0.9251837326337894),
        (metrics.spec("request_throughput", metrics.THROUGHPUT_METRICS), THROUGHPUT_OUTPUT_NEW, 13.79),
    ):
        assert isinstance(spec, MetricSpec)
        assert parse_report(text, spec).value == value


@pytest.mark.parametrize(
    ("mode", "text", "primary", "value"),
    [
        ("serving", SERVING_OUTPUT, "mean_ttft_ms", 3187.74),
        ("latency", LATENCY_OUTPUT, "avg_latency_s", 0.9251837326337894),
        ("throughput", THROUGHPUT_OUTPUT_OLD, "request_throughput", 19.63),
    ],
)
def test_primary_metric_per_mode(mode: modes.Mode, text: str, primary: str, value: float) -> None:
    assert modes.PRIMARY_METRIC[mode] == primary
    got, found = metrics.require(text, primary, metrics.specs_for(mode))
    assert got == value and found[primary] == value


def test_missing_primary_metric_is_a_clear_error_keeping_the_output() -> None:
    text = SERVING_OUTPUT.replace("Mean TTFT (ms):", "Mean TTFT:")
    with pytest.raises(
        metrics.MetricsError, match=r"primary metric 'mean_ttft_ms' \(Mean TTFT \(ms\):\) not found"
    ) as info:
        metrics.require(text, "mean_ttft_ms", metrics.SERVING_METRICS)
    assert info.value.output == text
    assert info.value.found["median_ttft_ms"] == 3009.83
    assert "P99 ITL (ms):" in str(info.value)  # the output's tail is in the message


# -- modes and identical workloads ---------------------------------------------------


def _records() -> list[dict[str, Any]]:
    return [json.loads(line) for line in (ROOT / "data" / "vllm.jsonl").read_text().splitlines()]


def test_every_vllm_perf_command_is_classified() -> None:
    commands = [r["perf_command"] for r in _records() if r.get("perf_command")]
    counts = {m: sum(modes.classify(c) == m for c in commands) for m in modes.MODES}
    assert sum(counts.values()) == len(commands)
    assert counts["serving"] >= 40 and counts["latency"] >= 8 and counts["throughput"] >= 2
    assert modes.classify("vllm bench serve --model facebook/opt-125m") == "serving"
    assert modes.classify("vllm bench throughput --model Qwen/Qwen3-30B-A3B") == "throughput"
    assert modes.classify("VLLM_USE_V1=1 python3 benchmarks/benchmark_latency.py --model m") == "latency"
    assert modes.classify("python3 -m sglang.bench_serving --backend sglang") == "serving"
    assert modes.classify("python moe_mem.py") == "script"
    assert modes.classify("python 'unbalanced") == "script"
    # every non-script command normalises without error
    for c in commands:
        if modes.classify(c) != "script":
            modes.serving_plan(c)


def test_three_variants_get_identical_commands_but_for_the_checkout() -> None:
    defaults = modes.WorkloadDefaults(num_prompts=300, request_rate="4", seed=7, max_model_len=4096)
    command = "python benchmarks/benchmark_serving.py --model meta-llama/Llama-3.1-8B-Instruct --dtype float16"
    # One plan for every variant (the runner builds it once); each runs it in its own checkout.
    plan = modes.serving_plan(command, defaults)
    assert modes.serving_plan(command, defaults) == plan
    for key, value in (
        ("--num-prompts", "300"),
        ("--request-rate", "4"),
        ("--seed", "7"),
        ("--dataset-name", "random"),
    ):
        assert f"{key} {value}" in plan.client_command
    assert "--model meta-llama/Llama-3.1-8B-Instruct" in plan.client_command
    assert plan.serve_command is not None
    assert "--max-model-len 4096" in plan.serve_command and "--dtype float16" in plan.serve_command
    assert "--dtype" not in plan.client_command and "--max-model-len" not in plan.client_command
    # the same inputs give the same plan, always (nothing per variant or per call goes in)
    assert modes.serving_plan(command, defaults) == plan


def test_the_record_wins_over_defaults_except_model_override() -> None:
    command = (
        "python benchmarks/benchmark_serving.py --model m/a --dataset ShareGPT.json --num-prompts 100 "
        "--input-len 1000 --output-len 50 -tp 2 [--use-v2-block-manager]"
    )
    plan = modes.serving_plan(command, modes.WorkloadDefaults(num_prompts=5))
    assert "--num-prompts 100" in plan.client_command
    assert "--dataset-name sharegpt --dataset-path ShareGPT.json" in plan.client_command
    assert "--random-input-len 1000 --random-output-len 50" in plan.client_command
    assert plan.serve_command is not None and "--tensor-parallel-size 2" in plan.serve_command
    assert plan.notes == ("dropped '[--use-v2-block-manager]' from the perf command",)
    pinned = modes.serving_plan(command, modes.WorkloadDefaults(model="m/b", client_script="_isobench_client.py"))
    assert pinned.client_command.startswith("python3 _isobench_client.py --model m/b ")
    assert pinned.serve_command is not None and "--model m/b" in pinned.serve_command


def test_offline_modes_run_one_command_with_defaults() -> None:
    lat = modes.serving_plan(
        'VLLM_USE_V1=1 python3 benchmarks/benchmark_latency.py --model "/data/x" --input_len 1000 --batch_size 32',
        modes.WorkloadDefaults(model="meta-llama/Llama-3.1-8B-Instruct", max_model_len=2048, load_format="dummy"),
    )
    assert lat.mode == "latency" and lat.serve_command is None and lat.primary_metric == "avg_latency_s"
    assert lat.client_command == (
        "VLLM_USE_V1=1 python3 benchmarks/benchmark_latency.py --model meta-llama/Llama-3.1-8B-Instruct "
        "--max-model-len 2048 --input-len 1000 --batch-size 32 --load-format dummy"
    )
    thr = modes.serving_plan(
        "vllm bench throughput --model q --load-format dummy", modes.WorkloadDefaults(load_format="never")
    )
    assert thr.client_command == "vllm bench throughput --model q --num-prompts 200 --seed 0"
    with pytest.raises(ValueError, match="names no --model"):
        modes.serving_plan("python benchmarks/benchmark_serving.py --num-prompts 3")


# -- secrets ---------------------------------------------------------------------------


def test_gated_model_without_token_fails_before_anything_starts() -> None:
    with pytest.raises(secrets.SecretError, match=r"'meta-llama/Llama-3.1-8B-Instruct' is gated .* set HF_TOKEN"):
        secrets.check_models(["facebook/opt-125m", "meta-llama/Llama-3.1-8B-Instruct"], env={})
    assert secrets.check_models(["facebook/opt-125m", "/data/local/model"], env={}) is None
    assert secrets.check_models(["meta-llama/Llama-3.1-8B-Instruct"], env={"HF_TOKEN": "hf_x"}) == "hf_x"
    assert secrets.check_models(["meta-llama/L"], env={}, cached=["meta-llama/L"]) is None


def test_token_goes_to_the_downloader_only() -> None:
    envs = secrets.variant_envs(["baseline", "human", "agent"], "hf_secret")
    assert envs["baseline"] == {"HF_HOME": secrets.HF_HOME, "HF_TOKEN": "hf_secret"}
    for other in ("human", "agent"):
        assert "HF_TOKEN" not in envs[other] and envs[other]["HF_HUB_OFFLINE"] == "1"
    assert "HF_TOKEN" not in secrets.variant_envs(["baseline"], None)["baseline"]
    assert secrets.redact("token=hf_secret!", "hf_secret") == "token=***!"


# -- server and session, with a scripted sandbox ----------------------------------------


@dataclass
class FakeSandbox:
    """Answers ``exec`` from a script of (substring -> result); records every command."""

    answers: list[tuple[str, ExecResult]] = field(default_factory=list)
    commands: list[tuple[str, dict[str, str] | None]] = field(default_factory=list)
    workdir: str = "/work/repo"

    def exec(self, command: str, timeout_s: float, env: dict[str, str] | None = None) -> ExecResult:
        self.commands.append((command, env))
        for key, result in self.answers:
            if key in command:
                return result
        return ExecResult(0, "", "", 0.01)


def box(*answers: tuple[str, ExecResult]) -> Sandbox:
    """A scripted sandbox, typed as the protocol (it implements only ``exec``)."""
    return cast("Sandbox", FakeSandbox(list(answers)))


def commands(sandbox: Sandbox) -> list[tuple[str, dict[str, str] | None]]:
    return cast("FakeSandbox", sandbox).commands


def ok(stdout: str = "") -> ExecResult:
    return ExecResult(0, stdout, "", 0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s


def test_server_never_healthy_is_killed_at_its_limit_with_its_log() -> None:
    sandbox = box(
        ("setsid", ok("4242\n")),
        ("urllib", ExecResult(1, "Connection refused", "", 0.01)),
        ("tail -n", ok("Loading model weights... 9.5s\nLoading model weights... 10.0s")),
    )
    clock = FakeClock()
    server = ModelServer(
        sandbox,
        "vllm serve m --port 8000",
        settings=ServingSettings(startup_timeout_s=10, poll_s=1),
        clock=clock,
        sleep=clock.sleep,
        env={"HF_TOKEN": "t"},
    )
    with pytest.raises(ServerError, match=r"start-up limit of 10 s and was killed") as info:
        server.start()
    assert "Loading model weights... 10.0s" in str(info.value) and "10.0s" in info.value.log
    assert any("kill -TERM -4242" in c for c, _ in commands(sandbox))
    assert server.pid is None and server.polls == 11
    # the token went to the launch only
    assert [env for c, env in commands(sandbox) if env] == [{"HF_TOKEN": "t"}]


def test_server_that_exits_is_reported_at_once() -> None:
    sandbox = box(
        ("setsid", ok("77\n")),
        ("kill -0 -77 2>/dev/null ||", ExecResult(3, "gone", "", 0.01)),
        ("tail", ok("CUDA out of memory")),
    )
    clock = FakeClock()
    server = ModelServer(
        sandbox, "vllm serve m", settings=ServingSettings(startup_timeout_s=100), clock=clock, sleep=clock.sleep
    )
    with pytest.raises(ServerError, match=r"exited before it became healthy.*\n.*CUDA out of memory"):
        server.start()
    assert server.polls == 1 and clock.now == 0


def test_session_failed_start_gives_failed_measurements_and_keeps_the_log() -> None:
    sandbox = box(
        ("setsid", ok("5\n")), ("kill -0 -5 2>/dev/null ||", ExecResult(3, "", "", 0.0)), ("tail", ok("boom"))
    )
    spec = ServingSpec(
        mode="serving",
        client_command="python3 client.py",
        serve_command="vllm serve m",
        server=ServingSettings(startup_timeout_s=5),
    )
    with ServingSession(sandbox, spec) as session:
        m = session.run_once()
    assert m.value is None and m.error is not None and "server start failed" in m.error and "boom" in m.error
    assert session.as_record()["server_log"] == "boom"
    assert not any("python3 client.py" in c for c, _ in commands(sandbox))


def test_missing_primary_metric_is_a_failed_measurement_with_the_output() -> None:
    broken = SERVING_OUTPUT.replace("Mean TTFT (ms):", "Mean TTFT:")
    sandbox = box(("client.py", ok(broken)))
    spec = ServingSpec(mode="serving", client_command="python3 client.py", serve_command="s")
    m, record = run_client(sandbox, spec)
    assert m.value is None and m.error is not None and "primary metric 'mean_ttft_ms'" in m.error
    assert record.output is not None and broken in record.output
    good, record = run_client(box(("client.py", ok(SERVING_OUTPUT))), spec)
    assert good.value == 3187.74 and record.metrics["p99_itl_ms"] == 220.18 and record.output is None


def test_measure_variants_refuses_different_commands() -> None:
    a = ServingSpec(mode="latency", client_command="python3 b.py --num-prompts 1")
    b = ServingSpec(mode="latency", client_command="python3 b.py --num-prompts 2")
    with pytest.raises(ValueError, match="identical benchmark commands"):
        measure_variants({"baseline": box(), "human": box()}, {"baseline": a, "human": b}, ProtocolSettings())


def test_offline_latency_through_the_protocol() -> None:
    sandbox = box(("benchmark_latency", ok(LATENCY_OUTPUT)))
    spec = ServingSpec(mode="latency", client_command="python3 benchmarks/benchmark_latency.py --model m")
    out = measure_variants(
        {"baseline": sandbox, "human": sandbox}, spec, ProtocolSettings(warmup=0, min_rounds=2, max_rounds=2)
    )
    assert out.result.values("baseline") == [0.9251837326337894] * 2
    assert out.sessions["human"]["runs"][0]["metrics"]["p99_latency_s"] == 0.9359233826398849


# -- the stand-ins as local processes ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_standins_locally(tmp_path: Path) -> None:
    for name in (standin.SERVER_FILE, standin.CLIENT_FILE):
        (tmp_path / name).write_text(standin.source(name))
    (tmp_path / "standin_config.py").write_text("LATENCY_MS = 30\n")
    port = _free_port()
    cmd = standin.serve_command("demo/tiny", port, sys.executable, "--dtype", "float16")
    server = subprocess.Popen(
        shlex.split(cmd), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "stand-in server did not listen"
                time.sleep(0.05)
        client = subprocess.run(
            [
                sys.executable,
                standin.CLIENT_FILE,
                "--model",
                "demo/tiny",
                "--port",
                str(port),
                "--num-prompts",
                "10",
                "--dataset-name",
                "random",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
    finally:
        server.terminate()
        log, _ = server.communicate(timeout=10)
    found = metrics.parse_metrics(client.stdout, metrics.SERVING_METRICS)
    assert set(found) == {s.name for s in metrics.SERVING_METRICS}
    assert found["mean_ttft_ms"] >= 30  # the configured latency; no upper bound: shared machines are slow
    assert "Successful requests:                     10" in client.stdout
    assert "latency 30 ms (from standin_config.LATENCY_MS)" in log and "'--dtype', 'float16'" in log


# -- GPU tasks on a machine without a GPU -------------------------------------------------


def test_vllm_gpu_tasks_skip_without_gpu_and_start_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    (pytester.path / "data").mkdir()
    (pytester.path / "tasks").mkdir()
    shutil.copy(ROOT / "data" / "vllm.jsonl", pytester.path / "data" / "vllm.jsonl")
    shutil.copy(ROOT / "tasks" / "vllm.yaml", pytester.path / "tasks" / "vllm.yaml")
    started: list[str] = []
    monkeypatch.setattr(gpus, "visible_gpus", lambda: 0)  # the same answer on a GPU machine
    monkeypatch.setattr(docker_sandbox.DockerSandbox, "start", lambda self: started.append("docker"))
    monkeypatch.setattr(local.LocalSandbox, "start", lambda self: started.append("local"))
    result = pytester.runpytest("tasks/vllm.yaml", "-m", "gpu", "-rs", "-p", "no:cacheprovider")
    result.assert_outcomes(skipped=99)
    skips = [line for line in result.outlines if line.startswith("SKIPPED")]
    assert len(skips) == 99
    assert all(line.endswith("needs 1 GPU(s), 0 visible here") for line in skips)
    assert started == []


def test_serving_settings_are_defined_once_and_reach_the_server() -> None:
    """The suite's flat keys, the plan, the spec and the server share one ``ServingSettings``."""
    defaults = modes.WorkloadDefaults(port=8123, startup_timeout_s=42, health_path="/ready")
    plan = modes.serving_plan("vllm bench serve --model m", defaults)
    assert plan.server == ServingSettings(port=8123, startup_timeout_s=42, health_path="/ready")
    spec = ServingSpec.from_plan(plan)
    assert spec.server is plan.server
    assert modes.WorkloadDefaults().server == ServingSettings()
    server = ModelServer(box(), "vllm serve m", settings=spec.server)
    assert server.url == "http://127.0.0.1:8123/ready"
    with pytest.raises(ValueError, match="health_path"):
        ServingSettings(health_path="ready")
