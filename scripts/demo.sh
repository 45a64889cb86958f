#!/usr/bin/env bash
# The README's "run it" command.
#
# With no Azure given, it starts the local test bed — Azurite, the Azure ML emulator and its Azure
# Files service on free loopback ports, two regions: "eastus" (primary, seeded from
# testdata/seed/primary and testdata/seed/notebooks) and "westus" (failover) — and runs the
# operator's stories against it:
#   1. look at both workspaces;
#   2. pre-stage: the plan, a snapshot bundle exported twice (the second stores nothing new),
#      the bundle checked, and how far behind the failover workspace is (verify: drifted);
#   3. the primary region goes down: `failover --snapshot` restores the assets from the bundle
#      and copies run outputs from the primary's RA-GRS secondary storage; the report is shown
#      and the failover workspace is verified against the snapshot;
#   4. the primary workspace is deleted: find and recover its notebooks from its storage account.
#
# With real workspaces, set AML_FAILOVER_FROM and AML_FAILOVER_TO (config.json, ARM id, or name
# with AZURE_SUBSCRIPTION_ID and -g) and log in (`az login`); the demo then only reads: it shows
# both workspaces and the copy plan (`plan`, which writes nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

"$ROOT/scripts/setup.sh"
BIN="$ROOT/target/debug/aml-failover"
EMU="$ROOT/target/debug/aml-emulator"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
note() { printf '\033[2m# %s\033[0m\n' "$*"; }
run() { set +e; "$@"; local code=$?; set -e; note "exit code $code"; }

if [ -n "${AML_FAILOVER_FROM:-}" ] && [ -n "${AML_FAILOVER_TO:-}" ]; then
  echo "Running against Azure: $AML_FAILOVER_FROM -> $AML_FAILOVER_TO (read-only)"
  step aml-failover workspace show; run "$BIN" workspace show
  step aml-failover plan; run "$BIN" plan
  exit 0
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/aml-failover-demo.XXXXXX")
EMU_PID=""
cleanup() {
  if [ -n "$EMU_PID" ]; then kill "$EMU_PID" 2>/dev/null || true; wait "$EMU_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

echo "Starting the local test bed (Azurite + Azure ML emulator + Azure Files, regions eastus and westus)..."
"$EMU" up --seed "$ROOT/testdata/seed/primary" --files --seed-notebooks "$ROOT/testdata/seed/notebooks" \
  --env-file "$WORK/testbed.env" --state-file "$WORK/testbed.json" > "$WORK/emulator.log" 2>&1 &
EMU_PID=$!
for _ in $(seq 1 600); do
  [ -s "$WORK/testbed.env" ] && break
  if ! kill -0 "$EMU_PID" 2>/dev/null; then echo "the test bed failed to start:"; cat "$WORK/emulator.log"; exit 1; fi
  sleep 0.1
done
[ -s "$WORK/testbed.env" ] || { echo "the test bed did not start in 60 s:"; cat "$WORK/emulator.log"; exit 1; }
set -a; . "$WORK/testbed.env"; set +a
cd "$WORK"   # manifests land here

ARM="/subscriptions/$EMU_SUBSCRIPTION/resourceGroups/$EMU_RESOURCE_GROUP/providers/Microsoft.MachineLearningServices/workspaces"
PRIMARY="$ARM/$EMU_PRIMARY_WORKSPACE"
FAILOVER="$ARM/$EMU_FAILOVER_WORKSPACE"
fact() { python3 -c "import json,sys; print(json.load(open('$WORK/testbed.json'))$1)"; }
PRIMARY_ACCOUNT=$(fact "['primary']['storage_account']")
PRIMARY_ID=$(fact "['primary']['workspace_id']")
admin() { curl -sS --fail --cacert "$AML_FAILOVER_CA_CERT" -H "Authorization: Bearer $AML_FAILOVER_ACCESS_TOKEN" "$@" > /dev/null; }
echo "Test bed ready: resource manager $AML_FAILOVER_RESOURCE_MANAGER, blob $AML_FAILOVER_BLOB_ENDPOINT, files $AML_FAILOVER_FILE_ENDPOINT"

printf '\n\033[1m== 1. Both workspaces ==\033[0m\n'
step aml-failover workspace show --from "<primary ARM id>" --to "<failover ARM id>"
run "$BIN" workspace show --from "$PRIMARY" --to "$FAILOVER"

printf '\n\033[1m== 2. Pre-staging: the plan, a snapshot bundle, and how far behind the failover is ==\033[0m\n'
step aml-failover plan --from "<primary>" --to "<failover>"
run "$BIN" plan --from "$PRIMARY" --to "$FAILOVER"
step aml-failover copy --from "<primary>" --to "<failover>" --kinds models,datastores,connections,computes,endpoints,schedules --deploy --instance-count 1
note "warm standby: the models and the workspace's definitions pre-staged, online endpoints at one instance, schedules disabled, secret-bearing datastores/connections left as YAML"
run "$BIN" copy --from "$PRIMARY" --to "$FAILOVER" --kinds models,datastores,connections,computes,endpoints,schedules --deploy --instance-count 1 --manifest ./prestage.json
step aml-failover snapshot export --from "<primary>" --to ./bundle
run "$BIN" snapshot export --from "$PRIMARY" --to ./bundle
step aml-failover snapshot export --from "<primary>" --to ./bundle    "# again: nothing changed, only a new manifest"
run "$BIN" snapshot export --from "$PRIMARY" --to ./bundle
step aml-failover snapshot list ./bundle
run "$BIN" snapshot list ./bundle
step aml-failover verify ./bundle    "# every file of the newest snapshot re-read: intact?"
run "$BIN" verify ./bundle
step aml-failover verify --from "<primary>" --to "<failover>"    "# nothing copied yet: drifted"
run "$BIN" verify --from "$PRIMARY" --to "$FAILOVER" --kinds models,environments

printf '\n\033[1m== 3. The primary region (eastus) goes down: fail over ==\033[0m\n'
admin -H 'Content-Type: application/json' -d '{"kind":"region_down","region":"eastus"}' "$EMU_ADMIN_URL/faults"
export AML_FAILOVER_SOURCE_ACCOUNT_KEY; AML_FAILOVER_SOURCE_ACCOUNT_KEY=$(fact "['primary']['storage_key']")
step AML_FAILOVER_SOURCE_ACCOUNT_KEY=... aml-failover failover --from "<primary>" --to "<failover>" --snapshot ./bundle --storage-account "$PRIMARY_ACCOUNT" --max-retries 1
note "the control plane is down: assets come from the pre-staged snapshot, run outputs from the primary's RA-GRS secondary storage, the pre-staged schedules are enabled"
run "$BIN" failover --from "$PRIMARY" --to "$FAILOVER" --snapshot ./bundle --storage-account "$PRIMARY_ACCOUNT" --max-retries 1 --out-dir ./failover-run
step "cat ./failover-run/failover-report.json    # abridged here: its steps and manual steps"
python3 - ./failover-run/failover-report.json <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"schemaVersion {r['schemaVersion']}, sourceReachable {r['sourceReachable']}, exitCode {r['exitCode']}")
for s in r["steps"]:
    print(f"  step {s['name']:<10} {s['outcome']:<8} {s['detail']}")
