"""By hand: run the ``trae`` adapter with the real trae-cli against the stand-in model server,
and keep what the tool wrote (its trajectory, the config we gave it, its exit status) as test data.

Not a test (CI cannot install trae-agent: it is not on the package index). Usage, with
trae-agent installed at ``TRAE_COMMIT`` into a venv of its own (see tests/data/agents/README.md)::

    PYTHONPATH=. python tests/record_trae_run.py VENV/bin/trae-cli anthropic OUT_DIR

It runs ``pytest tasks/demo.yaml`` on the demo's unique-seen-set task with
``--isobench-agent=trae`` on the local backend; a pass-through ``trae-cli`` on PATH copies
the agent's HOME after the real tool ends. OUT_DIR gets the task record, the usage the
server sent, and one folder per trae-cli call (``home/``, ``rc``, ``argv``).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from agent_clis import SCRIPT, TASK
from demo_project import copy_demo, demo_args
from fake_models import FakeModels

PASS_THROUGH = """#!/bin/sh
{tool} "$@"; rc=$?
d={calls}/$(date +%s%N); mkdir -p "$d"
cp -r "$HOME" "$d/home" 2>/dev/null; echo "$rc" > "$d/rc"; printf '%s\\n' "$@" > "$d/argv"
exit $rc
"""
PROVIDERS = {  # provider -> (key variable, base URL variable, path under the server, model)
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "", "claude-sonnet-4-20250514"),
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "/v1", "gpt-4.1"),
}


def main(tool: str, provider: str, out: Path) -> int:
    key_var, url_var, suffix, model = PROVIDERS[provider]
    out.mkdir(parents=True, exist_ok=True)
    project = Path(tempfile.mkdtemp(prefix="trae-demo-"))
    copy_demo(project)
    bindir = project / "bin"
    bindir.mkdir()
    wrapper = bindir / "trae-cli"
    wrapper.write_text(PASS_THROUGH.format(tool=shlex.quote(tool), calls=shlex.quote(str(out / "calls"))))
    wrapper.chmod(0o755)
    with FakeModels(SCRIPT) as server:
        env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_BASE_URL"))}
        env.update(
            {
                "PATH": f"{bindir}{os.pathsep}{env.get('PATH', '')}",
                "ISOBENCH_TRAE_PROVIDER": provider,
                key_var: "sk-stand-in",
                url_var: server.base_url() + suffix,
            }
        )
        args = demo_args(project / "cache", out / "results", "--isobench-agent=trae", f"--isobench-model={model}")
        args += ["--isobench-backend=local", "-k", TASK, "--isobench-max-time=4", "--isobench-min-rounds=3"]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", *args], cwd=project, env=env, capture_output=True, text=True
        )
        sent = [[kind, vars(usage)] for kind, usage in server.usage_sent]
    (out / "pytest.out").write_text(done.stdout + done.stderr)
    (out / "usage_sent.json").write_text(json.dumps(sent, indent=1))
    print(done.stdout[-2000:])
    return done.returncode


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[2] not in PROVIDERS:
        sys.exit(f"usage: {sys.argv[0]} TRAE_CLI {{{','.join(PROVIDERS)}}} OUT_DIR")
    sys.exit(main(sys.argv[1], sys.argv[2], Path(sys.argv[3])))
