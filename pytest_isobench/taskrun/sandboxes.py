"""The sandboxes of a task run: their specs, and opening one so it is always closed.

A task run gets a *sandbox factory* (any callable ``SandboxSpec -> Sandbox``: the pytest
hook ``pytest_isobench_make_sandbox`` in a pytest session, the built-in backends
elsewhere); here it is asked for one variant's sandbox, which is started and closed in
``finally`` whatever happens (a second Ctrl-C cannot interrupt the close).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ..sandbox.images import variant_image
from ..sandbox.protocol import Limits, Sandbox, SandboxSpec, Variant
from ..sandbox.signals import shielded

if TYPE_CHECKING:
    from .model import Checkout, TaskInput

SandboxFactory = Callable[[SandboxSpec], Sandbox]


def spec_for(run: TaskInput, variant: Variant, checkout: Checkout) -> SandboxSpec:
    """The spec of one variant: the agent's (and the agent's work sandbox) is the baseline's commit."""
    task, suite, settings = run.task, run.suite, run.settings
    commit = checkout.head if variant == "human" else checkout.base
    return SandboxSpec(
        task_id=run.item_id,
        variant=variant,
        repo_dir=checkout.repo_dir,
        commit=commit,
        image=variant_image(settings.image, suite, variant, commit, checkout.base, task.image),
        setup_commands=[*suite.setup_commands, *task.setup_commands, *task.install_commands],
        limits=Limits(cpuset=run.cpuset or suite.resources.cpuset, memory=suite.resources.memory, gpus=run.gpus),
        run_id=settings.run_id,
        setup_timeout_s=suite.timeouts.setup_s,
        network_during_setup=suite.resources.network_during_setup,
    )


@contextmanager
def opened(factory: SandboxFactory, spec: SandboxSpec) -> Iterator[Sandbox]:
    """A started sandbox, closed on the way out (also after a failed start).

    When the body failed and closing fails too (the engine died under a perf test), the
    body's failure is the one raised, the closing failure a note on it: the record names
    what broke the task in flight, not what broke afterwards.
    """
    sandbox = factory(spec)
    try:
        sandbox.start()
        yield sandbox
    except BaseException as failure:
        with shielded():  # a second Ctrl-C must not leave this sandbox behind
            try:
                sandbox.close()
            except Exception as exc:
                failure.add_note(f"then closing the sandbox failed too: {exc}")
        raise
    with shielded():
        sandbox.close()
