#!/usr/bin/env bash
# Workspace-scale benchmark (issue 16): `aml-failover failover` of a team's workspace.
#
#   scripts/bench/workspace.sh [--scale F] [--smoke] [--out FILE]
#
# The primary workspace of the local test bed (Azurite + the emulator + its Azure Files, as
# scripts/demo.sh starts them) is seeded through the emulator's real datastores (`aml-emulator up
# --seed --files --seed-notebooks`) from a folder scripts/bench/gen_workspace.py writes: at scale
# 1.0, 200 model versions (3 of 1 GiB, the rest small), 50 environments, 300 components, 50
# pipeline jobs with 10,000 run-output files, 2,000 notebooks; random bytes. --scale F scales the
# counts and the large files' size (default 1.0); --smoke is --scale 0.01, a quick check that every
# phase runs. The folder is cached in target/bench/workspace-seed/ (regenerated when
# gen_workspace.py changes). Seeding is not timed.
#
# Timed (wall clock; peak RSS from /usr/bin/time -v; stderr lines time-stamped for where time goes):
#   bed 1 (fresh, seeded):
#     rclone floor   rclone copy of the primary's blob containers that hold the same bytes (the
#                    workspace blobstore and the artifact container) into the failover account;
#                    notebooks are not in it (rclone 1.60 has no Azure Files backend)
#     phase 1        aml-failover failover, both regions up, end to end
#     phase 2        the same command again, nothing changed
#   bed 2 (fresh, the same seed):
#     phase 3a       aml-failover snapshot export --from <primary> to a local bundle
#     phase 3b       the primary region down (the emulator's region_down fault, as scripts/demo.sh):
#                    aml-failover failover --snapshot <bundle> --storage-account <primary's>
# Targets: phase 1 <= 300 s; phase 2 <= 0.2 x phase 1; phase 1 <= 1.5 x the rclone floor; peak
# RSS <= 100 MiB. Prints a Markdown table and writes it to --out (default
# target/bench/workspace.md). Exit 0 when every command ran (targets missed or not), 1 when one
# failed (exit code other than 0/1) or timed out, 2 on bad usage or setup failure.
# BENCH_KEEP_WORK=1 keeps the work folder (logs, reports) for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

SCALE=1.0
OUT="$ROOT/target/bench/workspace.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) shift; SCALE=${1:-} ;;
    --scale=*) SCALE="${1#--scale=}" ;;
    --smoke) SCALE=0.01 ;;
    --out) shift; [ $# -gt 0 ] || { echo "workspace bench: --out needs a file" >&2; exit 2; }; OUT="$1" ;;
    --out=*) OUT="${1#--out=}" ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "workspace bench: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
python3 -c 'import sys; f = float(sys.argv[1]); sys.exit(0 if 0 < f <= 10 else 1)' "$SCALE" 2>/dev/null \
  || { echo "workspace bench: --scale wants a number in (0, 10], e.g. 0.1" >&2; exit 2; }
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac

RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-1800}    # seconds per measured command
BED_TIMEOUT=${BENCH_BED_TIMEOUT:-1800}    # seconds for one test bed to start and seed

