"""Perf-test generation against a loopback OpenAI-compatible server, and its validation.

Every request goes to :class:`tests.fake_openai.FakeOpenAI` on 127.0.0.1; the end-to-end
test validates the demo's own perf test (the scripted answer) in local sandboxes.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeOpenAI

from pytest_isobench.dataset.models import PerfTest, Task
from pytest_isobench.demo import demo_repo
from pytest_isobench.redact import public_endpoint
from pytest_isobench.sandbox.local import LocalSandbox
from pytest_isobench.sandbox.protocol import SandboxSpec, Variant
from pytest_isobench.testgen import cache
from pytest_isobench.testgen.generate import Generator, GenJob, generate_missing, static_problem
from pytest_isobench.testgen.prompt import PROMPT_VERSION, render_prompt, repo_context
from pytest_isobench.testgen.validate import ensure_valid

DATASET = Path(__file__).resolve().parents[2] / "data" / "demo.jsonl"
KEY = "sk-test-SECRET-4f1c9a"
GOOD = """\
import hashlib, json, time

def main():
    start = time.perf_counter()
    result = sorted(range(1000))
    elapsed = time.perf_counter() - start
    print(json.dumps({"time_s": elapsed, "digest": hashlib.sha256(repr(result).encode()).hexdigest()}))

if __name__ == "__main__":
    main()
