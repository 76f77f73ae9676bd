"""Is the code a variant runs its own? A probe of the installed package inside each sandbox.

A suite that measures an installed package (vLLM, SGLang: ``package:`` in the suite) gets,
for every variant, the package's version, the commit it reports and the directory it is
imported from, found the way its perf test finds it (same interpreter command, run from
the checkout), and for each file of the human diff and the agent's patch that lies in the
package the git blob id of the installed copy and of the checkout's. The baseline and the
human must import their own commit's files (and a reported commit must be theirs); the
agent, the baseline's with its patch. Anything else is :class:`ImportMismatch`, an
infrastructure error raised before timing. :func:`sync_patch` copies the agent's patched
package files from its checkout onto the installed package (site-packages or the editable
checkout the image holds). Nothing here times or judges.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from ..sandbox.protocol import Sandbox


class PackageCheck(BaseModel):
    """``package:`` in a suite: the installed package whose code must be each variant's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="import name, e.g. vllm")
    repo_path: str | None = Field(
        default=None, description="the package's folder in the repository (default: the name; sglang: python/sglang)"
    )
    python: str | None = Field(default=None, description="interpreter command of the probe (default: perf.python)")
    timeout_s: float = Field(default=600.0, gt=0)

    @property
    def folder(self) -> str:
        return (self.repo_path or self.name).strip("/")


class ImportMismatch(Exception):
    """A variant does not import its own code (infrastructure: the image, not the agent)."""

    def __init__(self, message: str, found: dict[str, dict[str, Any]]) -> None:
        super().__init__(message)
        self.found = found


# Run inside the sandbox as ``<python> -c PROBE '<json args>'`` from the checkout. Standard
# library only; the last line of its output is a JSON object.
PROBE = r"""
import hashlib, importlib, json, os, re, sys
args = json.loads(sys.argv[1])
out = {"package": args["name"]}
def blob(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
try:
    mod = importlib.import_module(args["name"])
except BaseException as exc:
    out["error"] = "%s: %s" % (type(exc).__name__, str(exc)[:500])
    print(json.dumps(out))
    sys.exit(0)
where = getattr(mod, "__file__", None) or list(getattr(mod, "__path__", []))[0]
path = os.path.dirname(os.path.realpath(where))
out["path"] = path
out["python"] = sys.executable
out["version"] = str(getattr(mod, "__version__", "") or "")
try:
    from importlib import metadata
    out["dist_version"] = metadata.version(args.get("dist") or args["name"])
except Exception:
    out["dist_version"] = None
commit = None
for holder in (mod, sys.modules.get(args["name"] + ".version"), sys.modules.get(args["name"] + "._version")):
    for attr in ("__commit__", "__git_commit__", "commit_id"):
        value = getattr(holder, attr, None) if holder is not None else None
        if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{7,40}", value):
            commit = commit or value
if commit is None:
    found = re.search(r"\+g([0-9a-f]{7,40})", out["version"] + " " + str(out["dist_version"] or ""))
    commit = found.group(1) if found else None
out["commit"] = commit
checkout = os.getcwd()
prefix = args["folder"] + "/"
files = {}
for rel in args["files"]:
    if rel.startswith(prefix):
        installed = blob(os.path.join(path, rel[len(prefix):]))
        files[rel] = {"installed": installed, "checkout": blob(os.path.join(checkout, rel))}
out["files"] = files
out["editable"] = os.path.realpath(path).startswith(os.path.realpath(checkout) + os.sep)
print(json.dumps(out))
"""


def _python(spec: PackageCheck, default: str) -> str:
    return spec.python or default


def probe(sandbox: Sandbox, spec: PackageCheck, python: str, files: Iterable[str]) -> dict[str, Any]:
    """What ``sandbox`` imports for ``spec.name``; ``error`` set when it cannot import it."""
    args = json.dumps({"name": spec.name, "folder": spec.folder, "files": sorted(set(files))})
    command = f"{_python(spec, python)} -c {shlex.quote(PROBE)} {shlex.quote(args)}"
    result = sandbox.exec(command, spec.timeout_s)
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("{"):
            try:
                found: dict[str, Any] = json.loads(line)
            except ValueError:
                break
            return found
    why = "timed out" if result.timed_out else f"exit {result.exit_code}"
    return {"package": spec.name, "error": f"the import probe failed ({why}): {result.tail(10)}"}