say() { printf 'workspace bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(date +%s.%N)"; }

for t in python3 timeout rclone; do
  command -v "$t" >/dev/null 2>&1 || die "missing $t (Debian: apt-get install $t; scripts/bench.sh installs it)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (Debian: apt-get install time; scripts/bench.sh installs it)"
[ -x "$ROOT/.tools/azurite/node_modules/.bin/azurite-blob" ] || "$ROOT/scripts/setup.sh"

say "building release binaries (aml-failover, aml-emulator)"
cargo build --release --locked --quiet -p aml-failover -p aml-emulator --bins \
  || die "cargo build --release failed: the benchmark needs a tree that builds"
BIN="$ROOT/target/release/aml-failover"
EMU="$ROOT/target/release/aml-emulator"

# shellcheck source=scripts/bench/lib.sh
. "$ROOT/scripts/bench/lib.sh"
work_folder aml-failover-workspace-bench
if [ "${BENCH_KEEP_WORK:-0}" = 1 ]; then
  trap 'stop_beds; say "work folder kept: $WORK"' EXIT
fi
mkdir -p "$WORK/state"
export AML_FAILOVER_STATE_DIR="$WORK/state"   # never the user's state dir
LOAD_BEFORE=$(uptime | sed 's/.*load average: //')

# --- The seed folder, cached ---------------------------------------------------------------------
GEN="$ROOT/scripts/bench/gen_workspace.py"
SEED="$ROOT/target/bench/workspace-seed/scale-$SCALE"
KEY=$(sha256sum "$GEN" | cut -c1-16)
if [ -f "$SEED/.done" ] && [ "$(sed -n 1p "$SEED/.done")" = "$KEY" ]; then
  say "seed folder cached: $SEED"
else
  say "generating the seed folder (scale $SCALE) into $SEED"
  t0=$(date +%s.%N)
  rm -rf "$SEED" "$SEED.tmp"
  mkdir -p "$SEED.tmp"
  python3 "$GEN" "$SEED.tmp" "$SCALE" > "$SEED.tmp/.stats.json"
  printf '%s\n' "$KEY" > "$SEED.tmp/.done"
  mv "$SEED.tmp" "$SEED"
  say "generated in $(elapsed "$t0")s"
fi
SEED_STATS=$(cat "$SEED/.stats.json")

# --- Test beds -----------------------------------------------------------------------------------
# start_bed N: a fresh `aml-emulator up` seeded from $SEED (Azurite on disk under $WORK/tmp);
# sets BED_* variables and the tool's AML_FAILOVER_* variables.
start_bed() {
  local n=$1 dir="$WORK/bed$1" t0 pid
  mkdir -p "$dir"
  say "starting test bed $n (Azurite + emulator + Azure Files) and seeding it"
  t0=$(date +%s.%N)
  TMPDIR="$WORK/tmp" "$EMU" up --seed "$SEED/primary" --files --seed-notebooks "$SEED/notebooks" \
    --env-file "$dir/env" --state-file "$dir/state.json" > "$dir/emulator.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_bed "$n" "$pid" "$dir"
  BED_SEED_S=$(elapsed "$t0")
  set -a
  # shellcheck source=/dev/null  # written by `aml-emulator up`
  . "$dir/env"
  set +a
  eval "$(python3 - "$dir/state.json" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
p, f = s["primary"], s["failover"]
def arm(w):
    return (f"/subscriptions/{w['subscription_id']}/resourceGroups/{w['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{w['name']}")
out = {
    "BED_BLOB": s.get("blob_endpoint", s["azurite_blob_endpoint"]).rstrip("/"),
    "BED_P_ACCOUNT": p["storage_account"], "BED_P_KEY": p["storage_key"], "BED_P_REGION": p["location"],
    "BED_P_CONTAINER": f"azureml-blobstore-{p['workspace_id']}", "BED_P_ARM": arm(p),
    "BED_F_ACCOUNT": f["storage_account"], "BED_F_KEY": f["storage_key"], "BED_F_ARM": arm(f),
}
for k, v in out.items():
    print(f"{k}={shlex.quote(v)}")
PY
)"
  write_rclone_conf "$dir"
  say "test bed $n ready in ${BED_SEED_S}s: $(grep '^seeded' "$dir/emulator.log" | paste -sd ';' -)"
}

# admin METHOD PATH [JSON]: the emulator's admin API (bearer = the bed's static token, its CA).
admin() {
  python3 - "$1" "$EMU_ADMIN_URL$2" "${3:-}" <<'PY'
import os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ.get("AML_FAILOVER_CA_CERT"))
body = sys.argv[3].encode() or None
req = urllib.request.Request(sys.argv[2], data=body, method=sys.argv[1], headers={
    "Authorization": "Bearer " + os.environ["AML_FAILOVER_ACCESS_TOKEN"], "Content-Type": "application/json"})
with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
    r.read()
PY
}

# `rclone size --json` of a remote path -> "count bytes"
size_of() {
  timeout 300 rclone --config "$RCLONE_CONF" size --json "$1" 2>/dev/null \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["count"], d["bytes"])' || echo "0 0"
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v with a timeout, its stderr time-stamped
# (seconds since the start) into $WORK/NAME.err; appends one JSON line to $WORK/phases.jsonl.
measure() {
  local name=$1 t0 rc
  shift
  say "running $name: ${*##*/}"
  t0=$(date +%s.%N)
  set +e
  { /usr/bin/time -v -o "$WORK/$name.time" timeout --kill-after=10 "$RUN_TIMEOUT" "$@" 2>&1 > "$WORK/$name.out"; } \
    | python3 -u -c '
import sys, time
t0 = float(sys.argv[1])
for line in sys.stdin:
    sys.stdout.write(f"[{time.time() - t0:8.2f}s] {line}")
' "$t0" > "$WORK/$name.err"
  rc=${PIPESTATUS[0]}
  set -e
  python3 - "$name" "$t0" "$(date +%s.%N)" "$rc" "$WORK/$name.time" >> "$WORK/phases.jsonl" <<'PY'
import json, re, sys
name, t0, t1, rc, tf = sys.argv[1:]
tv = open(tf).read()
def field(label):
    m = re.search(r"^\s*" + re.escape(label) + r": (.*)$", tv, re.M)
    return m.group(1).strip() if m else None
print(json.dumps({"name": name, "wall": float(t1) - float(t0), "rc": int(rc),
                  "rss_mib": float(field("Maximum resident set size (kbytes)") or 0) / 1024,
                  "cpu": float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0)}))