"""


def fenced(code: str) -> str:
    return f"Here is the test.\n\n```python\n{code}```\n"


def make_task(number: int = 0, **kwargs: Any) -> Task:
    return Task(
        instance_id=f"t-{number}",
        head_commit=f"{number:08x}" + "ab" * 16,
        subject=f"perf: faster thing {number}",
        apis=["pkg.mod.fast"],
        files_changed=["pkg/mod.py"],
        **kwargs,
    )


def job(number: int = 0, **kwargs: Any) -> GenJob:
    task = make_task(number)
    return GenJob(item_id=f"demo-{task.head_commit[:8]}", suite="demo", task=task, allowed_imports=["pkg"], **kwargs)


def gen(jobs: list[GenJob], server: FakeOpenAI, root: Path, **kwargs: Any) -> dict[str, Any]:
    options: dict[str, Any] = dict(model="fake-model", base_url=server.url, api_key=KEY, root=root, backoff_s=0.01)
    options.update(kwargs)
    return generate_missing(jobs, **options)


def user_texts(body: dict[str, Any]) -> list[str]:
    return [str(m["content"]) for m in body["messages"] if m["role"] == "user"]


def test_generation_writes_the_file_with_its_header_and_a_second_run_sends_nothing(tmp_path: Path) -> None:
    one = job()
    with FakeOpenAI([fenced(GOOD)]) as server:
        first = gen([one], server, tmp_path)
        assert len(server.requests) == 1
        second = gen([one], server, tmp_path)
        assert len(server.requests) == 1, "the cached test must be used without a request"
    outcome = first[one.item_id]
    assert outcome.status == "generated", outcome.reason
    path = tmp_path / "demo" / f"{one.item_id}.py"
    assert outcome.path == path
    text = path.read_text()
    header = cache.read_header(text)
    assert header is not None
    assert header["model"] == "fake-model"
    assert header["prompt-version"] == PROMPT_VERSION
    assert header["date"].endswith("Z")
    assert cache.strip_header(text) == GOOD
    assert second[one.item_id].status == "cached"
    assert cache.cached_test(tmp_path, "demo", one.item_id) == second[one.item_id].test
    prompt = user_texts(server.requests[0])[0]
    assert "perf: faster thing 0" in prompt and "pkg.mod.fast" in prompt and "check_equivalence(current" in prompt


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("I would rather not write code.", "no ```python code block"),
        (fenced("def main(:\n    pass\n"), "does not compile"),
        (fenced("import numpy\nimport json\nprint(json.dumps({'time_s': 1, 'digest': 'x'}))\n"), "numpy (line 1)"),
    ],
    ids=["no-code-block", "syntax-error", "import-outside"],
)
def test_an_answer_failing_the_static_checks_is_retried_with_the_reason(tmp_path: Path, bad: str, reason: str) -> None:
    one = job()
    with FakeOpenAI([bad, fenced(GOOD)]) as server:
        outcomes = gen([one], server, tmp_path)
    outcome = outcomes[one.item_id]
    assert outcome.status == "generated"
    assert outcome.answers == 2 and len(server.requests) == 2
    assert outcome.code == GOOD
    retry = user_texts(server.requests[1])[-1]
    assert "rejected" in retry and reason in retry
    assert [m["role"] for m in server.requests[1]["messages"]][-2:] == ["assistant", "user"]


def test_the_repositorys_packages_and_the_standard_library_may_be_imported() -> None:
    code = "import json, os.path\nfrom pkg.mod import fast\nprint(json.dumps({'time_s': 1, 'digest': 'x'}))\n"
    assert static_problem(fenced(code), ["pkg"]) == (code, None)
    _code, problem = static_problem(fenced("from . import x\n" + code), ["pkg"])
    assert problem is not None and ". (line 1)" in problem


def test_answers_that_never_pass_are_kept_under_rejected_and_not_asked_again(tmp_path: Path) -> None:
    one = job()
    with FakeOpenAI(["no code"]) as server:
        outcome = gen([one], server, tmp_path, attempts=2)[one.item_id]
        assert outcome.status == "rejected" and "no ```python code block" in outcome.reason
        assert len(server.requests) == 2
        kept = cache.rejected_path(tmp_path, "demo", one.item_id)
        assert kept.is_file() and not cache.cache_path(tmp_path, "demo", one.item_id).exists()
        again = gen([one], server, tmp_path)[one.item_id]
        assert again.status == "rejected" and len(server.requests) == 2
        assert "--isobench-generate=all" in again.reason
        gen([one], server, tmp_path, mode="all", attempts=2)
        assert len(server.requests) == 4


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_retried(tmp_path: Path, status: int) -> None:
    one = job()
    with FakeOpenAI([fenced(GOOD)], fail_first=2, status=status) as server:
        outcome = gen([one], server, tmp_path)[one.item_id]
    assert outcome.status == "generated"
    assert outcome.requests == 3 and outcome.answers == 1


def test_a_server_that_keeps_failing_skips_with_the_reason(tmp_path: Path) -> None:
    jobs = [job(n) for n in range(3)]
    with FakeOpenAI([fenced(GOOD)], fail_first=100, status=502) as server:
        outcomes = gen(jobs, server, tmp_path, max_retries=2)
    assert {o.status for o in outcomes.values()} == {"skip"}
    assert "kept failing (502)" in outcomes[jobs[0].item_id].reason


def test_no_key_skips_with_the_fix_and_sends_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    one = job()
    with FakeOpenAI([fenced(GOOD)]) as server:
        outcome = gen([one], server, tmp_path, api_key=None)[one.item_id]
        assert server.requests == []
    assert outcome.status == "skip"
    assert "OPENAI_API_KEY" in outcome.reason and "--isobench-generate=never" in outcome.reason


def test_an_unreachable_server_skips_every_job_quickly(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    jobs = [job(n) for n in range(10)]
    begin = time.perf_counter()
    outcomes = generate_missing(
        jobs, model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, root=tmp_path, backoff_s=0.01
    )
    assert time.perf_counter() - begin < 10
    assert {o.status for o in outcomes.values()} == {"skip"}
    assert all("cannot reach" in o.reason and "OPENAI_BASE_URL" in o.reason for o in outcomes.values())


def test_a_hanging_server_hits_the_timeout(tmp_path: Path) -> None:
    jobs = [job(n) for n in range(4)]
    with FakeOpenAI([fenced(GOOD)], delay_s=3) as server:
        begin = time.perf_counter()
        outcomes = gen(jobs, server, tmp_path, timeout_s=0.5, concurrency=2)
        elapsed = time.perf_counter() - begin
    assert elapsed < 2.5, "once the endpoint timed out the remaining jobs must skip at once"
    assert {o.status for o in outcomes.values()} == {"skip"}
    assert all("did not answer within 0.5 s" in o.reason for o in outcomes.values())


def test_generation_runs_concurrently(tmp_path: Path) -> None:
    jobs = [job(n) for n in range(20)]
    with FakeOpenAI([fenced(GOOD)], delay_s=0.5) as server:
        begin = time.perf_counter()
        outcomes = gen(jobs, server, tmp_path, concurrency=8)
        elapsed = time.perf_counter() - begin
        assert len(server.requests) == 20
    assert {o.status for o in outcomes.values()} == {"generated"}
    assert elapsed < 20 * 0.5 / 3, f"20 requests of 0.5 s took {elapsed:.2f}s: not concurrent"


def test_hand_written_tests_win_unless_mode_all(tmp_path: Path) -> None:
    mine, recorded = job(1), job(2)
    recorded = GenJob(
        item_id=recorded.item_id,
        suite="demo",
        task=make_task(2, perf_tests=[PerfTest(name="p", script=GOOD)]),
    )
    path = cache.cache_path(tmp_path, "demo", mine.item_id)
    path.parent.mkdir(parents=True)
    path.write_text("# mine\n" + GOOD)
    with FakeOpenAI([fenced(GOOD)]) as server:
        outcomes = gen([mine, recorded], server, tmp_path)
        assert server.requests == []
        assert outcomes[mine.item_id].status == "cached"
        assert outcomes[recorded.item_id].status == "dataset"
        assert path.read_text() == "# mine\n" + GOOD
        found = cache.load_cached(tmp_path, "demo", mine.item_id)
        assert found is not None and not found.generated and found.validated
        again = gen([mine, recorded], server, tmp_path, mode="all")
        assert len(server.requests) == 1 and again[recorded.item_id].status == "dataset"
    assert cache.read_header(path.read_text()) is not None


def test_the_key_appears_in_no_written_file_and_no_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    jobs = [job(n) for n in range(3)]
    answers: list[Any] = ["no code", fenced(GOOD)]
    with FakeOpenAI(answers, fail_first=1) as server:
        outcomes = gen(jobs, server, tmp_path)
    with FakeOpenAI(["no code"]) as server:
        outcomes.update(gen([job(9)], server, tmp_path, attempts=1))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 4
    for path in written:
        assert KEY not in path.read_text(), path
    assert KEY not in caplog.text
    assert all(KEY not in o.reason for o in outcomes.values())
    assert public_endpoint(f"http://user:{KEY}@host:8000/v1?key={KEY}") == "http://host:8000/v1"


def test_the_prompt_holds_the_diff_message_files_sources_and_protocol() -> None:
    task = make_task(extra={"commit_message": "perf: faster thing\n\nUse a set instead of a list."})
    text = render_prompt(
        task,
        diff="--- a/pkg/mod.py\n+++ b/pkg/mod.py\n@@ -1 +1 @@\n-x\n+y\n",
        sources={"pkg/mod.py": "def fast():\n    return 1\n" * 5000},
        allowed_imports=["pkg"],
    )
    assert "Use a set instead of a list." in text
    assert "+++ b/pkg/mod.py" in text and "`pkg/mod.py`:" in text and "more characters not shown" in text
    assert "- pkg.mod.fast" in text and "- pkg/mod.py" in text
    assert "Allowed imports: the Python standard library" in text and "pkg" in text
    assert "`setup()`" in text and "`experiment(data)`" in text and "${" not in text


# --- end to end on the demo project -------------------------------------------------


def _demo_record() -> dict[str, Any]:
    for line in DATASET.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["instance_id"] == "demo-unique-seen-set":
            return dict(record)
    raise AssertionError("demo-unique-seen-set missing from data/demo.jsonl")


@pytest.fixture(scope="module")
def demo_clone(tmp_path_factory: pytest.TempPathFactory) -> Path:

    return demo_repo(tmp_path_factory.mktemp("cache"))


def _sandboxes(repo: Path, record: dict[str, Any], root: Path, item_id: str) -> tuple[Any, Any]:

    def make(variant: Variant, commit: str) -> LocalSandbox:
        spec = SandboxSpec(task_id=item_id, variant=variant, repo_dir=repo, commit=commit, run_id="testgen")
        return LocalSandbox(spec, root)

    return make("baseline", record["base_commit"]), make("human", record["head_commit"])


def _demo_job(repo: Path, record: dict[str, Any]) -> GenJob:
    task = Task(**{k: v for k, v in record.items() if k not in ("perf_tests", "human_performance")})
    assert not task.perf_tests
    return GenJob(
        item_id=f"demo-{task.head_commit[:8]}",
        suite="demo",
        task=task,
        python=sys.executable,
        context=lambda: repo_context(repo, record["base_commit"], record["head_commit"], task.files_changed),
    )


@pytest.mark.slow
def test_a_generated_demo_test_validates_end_to_end_and_finds_the_speedup(demo_clone: Path, tmp_path: Path) -> None:
    record = _demo_record()
    one = _demo_job(demo_clone, record)
    script = record["perf_tests"][0]["script"]
    root = tmp_path / "generated_tests"
    with FakeOpenAI([fenced(script)]) as server:
        outcome = gen([one], server, root)[one.item_id]
    assert outcome.status == "generated", outcome.reason
    prompt = user_texts(server.requests[0])[0]
    assert "textkit" in prompt and "seen" in prompt  # packages and the human diff reached the prompt
    baseline, human = _sandboxes(demo_clone, record, tmp_path / "wt", one.item_id)
    try:
        baseline.start()
        human.start()
        result = ensure_valid(
            baseline, human, root=root, suite="demo", item_id=one.item_id, python=sys.executable, timeout_s=120
        )
    finally:
        baseline.close()
        human.close()
    assert result.ok, result.reason
    assert result.result is not None and (result.result.speedup or 0) > 2
    found = cache.load_cached(root, "demo", one.item_id)
    assert found is not None and found.validated
    assert "speedup" in (found.header or {}).get("validated", "")


@pytest.mark.slow
def test_a_test_failing_validation_is_regenerated_with_the_failure(demo_clone: Path, tmp_path: Path) -> None:
    record = _demo_record()
    one = _demo_job(demo_clone, record)
    good = record["perf_tests"][0]["script"]
    # It hashes the changed file itself: the digests differ between the commits.
    idle = GOOD.replace("sorted(range(1000))", "open('textkit/dedup.py').read()")
    root = tmp_path / "generated_tests"
    with FakeOpenAI([fenced(idle), fenced(good)]) as server:
        generator = Generator(model="fake-model", base_url=server.url, api_key=KEY, root=root, backoff_s=0.01)
        assert generator.generate(one).status == "generated"

        def ask_again(previous: str, failure: str) -> str | None:
            return generator.revise(one, previous, failure).code

        baseline, human = _sandboxes(demo_clone, record, tmp_path / "wt", one.item_id)
        try:
            baseline.start()
            human.start()
            result = ensure_valid(
                baseline,
                human,
                root=root,
                suite="demo",
                item_id=one.item_id,
                python=sys.executable,
                timeout_s=120,
                ask_again=ask_again,
            )
        finally:
            baseline.close()
            human.close()
        generator.close()
    assert result.ok, result.reason
    assert result.attempts == 2
    assert len(server.requests) == 2
    assert "the digests differ" in user_texts(server.requests[1])[-1]
    found = cache.load_cached(root, "demo", one.item_id)
    assert found is not None and found.validated and cache.strip_header(found.test.script or "") == good
    assert cache.read_header(found.test.script or "") is not None


def test_a_test_that_never_validates_is_moved_to_rejected(demo_clone: Path, tmp_path: Path) -> None:
    record = _demo_record()
    one = _demo_job(demo_clone, record)
    root = tmp_path / "generated_tests"
    crash = "import json\nprint(json.dumps({'time_s': 1.0, 'digest': 'x'}))\nraise SystemExit(3)\n"
    cache.write_test(root, "demo", one.item_id, crash, cache.Header(model="m", prompt_version="1"))
    baseline, human = _sandboxes(demo_clone, record, tmp_path / "wt", one.item_id)
    try:
        baseline.start()
        human.start()
        result = ensure_valid(
            baseline,
            human,
            root=root,
            suite="demo",
            item_id=one.item_id,
            python=sys.executable,
            timeout_s=60,
            attempts=2,
            ask_again=lambda previous, failure: previous,
        )
    finally:
        baseline.close()
        human.close()
    assert not result.ok
    assert "exit status 3" in result.reason and result.attempts == 2
    assert not cache.cache_path(root, "demo", one.item_id).exists()
    reason = cache.rejected_reason(root, "demo", one.item_id)
    assert reason is not None and "never validated" in reason


SHAPED = """\
import json
from pkg.mod import fast

