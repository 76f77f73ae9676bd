"""Model servers that misbehave, for real on 127.0.0.1: test generation and the LLM judge.

5xx, 429 with Retry-After, a server that never answers, a body cut short and an HTML body:
each client retries a bounded number of times with a pause between tries (Retry-After
honoured), then gives up with an error naming the URL and the last status, and never with
the key in it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from misbehaving_server import Misbehaving

from pytest_isobench.report.soft import Judge, JudgeError
from pytest_isobench.testgen.generate import Generator, Unavailable

KEY = "sk-decoy-0123456789abcdef0123456789abcdef"
MESSAGES = [{"role": "user", "content": "write a perf test"}]
JUDGEMENT = (
    '{"bottleneck": "same", "approach": "similar", "speedup_likelihood": 0.9, "failure_mode": "none", '
    '"quality": {"correctness": 9, "readability": 8, "maintainability": 8, "generality": 7}}'
)


def _generator(server: Misbehaving, **kw: float) -> Generator:
    opts = {"timeout_s": 1.0, "max_retries": 3, "backoff_s": 0.05, **kw}
    return Generator(model="m", base_url=server.url, api_key=KEY, attempts=1, **opts)  # type: ignore[arg-type]


def _judge(server: Misbehaving, tmp_path: Path) -> Judge:
    return Judge(model="m", cache_dir=tmp_path, base_url=server.url, api_key=KEY, timeout_s=1.0, max_retries=2)


def _gaps(server: Misbehaving) -> list[float]:
    return [b - a for a, b in zip(server.times, server.times[1:], strict=False)]


@pytest.mark.parametrize("fault", ["503", "truncated"])
def test_testgen_retries_a_transient_fault_then_gets_the_answer(fault: str) -> None:
    with Misbehaving([fault, fault, "ok"], answer="print(1)") as server:
        text, sent = _generator(server).ask(MESSAGES)
    assert (text, sent) == ("print(1)", 3)
    assert all(auth == f"Bearer {KEY}" for auth in server.auth)


def test_testgen_waits_as_long_as_retry_after_says() -> None:
    with Misbehaving(["429:1", "ok"], answer="print(1)") as server:
        text, sent = _generator(server).ask(MESSAGES)
    assert text == "print(1)" and sent == 2 and _gaps(server)[0] >= 0.95


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        (["500"], "kept failing (500) after 4 requests"),
        (["hang"], "did not answer within 1 s"),
        (["html"], "body that is not JSON"),
    ],
    ids=["5xx", "timeout", "html"],
)
def test_testgen_gives_up_naming_the_url_and_status(script: list[str], expected: str) -> None:
    with Misbehaving(script, hang_s=3) as server:
        gen = _generator(server)
        with pytest.raises(Unavailable) as info:
            gen.ask(MESSAGES)
    message = str(info.value)
    assert server.url in message and expected in message, message
    assert KEY not in message
    assert len(server.times) == (1 if script == ["hang"] else 4)
    if script != ["hang"]:
        assert 0 < _gaps(server)[0] < _gaps(server)[-1], "no backoff between tries"


def test_judge_retries_then_answers(tmp_path: Path) -> None:
    with Misbehaving(["503", "429:1", "ok"], answer=JUDGEMENT) as server:
        judgement, cached = _judge(server, tmp_path).judge("a", "b")
    assert judgement.bottleneck == "same" and not cached
    assert len(server.times) == 3 and _gaps(server)[1] >= 0.95


@pytest.mark.parametrize(
    ("script", "expected"),
    [(["500"], "last status 500"), (["hang"], "timed out"), (["html"], "not JSON"), (["truncated"], "connection")],
    ids=["5xx", "timeout", "html", "truncated"],
)
def test_judge_gives_up_naming_the_url_and_status(tmp_path: Path, script: list[str], expected: str) -> None:
    with Misbehaving(script, hang_s=3) as server:
        judge = _judge(server, tmp_path)
        with pytest.raises(JudgeError) as info:
            judge.judge("a", "b")
    message = str(info.value)
    assert server.url in message and expected.lower() in message.lower(), message
    assert KEY not in message
    assert len(server.times) <= 3  # bounded: one try and at most two retries
    assert not list(tmp_path.glob("*.json")), "a failed answer must not be cached"
