"""Hugging Face credentials and model fetching for serving tasks.

``HF_TOKEN`` goes into the environment of the one process that downloads the model (the
first variant's server or benchmark, which fills the shared ``HF_HOME`` cache) and of no
other container or command; the others read the cache offline. A model that needs a token
when none is given is an error raised before any container starts, naming the model and the
variable. ``--load-format dummy`` (random weights, no weight download; ``modes.serving_plan``
adds it) is used where the suite allows it; configuration and tokenizer files are still
fetched, so a gated model still needs the token once. Nothing here talks to the network.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

TOKEN_ENV = "HF_TOKEN"
HF_HOME = "/root/.cache/huggingface"
GATED_PREFIXES: tuple[str, ...] = (
    "meta-llama/",
    "mistralai/",
    "google/gemma",
    "nvidia/Nemotron",
    "RedHatAI/Llama-4",
)
"""Hub organisations / name prefixes whose models need an accepted licence (and a token)."""


class SecretError(Exception):
    """A credential problem found before anything started: a task problem, not the agent's."""


def is_local(model: str) -> bool:
    """A path (``/data/...``, ``./m``) rather than a Hub id: nothing to download."""
    return model.startswith(("/", "./", "../", "~"))


def needs_token(model: str, gated: Iterable[str] = GATED_PREFIXES) -> bool:
    return not is_local(model) and any(model.startswith(prefix) for prefix in gated)


def token_from(env: Mapping[str, str] | None = None) -> str | None:
    """``HF_TOKEN`` (or the older ``HUGGING_FACE_HUB_TOKEN``) from ``env``; None when unset or blank."""
    env = os.environ if env is None else env
    for key in (TOKEN_ENV, "HUGGING_FACE_HUB_TOKEN"):
        value = env.get(key, "").strip()
        if value:
            return value
    return None


def check_models(
    models: Iterable[str | None],
    env: Mapping[str, str] | None = None,
    gated: Iterable[str] = GATED_PREFIXES,
    cached: Iterable[str] = (),
) -> str | None:
    """The token to use, after checking that every gated model can be fetched.

    Raises :class:`SecretError` (before any container starts) when a gated model that is not
    already in the cache is needed and no token is set.
    """
    token = token_from(env)
    have = set(cached)
    gated = tuple(gated)
    missing = [m for m in models if m and m not in have and needs_token(m, gated)]
    if missing and token is None:
        raise SecretError(
            f"model {missing[0]!r} is gated on the Hugging Face Hub and needs a token: set {TOKEN_ENV} "
            "(nothing was started)" + (f"; also needed for {', '.join(missing[1:])}" if missing[1:] else "")
        )
    return token


def variant_envs(
    variants: Sequence[str],
    token: str | None,
    *,
    downloader: str | None = None,
    hf_home: str = HF_HOME,
) -> dict[str, dict[str, str]]:
    """Each variant's environment: the token for the downloader only (the first variant by
    default), ``HF_HUB_OFFLINE=1`` for the others, the shared cache for all."""
    if not variants:
        return {}
    first = downloader if downloader is not None else variants[0]
    if first not in variants:
        raise ValueError(f"downloader {first!r} is not one of the variants {list(variants)!r}")
    envs: dict[str, dict[str, str]] = {}
    for variant in variants:
        env = {"HF_HOME": hf_home}
        if variant == first:
            if token is not None:
                env[TOKEN_ENV] = token
        else:
            env["HF_HUB_OFFLINE"] = "1"
        envs[variant] = env
    return envs


def redact(text: str, token: str | None) -> str:
    """``text`` with the token blanked (logs and errors kept in records must not carry it)."""
    if not token:
        return text
    return text.replace(token, "***")