def setup():
    return list(range(1000))

def experiment(data):
    return sorted(data)

def store_result(result, filename):
    with open(filename, "w") as fh:
        json.dump(result, fh)

def load_result(filename):
    with open(filename) as fh:
        return json.load(fh)

def check_equivalence(current, reference):
    assert current == reference, "sorted lists differ"
"""


def test_prompt_v2_answers_in_the_setup_experiment_shape_need_their_equivalence_functions() -> None:
    assert static_problem(fenced(SHAPED), ["pkg"]) == (SHAPED, None)
    lacking = SHAPED.replace("def check_equivalence", "def other")
    assert static_problem(fenced(lacking), ["pkg"])[1] == (
        "it defines no check_equivalence (top-level functions): the result cannot be checked"
    )
    assert static_problem(fenced("import json\nprint(json.dumps({'time_s': 1}))\n"), [])[1] == (
        "it defines no top-level setup() and experiment(data) (the shape asked for)"
    )


def test_a_rejection_under_another_prompt_version_does_not_stop_a_new_prompt(tmp_path: Path) -> None:
    one = job()
    old = cache.Header(model="m", prompt_version="1", rejected="no digest")
    path = cache.rejected_path(tmp_path, "demo", one.item_id)
    path.parent.mkdir(parents=True)
    path.write_text(old.render(one.item_id) + "print(1)\n")
    assert cache.rejected_reason(tmp_path, "demo", one.item_id) == "no digest"
    assert cache.rejected_reason(tmp_path, "demo", one.item_id, PROMPT_VERSION) is None
    assert cache.rejected_reason(tmp_path, "demo", one.item_id, "1") == "no digest"