PY
  M_RC=$rc
  if [ "$rc" != 0 ]; then
    say "$name exited $rc; last lines of its stderr:"
    tail -n 15 "$WORK/$name.err" >&2 || true
  fi
  say "$name: $(tail -n 1 "$WORK/phases.jsonl")"
}

FAILED=0
check_rc() {  # check_rc NAME OK-CODES...: a failed command is a finding, not a benchmark figure
  local name=$1 c
  shift
  for c in "$@"; do [ "$M_RC" = "$c" ] && return 0; done
  say "$name FAILED (exit $M_RC)"
  FAILED=1
}

# --- Bed 1: the rclone floor, failover with both regions up, a no-change rerun -------------------
: > "$WORK/phases.jsonl"
start_bed 1
SEED1_S=$BED_SEED_S
FLOOR_BLOB=$(size_of "primary:$BED_P_CONTAINER")
FLOOR_ART=$(size_of "primary:azureml")
printf '{"blobstore": "%s", "artifacts": "%s"}\n' "$FLOOR_BLOB" "$FLOOR_ART" > "$WORK/floor.json"
say "rclone floor source: blobstore ${FLOOR_BLOB% *} blobs / ${FLOOR_BLOB#* } bytes, artifacts ${FLOOR_ART% *} blobs / ${FLOOR_ART#* } bytes"
# shellcheck disable=SC2016  # $1 and $2 are sh -c's arguments
measure rclone sh -c 'rclone --config "$1" copy --stats 0 "primary:$2" failover:floor-blobstore &&
  rclone --config "$1" copy --stats 0 primary:azureml failover:floor-artifacts' sh "$RCLONE_CONF" "$BED_P_CONTAINER"
check_rc rclone 0

measure failover-up "$BIN" failover --from "$BED_P_ARM" --to "$BED_F_ARM" --out-dir "$WORK/phase1" -v
check_rc failover-up 0 1
cp "$WORK/phase1/failover-report.json" "$WORK/phase1.report.json" 2>/dev/null || true
measure failover-rerun "$BIN" failover --from "$BED_P_ARM" --to "$BED_F_ARM" --out-dir "$WORK/phase2" -v
check_rc failover-rerun 0 1
cp "$WORK/phase2/failover-report.json" "$WORK/phase2.report.json" 2>/dev/null || true

# --- Bed 2: snapshot export, then failover with the primary region down --------------------------
stop_beds
rm -rf "${WORK:?}/tmp"/* "$WORK/bed1" 2>/dev/null || true
start_bed 2
SEED2_S=$BED_SEED_S
measure snapshot-export "$BIN" snapshot export --from "$BED_P_ARM" --to "$WORK/bundle" -v
check_rc snapshot-export 0 1
admin POST /faults "{\"kind\":\"region_down\",\"region\":\"$BED_P_REGION\"}"
export AML_FAILOVER_SOURCE_ACCOUNT_KEY=$BED_P_KEY   # the primary's secondary endpoint, as scripts/demo.sh
measure failover-down "$BIN" failover --from "$BED_P_ARM" --to "$BED_F_ARM" \
  --snapshot "$WORK/bundle" --storage-account "$BED_P_ACCOUNT" --max-retries 1 --out-dir "$WORK/phase3" -v
check_rc failover-down 0 1
cp "$WORK/phase3/failover-report.json" "$WORK/phase3.report.json" 2>/dev/null || true
LOAD_AFTER=$(uptime | sed 's/.*load average: //')

# --- Report --------------------------------------------------------------------------------------
GIT_DIRTY=""
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || GIT_DIRTY=" + uncommitted changes"
BENCH_GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$GIT_DIRTY" \
BENCH_MACHINE="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr)" \
BENCH_LOAD_BEFORE=$LOAD_BEFORE BENCH_LOAD_AFTER=$LOAD_AFTER BENCH_SEED1_S=$SEED1_S BENCH_SEED2_S=$SEED2_S \
BENCH_RCLONE="$(rclone version 2>/dev/null | head -n 1)" BENCH_SEED_STATS=$SEED_STATS \
BENCH_AZURITE="$(node -p "require('$ROOT/.tools/azurite/node_modules/azurite/package.json').version" 2>/dev/null || echo '?')" \
  python3 "$ROOT/scripts/bench/workspace_report.py" "$WORK" "$OUT"
say "results written to $OUT"
exit "$FAILED"
