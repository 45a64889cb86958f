#!/usr/bin/env bash
# The README's test command, and exactly what CI runs (.ci/run calls this script).
#
# Installs what is missing (scripts/setup.sh: pinned Azurite, the build), then runs the whole
# suite: unit tests, the emulator's conformance tests against ../shared/specs, and the
# integration tests that drive the built aml-failover binary against Azurite and the emulator.
# Extra arguments go to `cargo test` (e.g. scripts/test.sh workspace_show).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
# Two test binaries at a time keep a 2-core machine responsive while Azurite instances start.
cargo test --workspace --locked "$@" -- --test-threads="${TEST_THREADS:-4}"