for i, m in enumerate(r["manualSteps"], 1):
    print(f"  manual {i}. {m}")
PY
step aml-failover verify ./bundle --to "<failover>" --kinds models,environments,code,components,pipelines    "# against the snapshot: in sync (data assets are re-registered by hand)"
run "$BIN" verify ./bundle --to "$FAILOVER" --kinds models,environments,code,components,pipelines
step aml-failover workspace show --from "<failover>"
run "$BIN" workspace show --from "$FAILOVER"
admin -X DELETE "$EMU_ADMIN_URL/faults"

printf '\n\033[1m== 4. The primary workspace is deleted; its storage account remains ==\033[0m\n'
admin -X DELETE "$AML_FAILOVER_RESOURCE_MANAGER$PRIMARY?api-version=2025-12-01"
step aml-failover notebooks recover --storage-account "$PRIMARY_ACCOUNT" --to "<failover>"    "# which share?"
run "$BIN" notebooks recover --storage-account "$PRIMARY_ACCOUNT" --to "$FAILOVER"
step aml-failover notebooks recover --storage-account "$PRIMARY_ACCOUNT" --workspace-id "$PRIMARY_ID" --to "<failover>" -v
run "$BIN" notebooks recover --storage-account "$PRIMARY_ACCOUNT" --workspace-id "$PRIMARY_ID" --to "$FAILOVER" -v --manifest notebooks-manifest.json
step aml-failover notebooks recover --storage-account "$PRIMARY_ACCOUNT" --workspace-id "$PRIMARY_ID" --to-dir ./notebooks
run "$BIN" notebooks recover --storage-account "$PRIMARY_ACCOUNT" --workspace-id "$PRIMARY_ID" --to-dir ./notebooks --manifest notebooks-local.json
find ./notebooks -type f | sort

echo
echo "Demo done. Manifests: $(ls "$WORK"/*.json | xargs -n1 basename | tr '\n' ' ')"
