"""Secrets never reach a record: values of secret-looking variables are masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_isobench.redact import MASK, redact, secret_values
from pytest_isobench.results.store import write_record


def test_secret_values_are_masked_in_written_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-test-0123456789abcdef"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("HF_TOKEN", "hf_abcdefghijklmnop")
    record = {
        "item_id": "demo-1",
        "status": "failed",
        "verdict": None,
        "agent_logs": f"using key {key}\nAuthorization: Bearer hf_abcdefghijklmnop",
        "nested": [{"cmd": f"curl -H {key}"}],
    }
    path = write_record(tmp_path, record)
    text = path.read_text()
    assert key not in text
    assert "hf_abcdefghijklmnop" not in text
    assert json.loads(text)["agent_logs"].count(MASK) == 2


def test_short_and_non_secret_values_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", "abc")  # too short to be a credential
    monkeypatch.setenv("PATH_LIKE", "/usr/local/bin/something-long")
    assert "abc" not in secret_values()
    assert redact({"a": "abc /usr/local/bin/something-long"}) == {"a": "abc /usr/local/bin/something-long"}
