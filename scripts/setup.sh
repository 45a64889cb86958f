#!/usr/bin/env bash
# Installs everything aml-failover's tests and demo need on a fresh machine, then builds.
# Idempotent: a second run checks, installs nothing new and only rebuilds what changed.
#
#   - Azurite (Microsoft's storage emulator), pinned, from the npm registry, project-local
#     under .tools/azurite (never global).
#   - Microsoft's azure-ai-ml SDK, pinned, in the project-local venv .venv-sdk (block below).
#   - The Rust workspace (tool + emulator), debug build with tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

AZURITE_VERSION=3.35.0   # keep in step with emulator/src/azurite.rs (AZURITE_VERSION)
TOOLS="$ROOT/.tools"

say() { printf 'setup: %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { say "missing '$1': $2"; exit 1; }; }

need cargo "install the Rust toolchain (rustup) first"
need node  "install Node.js 18+ (Debian: apt-get install nodejs npm)"
need npm   "install npm (Debian: apt-get install npm)"

# --- Azurite, pinned, project-local -----------------------------------------------------------
AZ_DIR="$TOOLS/azurite"
installed=""
if [ -f "$AZ_DIR/node_modules/azurite/package.json" ]; then
  installed=$(node -p "require('$AZ_DIR/node_modules/azurite/package.json').version" 2>/dev/null || true)
fi
if [ "$installed" != "$AZURITE_VERSION" ]; then
  say "installing azurite@$AZURITE_VERSION into $AZ_DIR"
  mkdir -p "$AZ_DIR"
  [ -f "$AZ_DIR/package.json" ] || printf '{ "name": "aml-failover-tools", "private": true }\n' > "$AZ_DIR/package.json"
  ( cd "$AZ_DIR" && npm install --no-audit --no-fund --loglevel=error --save-exact "azurite@$AZURITE_VERSION" )
else
  say "azurite@$AZURITE_VERSION already installed"
fi
"$AZ_DIR/node_modules/.bin/azurite-blob" --version >/dev/null

# --- BEGIN azure-ai-ml SDK venv (owned by the emulator's SDK test; keep edits inside) ------------
# Microsoft's Python SDK azure-ai-ml, pinned with everything it pulls in
# (emulator/tests/sdk/requirements.txt), in a private venv .venv-sdk for
# emulator/tests/sdk_azure_ai_ml.rs. Skipped when the venv was built from the same requirements
# (marker file holds their sha256).
SDK_VENV="$ROOT/.venv-sdk"
SDK_REQS="$ROOT/emulator/tests/sdk/requirements.txt"
SDK_MARKER="$SDK_VENV/.aml-failover-requirements.sha256"
need python3 "install CPython 3.11 with pip and venv (Debian: apt-get install python3-venv)"
sdk_want=$(sha256sum "$SDK_REQS" | cut -d' ' -f1)
if [ -x "$SDK_VENV/bin/python" ] && [ "$(cat "$SDK_MARKER" 2>/dev/null)" = "$sdk_want" ]; then
  say "azure-ai-ml venv up to date ($SDK_VENV)"
else
  say "installing azure-ai-ml (pinned) into $SDK_VENV"
  rm -rf "$SDK_VENV"
  python3 -m venv "$SDK_VENV"
  "$SDK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SDK_REQS"
  printf '%s\n' "$sdk_want" > "$SDK_MARKER"
fi
# --- END azure-ai-ml SDK venv --------------------------------------------------------------------

# --- Build -------------------------------------------------------------------------------------
say "building the workspace (tool, emulator, tests)"
cargo build --workspace --all-targets --locked --quiet
say "ready"