def problems(found: Mapping[str, Any], expected_commit: str | None) -> list[str]:
    """Why ``found`` is not the variant's code (empty: it is, as far as the probe can tell)."""
    if "error" in found:
        return [f"cannot import {found['package']}: {found['error']}"]
    issues: list[str] = []
    reported = found.get("commit")
    if expected_commit and reported and not expected_commit.startswith(reported):
        issues.append(f"reports commit {reported}, expected {expected_commit[:12]}")
    for rel, blobs in sorted(found.get("files", {}).items()):
        if blobs["installed"] != blobs["checkout"]:
            if blobs["installed"] is None:
                state = "is missing from the installed package"
            elif blobs["checkout"] is None:
                state = "is installed but not in the variant's commit"
            else:
                state = "differs from the variant's commit"
            issues.append(f"{rel} {state}")
    return issues


def check(
    sandboxes: Mapping[str, Sandbox],
    spec: PackageCheck,
    python: str,
    files: Iterable[str],
    commits: Mapping[str, str | None],
) -> dict[str, dict[str, Any]]:
    """Probe every variant; :class:`ImportMismatch` if one does not import its own code.

    ``commits`` is the commit each variant's reported commit must match (None: not checked,
    e.g. an agent variant rebuilt from its checkout). Returns the findings per variant, each
    with ``verified`` (files or a commit compared) and ``problems``.
    """
    wanted = sorted(set(files))
    found: dict[str, dict[str, Any]] = {}
    for name, sandbox in sandboxes.items():
        entry = probe(sandbox, spec, python, wanted)
        entry["problems"] = problems(entry, commits.get(name))
        entry["verified"] = bool(entry.get("files")) or (bool(entry.get("commit")) and commits.get(name) is not None)
        found[name] = entry
    bad = {name: entry["problems"] for name, entry in found.items() if entry["problems"]}
    if bad:
        lines = [f"{name}: " + "; ".join(issues[:6]) for name, issues in bad.items()]
        where = ", ".join(f"{n} {e.get('version') or '?'} from {e.get('path', '?')}" for n, e in found.items())
        raise ImportMismatch(f"the variants do not import their own {spec.name} ({where}):\n" + "\n".join(lines), found)
    return found


def sync_patch(sandbox: Sandbox, spec: PackageCheck, python: str, files: Iterable[str]) -> list[str]:
    """Copy the patched package files from the checkout onto the installed package.

    ``files`` are the repository paths the patch touched; those under the package's folder
    are copied (or removed when the patch deleted them) into the directory the variant
    imports the package from. Returns the installed paths written. Raises
    :class:`ImportMismatch` when the package cannot be imported to find that directory.
    """
    prefix = spec.folder + "/"
    ours = sorted(f for f in set(files) if f.startswith(prefix))
    if not ours:
        return []
    found = probe(sandbox, spec, python, [])
    if "error" in found:
        raise ImportMismatch(f"agent: cannot import {spec.name} to patch it: {found['error']}", {"agent": found})
    if found.get("editable"):
        return []  # the package is the checkout itself: the patch is already in
    target = str(found["path"])
    steps: list[str] = []
    written: list[str] = []
    for rel in ours:
        src, dst = shlex.quote(rel), shlex.quote(f"{target}/{rel[len(prefix) :]}")
        steps.append(f'if [ -e {src} ]; then mkdir -p "$(dirname {dst})" && cp {src} {dst}; else rm -f {dst}; fi')
        written.append(f"{target}/{rel[len(prefix) :]}")
    result = sandbox.exec(" && ".join(steps), 120.0)
    if not result.ok:
        raise ImportMismatch(
            f"agent: could not copy the patch into the installed {spec.name} at {target}: {result.tail(10)}",
            {"agent": found},
        )
    return written
