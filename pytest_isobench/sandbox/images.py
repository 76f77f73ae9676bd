"""Which image each variant's container starts from: per-commit templates resolved.

A suite names one ``image`` for every variant or ``images`` per variant (``baseline``,
``human``; the agent starts from the baseline's, since its patch goes onto the
baseline's code). Templates may use ``{commit}`` (the variant's commit: the parent for
baseline and agent, the human commit for human), ``{short}`` (its first 8 hex),
``{parent}`` (the human commit's parent) and ``{parent12}`` (its first 12 hex), as in
ISO-Bench's images: ``anonymous/vllm-bench:{commit}`` and
``anonymous/vllm-baseline:baseline-{parent12}``. ``--isobench-image`` overrides both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .protocol import SandboxError

if TYPE_CHECKING:
    from ..suite import Suite
    from .protocol import Variant

FIELDS = "commit, short, parent, parent12"


def render(template: str | None, commit: str, parent: str | None = None) -> str | None:
    """``template`` with the fields filled; ``SandboxError`` naming the known fields otherwise."""
    if template is None or "{" not in template:
        return template
    parent = parent or commit
    try:
        return template.format(commit=commit, short=commit[:8], parent=parent, parent12=parent[:12])
    except (KeyError, IndexError, ValueError) as exc:
        raise SandboxError(f"image template {template!r}: {exc} (known fields: {FIELDS})") from None


def variant_image(
    override: str | None, suite: Suite, variant: Variant, commit: str, parent: str, task_image: str | None = None
) -> str | None:
    """The image of ``variant`` (whose commit is ``commit``; ``parent`` is the task's base):
    the run's, the suite's for that variant, the suite's, else the task's own (its benchmark's
    template): what this run configured wins over what the dataset names."""
    template = override or suite.images.get("baseline" if variant == "agent" else variant) or suite.image or task_image
    return render(template, commit, parent)
