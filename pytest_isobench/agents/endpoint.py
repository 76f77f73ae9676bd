"""Does the model endpoint answer? Asked once, in seconds, before any agent starts.

Agent tools retry an unreachable endpoint for a long time (Codex reconnects until the
agent's time limit). Any HTTP answer, even 401 or 404, means the server is there; a
refused connection, an unknown host or silence within the limit is an :class:`AgentError`
that names the URL. Asked from the machine that runs pytest.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from .agent import AgentError

PREFLIGHT_TIMEOUT_S = 5.0


def check_endpoint(url: str, timeout_s: float = PREFLIGHT_TIMEOUT_S, what: str = "model endpoint") -> None:
    """Return when ``url`` answers HTTP at all; else raise :class:`AgentError` naming it."""
    request = urllib.request.Request(url, method="GET", headers={"User-Agent": "pytest-isobench-preflight"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read(0)
    except urllib.error.HTTPError:
        return  # the server answered (an error status is still an answer)
    except (TimeoutError, urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AgentError(
            f"{what} {url} does not answer ({reason}): start it or fix the base URL "
            "before running the agent (nothing was run or cached)"
        ) from None
