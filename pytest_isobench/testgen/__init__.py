"""Perf tests written by an LLM for tasks that have none, cached in ``generated_tests/``.

:mod:`.prompt` fills the versioned template from what a task knows; :mod:`.generate`
asks an OpenAI-compatible model for many tasks at once and checks each answer statically;
:mod:`.cache` keeps the results (``generated_tests/<suite>/<item id>.py``, a header with
model, prompt version and date) and :mod:`.validate` runs a new test on baseline and
human in their sandboxes before it is trusted. Nothing here imports ``openai`` or pytest
at import time; modes are ``never`` (the default without a model), ``missing`` and ``all``.
"""

from __future__ import annotations

from .cache import (
    GENERATED_DIR,
    CachedTest,
    Header,
    cache_path,
    cached_ids,
    cached_test,
    default_root,
    load_cached,
    rejected_path,
    rejected_reason,
)
from .generate import MODES, Generator, GenJob, GenOutcome, extract_code, generate_missing, static_problem
from .prompt import PROMPT_VERSION, RepoContext, render_prompt, repo_context
from .validate import RegenOutcome, ValidationResult, ensure_valid, regenerate_on_failure, validate_in_sandboxes

__all__ = [
    "GENERATED_DIR",
    "MODES",
    "PROMPT_VERSION",
    "CachedTest",
    "GenJob",
    "GenOutcome",
    "Generator",
    "Header",
    "RegenOutcome",
    "RepoContext",
    "ValidationResult",
    "cache_path",
    "cached_ids",
    "cached_test",
    "default_root",
    "ensure_valid",
    "extract_code",
    "generate_missing",
    "load_cached",
    "regenerate_on_failure",
    "rejected_path",
    "rejected_reason",
    "render_prompt",
    "repo_context",
    "static_problem",
    "validate_in_sandboxes",
]
