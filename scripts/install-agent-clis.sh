#!/usr/bin/env bash
# Installs the real agent command-line tools the tests drive (and a developer can use):
# Claude Code and the Codex CLI from npm, at the versions the adapters are checked
# against, into one folder (default .agent-clis/, ignored by git). Prints the bin folder.
# Usage: scripts/install-agent-clis.sh [DIR]     Needs node and npm (Node >= 18).
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${1:-.agent-clis}"
# shellcheck source=agent-clis.env
. scripts/agent-clis.env
BIN="$DIR/node_modules/.bin"
have() {
  [ -x "$BIN/claude" ] && [ -x "$BIN/codex" ] \
    && "$BIN/claude" --version 2>/dev/null | grep -q "^$CLAUDE_CODE_VERSION " \
    && "$BIN/codex" --version 2>/dev/null | grep -q " $CODEX_VERSION\$"
}
if ! have; then
  command -v npm >/dev/null || { echo "npm is missing: install Node.js (>= 18) and npm" >&2; exit 1; }
  mkdir -p "$DIR"
  npm install --prefix "$DIR" --no-audit --no-fund --loglevel=error \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@openai/codex@$CODEX_VERSION" >&2
  have || { echo "the installed CLIs do not report the pinned versions" >&2; exit 1; }
fi
cd "$BIN" && pwd
