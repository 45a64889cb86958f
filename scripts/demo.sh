#!/usr/bin/env bash
# The README's "run it" command.
#
# With no Azure given, it starts the local test bed — Azurite and the Azure ML emulator on free
# loopback ports, two regions: "eastus" (primary, seeded from testdata/seed/primary) and
# "westus" (failover) — and runs aml-failover against it.
#
# With real workspaces, set AML_FAILOVER_FROM and AML_FAILOVER_TO (config.json, ARM id, or name
# with AZURE_SUBSCRIPTION_ID and -g) and log in (`az login`); the demo then runs against Azure
# and only reads.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

"$ROOT/scripts/setup.sh"
BIN="$ROOT/target/debug/aml-failover"
EMU="$ROOT/target/debug/aml-emulator"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

if [ -n "${AML_FAILOVER_FROM:-}" ] && [ -n "${AML_FAILOVER_TO:-}" ]; then
  echo "Running against Azure: $AML_FAILOVER_FROM -> $AML_FAILOVER_TO (read-only)"
  step aml-failover workspace show --from "\$AML_FAILOVER_FROM" --to "\$AML_FAILOVER_TO"
  "$BIN" workspace show
  exit $?
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aml-failover-demo.XXXXXX")
EMU_PID=""
cleanup() {
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "Starting the local test bed (Azurite + Azure ML emulator, regions eastus and westus)..."
"$EMU" up --seed "$ROOT/testdata/seed/primary" --env-file "$WORK/testbed.env" --state-file "$WORK/testbed.json" \
  > "$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 300); do
  [ -s "$WORK/testbed.env" ] && break
  if ! kill -0 "$EMU_PID" 2>/dev/null; then echo "the test bed failed to start:"; cat "$WORK/emulator.log"; exit 1; fi
  sleep 0.1
done
[ -s "$WORK/testbed.env" ] || { echo "the test bed did not start in 30 s:"; cat "$WORK/emulator.log"; exit 1; }
set -a; . "$WORK/testbed.env"; set +a

PRIMARY="/subscriptions/$EMU_SUBSCRIPTION/resourceGroups/$EMU_RESOURCE_GROUP/providers/Microsoft.MachineLearningServices/workspaces/$EMU_PRIMARY_WORKSPACE"
echo "Test bed ready: resource manager $AML_FAILOVER_RESOURCE_MANAGER, blob $AML_FAILOVER_BLOB_ENDPOINT"

step aml-failover workspace show --from "$PRIMARY"
"$BIN" workspace show --from "$PRIMARY"

step aml-failover workspace show --subscription "$EMU_SUBSCRIPTION" -g "$EMU_RESOURCE_GROUP" -w "$EMU_FAILOVER_WORKSPACE" -o json
"$BIN" workspace show --subscription "$EMU_SUBSCRIPTION" -g "$EMU_RESOURCE_GROUP" -w "$EMU_FAILOVER_WORKSPACE" -o json

step "# the primary region (eastus) goes down"
curl -sS --fail --cacert "$AML_FAILOVER_CA_CERT" -H "Authorization: Bearer $AML_FAILOVER_ACCESS_TOKEN" \
  -H 'Content-Type: application/json' -d '{"kind":"region_down","region":"eastus"}' "$EMU_ADMIN_URL/faults" > /dev/null
step aml-failover workspace show --from "<primary>" --to "<failover>" --max-retries 1
set +e
"$BIN" workspace show --from "$PRIMARY" --to "$EMU_FAILOVER_WORKSPACE" --subscription "$EMU_SUBSCRIPTION" -g "$EMU_RESOURCE_GROUP" --max-retries 1
code=$?
set -e
echo "(exit code $code: 5 means unavailable — the primary region is down, the failover region answers)"
echo
echo "Demo done. Later issues extend it to the full failover (copy, verify, report)."
