"""The sandboxes of a task run: their specs, and opening one so it is always closed.

A task run gets a *sandbox factory* (any callable ``SandboxSpec -> Sandbox``: the pytest
hook ``pytest_isobench_make_sandbox`` in a pytest session, the built-in backends
elsewhere); here it is asked for one variant's sandbox, which is started and closed in
``finally`` whatever happens. Image templates name one image per commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..sandbox.base import Limits, Sandbox, SandboxError, SandboxSpec, Variant

if TYPE_CHECKING:
    from .model import Checkout, TaskInput

SandboxFactory = Callable[[SandboxSpec], Sandbox]


def image_for(template: str | None, commit: str) -> str | None:
    """``REGISTRY/vllm:{commit}`` -> the variant's prebuilt image (the agent's is the baseline's)."""
    if template is None or "{" not in template:
        return template
    try:
        return template.format(commit=commit, short=commit[:8])
    except (KeyError, IndexError, ValueError) as exc:
        raise SandboxError(f"image template {template!r}: {exc} (known fields: commit, short)") from None


def spec_for(run: TaskInput, variant: Variant, checkout: Checkout) -> SandboxSpec:
    """The spec of one variant: the agent's (and the agent's work sandbox) is the baseline's commit."""
    task, suite, settings = run.task, run.suite, run.settings
    commit = checkout.head if variant == "human" else checkout.base
    return SandboxSpec(
        task_id=run.item_id,
        variant=variant,
        repo_dir=checkout.repo_dir,
        commit=commit,
        image=image_for(settings.image or suite.image, commit),
        setup_commands=[*suite.setup_commands, *task.setup_commands, *task.install_commands],
        limits=Limits(cpuset=suite.resources.cpuset, memory=suite.resources.memory, gpus=run.gpus),
        run_id=settings.run_id,
        setup_timeout_s=suite.timeouts.setup_s,
    )


@contextmanager
def opened(factory: SandboxFactory, spec: SandboxSpec) -> Iterator[Sandbox]:
    """A started sandbox, closed on the way out (also after a failed start)."""
    sandbox = factory(spec)
    try:
        sandbox.start()
        yield sandbox
    finally:
        sandbox.close()
