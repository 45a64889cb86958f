#!/usr/bin/env bash
# The project's benchmark: aml-failover `copy` against rclone, same run, same data, same Azurite.
#
#   scripts/bench.sh [--quick] [--out FILE]
#   scripts/bench.sh --plan [--versions N] [--runs K] [--out FILE]   (runs scripts/bench/plan.sh:
#                    `aml-failover plan` over 10,000 asset versions; see its --help)
#
# Data (generated at run time in a temp folder, never committed), seeded into the primary
# workspace of the local test bed (`aml-emulator up --seed`) as three model versions:
#   bench-small    a folder of 2,000 files of 1-64 KiB   (--quick: 200)
#   bench-large-a  one file of 256 MiB                    (--quick: 16 MiB)
#   bench-large-b  one file of 256 MiB                    (--quick: 16 MiB)
#
# Timed (wall clock, peak RSS and CPU seconds from /usr/bin/time -v; the bed's CPU, Azurite's included, from /proc):
#   bed 1 (fresh `aml-emulator up`, seeded):
#     rclone streaming     primary account -> failover account, two azureblob remotes
#     aml-failover         copy --kinds models --server-side never   (streaming, sha256 verify)
#     AzCopy (second peer)  download primary -> local folder, then upload -> failover account
#                          (AzCopy's service-to-service copy needs Put Blob From URL, which
#                          Azurite lacks; set BENCH_AZCOPY=0 to leave AzCopy out)
#   bed 2 (fresh `aml-emulator up`, same seed folder):
#     rclone server-side   container -> container within the primary account (one remote)
#     aml-failover         copy --kinds models --server-side auto    (Copy Blob, sha256 verify)
#   bed 3 (fresh `aml-emulator up --storage-proxy`: the emulator's proxy in front of Azurite
#   answers Put Blob From URL / Put Block From URL, which Azurite lacks; BENCH_PROXY=0 skips it):
#     rclone server-side   as in bed 2, through the proxy (Copy Blob)
#     aml-failover         copy --kinds models --server-side auto    (Put Blob/Block From URL)
#     AzCopy s2s           primary container -> failover container, --from-to BlobBlob
# In each bed rclone runs first, so the peer meets the fresher Azurite. Seeding is not timed.
#
# Targets: streaming <= 0.7 x rclone streaming; server-side <= 1.0 x rclone server-side;
# aml-failover peak RSS <= 100 MiB. Prints a Markdown table and writes it to --out
# (default target/bench/results.md). Exit 0 when every measurement ran (targets missed or not),
# 1 when a measured command failed, 2 on bad usage or setup failure.
#
# Installs what it needs (Debian packages rclone and time, Azurite via scripts/setup.sh), builds
# release binaries, uses only loopback, never reads the user's rclone config, and removes every
# process and temp folder it started on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=0
OUT="$ROOT/target/bench/results.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --plan) shift; exec "$ROOT/scripts/bench/plan.sh" "$@" ;;
    --out) shift; [ $# -gt 0 ] || { echo "bench: --out needs a file" >&2; exit 2; }; OUT="$1" ;;
    --out=*) OUT="${1#--out=}" ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac

if [ "$QUICK" = 1 ]; then SMALL_COUNT=200; LARGE_MIB=16; MODE=quick; else SMALL_COUNT=2000; LARGE_MIB=256; MODE=full; fi
RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-600}     # seconds per measured command
BED_TIMEOUT=${BENCH_BED_TIMEOUT:-600}     # seconds for one test bed to start and seed

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

# --- Tools ---------------------------------------------------------------------------------------
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "missing $1 and no apt-get: install Debian's package '$1'"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing Debian package $1"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null || die "apt-get install $1 failed"
}
[ -x /usr/bin/time ] || apt_install time
command -v rclone >/dev/null 2>&1 || apt_install rclone
command -v python3 >/dev/null 2>&1 || apt_install python3
command -v timeout >/dev/null 2>&1 || die "missing 'timeout' (coreutils)"
[ -x "$ROOT/.tools/azurite/node_modules/.bin/azurite-blob" ] || "$ROOT/scripts/setup.sh"

# AzCopy, pinned, from npm (the package ships the Linux binary), into target/bench/azcopy.
AZCOPY_VERSION=10.32.2
AZCOPY=""
if [ "${BENCH_AZCOPY:-1}" != 0 ]; then
  AZCOPY_DIR="$ROOT/target/bench/azcopy"
  AZCOPY="$AZCOPY_DIR/node_modules/@azure-tools/azcopy-linux/dist/bin/azcopy_linux_amd64"
  if [ ! -f "$AZCOPY" ]; then
    command -v npm >/dev/null 2>&1 || die "missing npm (for AzCopy; or BENCH_AZCOPY=0)"
    say "installing AzCopy $AZCOPY_VERSION (npm @azure-tools/azcopy-linux)"
    mkdir -p "$AZCOPY_DIR"
    npm install --prefix "$AZCOPY_DIR" --no-audit --no-fund --silent "@azure-tools/azcopy-linux@$AZCOPY_VERSION" >/dev/null \
      || die "npm install @azure-tools/azcopy-linux@$AZCOPY_VERSION failed (or BENCH_AZCOPY=0)"
  fi
  chmod +x "$AZCOPY"
  if ldd "$AZCOPY" 2>/dev/null | grep -q 'libsecret-1.so.0 => not found'; then apt_install libsecret-1-0; fi
fi

say "building release binaries (aml-failover, aml-emulator)"
cargo build --release --locked --quiet -p aml-failover -p aml-emulator --bins \
  || die "cargo build --release failed: the benchmark needs a tree that builds"
BIN="${BENCH_BIN:-$ROOT/target/release/aml-failover}"   # BENCH_BIN: another build of the tool, for A/B runs
EMU="$ROOT/target/release/aml-emulator"

# ---- aml-failover copy: the lead's command (`aml-failover copy ... --server-side never|auto`). ----
# Until it lands, its rows say "aml-failover copy: not available yet" instead of failing.
COPY_AVAILABLE=0
COPY_HAS_MANIFEST=0
if "$BIN" copy --help >/dev/null 2>&1; then
  COPY_AVAILABLE=1
  # The manifest goes into the work folder, not into the current directory.
  if "$BIN" copy --help 2>/dev/null | grep -q -- '--manifest'; then COPY_HAS_MANIFEST=1; fi
fi

# --- Work folder, cleanup ------------------------------------------------------------------------
. "$ROOT/scripts/bench/lib.sh"
work_folder aml-failover-bench

# --- Data ----------------------------------------------------------------------------------------
SEED="$WORK/seed"
say "generating the seed folder ($MODE: $SMALL_COUNT small files + 2 x $LARGE_MIB MiB)"
t0=$(date +%s.%N)
DATA_JSON=$(python3 "$ROOT/scripts/bench/gen_seed.py" "$SEED" "$SMALL_COUNT" "$LARGE_MIB")
GEN_S=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
DATA_FILES=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["files"])' "$DATA_JSON")
DATA_BYTES=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["bytes"])' "$DATA_JSON")

# --- Test beds -----------------------------------------------------------------------------------
# start_bed N [UP-ARGS...]: `aml-emulator up --seed` (Azurite on disk under $WORK/tmp); sets BED_* variables.
start_bed() {
  local n=$1 dir="$WORK/bed$1" t0 t1 pid
  shift
  mkdir -p "$dir"
  say "starting test bed $n (Azurite + emulator $*) and seeding it"
  t0=$(date +%s.%N)
  TMPDIR="$WORK/tmp" "$EMU" up --seed "$SEED" "$@" --env-file "$dir/env" --state-file "$dir/state.json" \
    > "$dir/emulator.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  BED_PID=$pid
  wait_bed "$n" "$pid" "$dir"
  t1=$(date +%s.%N)
  BED_SEED_S=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$t1")
  BED_EMU_HWM_MIB=$(awk '/^VmHWM:/ {printf "%.0f", $2/1024}' "/proc/$pid/status" 2>/dev/null || echo "?")
  BED_DIR="$dir"
  BED_ENV="$dir/env"
  # aml-failover reads the bed's AML_FAILOVER_* variables (as scripts/demo.sh does).
  set -a; . "$BED_ENV"; set +a
  eval "$(python3 - "$dir/state.json" <<'PY'
import json, shlex, sys
s = json.load(open(sys.argv[1]))
p, f = s["primary"], s["failover"]
def arm(w):
    return (f"/subscriptions/{w['subscription_id']}/resourceGroups/{w['resource_group']}"
            f"/providers/Microsoft.MachineLearningServices/workspaces/{w['name']}")
out = {
    "BED_BLOB": s.get("blob_endpoint", s["azurite_blob_endpoint"]).rstrip("/"),
    "BED_P_ACCOUNT": p["storage_account"], "BED_P_KEY": p["storage_key"],
    "BED_P_CONTAINER": f"azureml-blobstore-{p['workspace_id']}", "BED_P_ARM": arm(p),
    "BED_F_ACCOUNT": f["storage_account"], "BED_F_KEY": f["storage_key"],
    "BED_F_CONTAINER": f"azureml-blobstore-{f['workspace_id']}", "BED_F_ARM": arm(f),
}
for k, v in out.items():
    print(f"{k}={shlex.quote(v)}")
PY
)"
  write_rclone_conf "$dir"
  local seeded
  seeded=$(grep -m1 '^seeded' "$dir/emulator.log" || true)
  say "test bed $n ready in ${BED_SEED_S}s (${seeded:-seed report missing}; emulator peak RSS ${BED_EMU_HWM_MIB} MiB)"
}

rcl() { timeout 300 rclone --config "$RCLONE_CONF" "$@"; }

# `rclone size --json` of a path -> "count bytes"
size_of() {
  rcl size --json "$1" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["count"], d["bytes"])' || echo "? ?"
}

# bed_cpu: CPU seconds (user + system) used so far by the current bed's emulator and its
# children (Azurite), from /proc/PID/stat; load does not distort it the way it does wall time.
bed_cpu() {
  local pids=("$BED_PID") c
  for c in $(pgrep -P "$BED_PID" 2>/dev/null || true); do pids+=("$c"); done
  python3 - "${pids[@]}" <<'PY'
import os, sys
tick = os.sysconf("SC_CLK_TCK"); total = 0
for pid in sys.argv[1:]:
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    except (OSError, IndexError, ValueError):
        pass
print(f"{total / tick:.2f}")
PY
}

# measure NAME CMD...: runs CMD under /usr/bin/time -v with a timeout; sets M_WALL (s), M_RSS (MiB), M_RC,
# M_CPU (the command's user + system CPU seconds) and M_BED_CPU (the bed's, Azurite's included, meanwhile).
measure() {
  local name=$1; shift
  local tf="$WORK/$name.time" t0 t1 c0 c1
  say "running $name"
  c0=$(bed_cpu)
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v -o "$tf" timeout --kill-after=10 "$RUN_TIMEOUT" "$@" > "$WORK/$name.out" 2> "$WORK/$name.err"
  M_RC=$?
  set -e
  t1=$(date +%s.%N)
  c1=$(bed_cpu)
  M_WALL=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$t0" "$t1")
  M_CPU=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$tf" 2>/dev/null || echo "?")
  M_BED_CPU=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$c0" "$c1")
  M_RSS=$(awk -F': ' '/Maximum resident set size/ {printf "%.1f", $2/1024}' "$tf" 2>/dev/null || true)
  [ -n "$M_RSS" ] || M_RSS="?"
  # time -v exits with the command's status; "Command exited with non-zero status" is in the file.
  if [ "$M_RC" != 0 ]; then
    say "$name exited $M_RC; last lines of its stderr:"
    tail -n 15 "$WORK/$name.err" >&2 || true
  fi
  say "$name: ${M_WALL}s, peak RSS ${M_RSS} MiB, CPU ${M_CPU} s (bed, Azurite included: ${M_BED_CPU} s), exit $M_RC"
}

# What aml-failover's JSON report says about how files went (counts of method values).
methods_of() {
  python3 - "$1" <<'PY'
import collections, json, sys
try:
    doc = json.load(open(sys.argv[1]))
except Exception as e:
    print(f"report not JSON ({type(e).__name__})"); sys.exit(0)
c = collections.Counter()
def walk(v):
    if isinstance(v, dict):
        for x in v.values(): walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str) and v in ("streamed", "server-side", "already-present"):
        c[v] += 1
walk(doc)
print(", ".join(f"{k}: {n}" for k, n in sorted(c.items())) or "no per-file methods in the report")
PY
}

# What rclone's -v log says it did: files copied by streaming and by server-side copy.
rclone_stats() {
  local f=$1 new ss
  new=$(grep -c 'Copied (new)' "$f" || true)
  ss=$(grep -c 'Copied (server-side copy)' "$f" || true)
  printf 'log: %s copied (new, streamed), %s copied (server-side copy)' "${new:-0}" "${ss:-0}"
}

declare -A WALL RSS RC NOTE
FAILED=0

aml_copy() {  # aml_copy ROW never|auto
  local row=$1 mode=$2
  if [ "$COPY_AVAILABLE" != 1 ]; then
    WALL[$row]="-"; RSS[$row]="-"; RC[$row]="na"; NOTE[$row]="aml-failover copy: not available yet"
    return
  fi
  local before after
  before=$(size_of "failover:$BED_F_CONTAINER")
  local extra=()
  [ "$COPY_HAS_MANIFEST" != 1 ] || extra=(--manifest "$WORK/$row.manifest.json")
  measure "$row" "$BIN" copy --from "$BED_P_ARM" --to "$BED_F_ARM" --kinds models --server-side "$mode" -q -o json "${extra[@]}"
  WALL[$row]=$M_WALL; RSS[$row]=$M_RSS; RC[$row]=$M_RC
  after=$(size_of "failover:$BED_F_CONTAINER")
  NOTE[$row]="CPU ${M_CPU} s, bed CPU ${M_BED_CPU} s; exit $M_RC; report: $(methods_of "$WORK/$row.out"); failover blobstore before: ${before% *} blobs, after: ${after% *} blobs / ${after#* } bytes"
  [ "$M_RC" = 0 ] || FAILED=1
}

azcopy_run() {  # azcopy_run ROW SRC DST FROM-TO
  local row=$1 src=$2 dst=$3 fromto=$4
  if [ -z "$AZCOPY" ]; then
    WALL[$row]="-"; RSS[$row]="-"; RC[$row]="na"; NOTE[$row]="left out (BENCH_AZCOPY=0)"
    return
  fi
  AZCOPY_LOG_LOCATION="$WORK/azcopy-logs" AZCOPY_JOB_PLAN_LOCATION="$WORK/azcopy-plans" AZCOPY_DISABLE_SYSLOG=true \
    measure "$row" "$AZCOPY" copy "$src" "$dst" --recursive --from-to "$fromto" --output-level essential
  WALL[$row]=$M_WALL; RSS[$row]=$M_RSS; RC[$row]=$M_RC
  NOTE[$row]="CPU ${M_CPU} s, bed CPU ${M_BED_CPU} s; exit $M_RC; $(grep -E 'Number of (File|Transfers) Transfers Completed|Total Number of Bytes Transferred|Final Job Status' "$WORK/$row.out" 2>/dev/null | tr -s ' ' | paste -sd ';' -)"
  [ "$M_RC" = 0 ] || FAILED=1
}

rclone_copy() {  # rclone_copy ROW SRC DST
  local row=$1 src=$2 dst=$3
  measure "$row" rclone --config "$RCLONE_CONF" copy -v --stats 0 "$src" "$dst"
  WALL[$row]=$M_WALL; RSS[$row]=$M_RSS; RC[$row]=$M_RC
  local got
  got=$(size_of "$dst")
  NOTE[$row]="CPU ${M_CPU} s, bed CPU ${M_BED_CPU} s; exit $M_RC; $(rclone_stats "$WORK/$row.err"); destination: ${got% *} blobs / ${got#* } bytes"
  [ "$M_RC" = 0 ] || FAILED=1
}

# --- Bed 1: streaming ----------------------------------------------------------------------------
start_bed 1
SEED1_S=$BED_SEED_S; SEED1_HWM=$BED_EMU_HWM_MIB
SRC_SIZE=$(size_of "primary:$BED_P_CONTAINER/LocalUpload")
say "source: primary:$BED_P_CONTAINER/LocalUpload = ${SRC_SIZE% *} blobs / ${SRC_SIZE#* } bytes (generated: $DATA_FILES files / $DATA_BYTES bytes)"
[ "$SRC_SIZE" = "$DATA_FILES $DATA_BYTES" ] || say "WARNING: the seeded blobs differ from the generated files"

rclone_copy rclone-streaming "primary:$BED_P_CONTAINER/LocalUpload" "failover:bench-rclone-stream/LocalUpload"
aml_copy aml-streaming never
if [ -n "$AZCOPY" ]; then
  P_SAS=$(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_P_ACCOUNT" "$BED_P_ACCOUNT" "$BED_P_KEY")
  F_SAS=$(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_F_ACCOUNT" "$BED_F_ACCOUNT" "$BED_F_KEY")
  rcl mkdir "failover:bench-azcopy" >/dev/null 2>&1 || true   # AzCopy does not create it on Azurite
  mkdir -p "$WORK/azcopy-local"
  azcopy_run azcopy-download "${P_SAS%%\?*}/$BED_P_CONTAINER/LocalUpload?${P_SAS#*\?}" "$WORK/azcopy-local" BlobLocal
  azcopy_run azcopy-upload "$WORK/azcopy-local/LocalUpload" "${F_SAS%%\?*}/bench-azcopy?${F_SAS#*\?}" LocalBlob
  rm -rf "$WORK/azcopy-local"
else
  azcopy_run azcopy-download - - -; azcopy_run azcopy-upload - - -
fi

# --- Bed 2: server-side --------------------------------------------------------------------------
if [ "$COPY_AVAILABLE" = 1 ]; then
  kill -TERM "${PIDS[@]}" 2>/dev/null || true
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
  rm -rf "$WORK/tmp"/* 2>/dev/null || true
  start_bed 2
  SEED2_S=$BED_SEED_S
else
  say "aml-failover copy is not available yet: rclone server-side runs in bed 1, no second bed"
  SEED2_S="-"
fi
rclone_copy rclone-server-side "primary:$BED_P_CONTAINER/LocalUpload" "primary:bench-rclone-ss/LocalUpload"
aml_copy aml-server-side auto

# --- Bed 3: server-side through the storage proxy (From URL) -------------------------------------
PROXY_ROWS=(rclone-server-side-proxy aml-server-side-proxy azcopy-s2s-proxy)
SEED3_S="-"
if [ "${BENCH_PROXY:-1}" != 0 ] && [ "$COPY_AVAILABLE" = 1 ]; then
  stop_beds
  rm -rf "$WORK/tmp"/* 2>/dev/null || true
  start_bed 3 --storage-proxy
  SEED3_S=$BED_SEED_S
  rclone_copy rclone-server-side-proxy "primary:$BED_P_CONTAINER/LocalUpload" "primary:bench-rclone-ss/LocalUpload"
  aml_copy aml-server-side-proxy auto
  if [ -n "$AZCOPY" ]; then
    P_SAS=$(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_P_ACCOUNT" "$BED_P_ACCOUNT" "$BED_P_KEY")
    F_SAS=$(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_F_ACCOUNT" "$BED_F_ACCOUNT" "$BED_F_KEY")
    rcl mkdir "failover:bench-azcopy-s2s" >/dev/null 2>&1 || true
    azcopy_run azcopy-s2s-proxy "${P_SAS%%\?*}/$BED_P_CONTAINER/LocalUpload?${P_SAS#*\?}" "${F_SAS%%\?*}/bench-azcopy-s2s?${F_SAS#*\?}" BlobBlob
  else
    azcopy_run azcopy-s2s-proxy - - -
  fi
else
  for row in "${PROXY_ROWS[@]}"; do WALL[$row]="-"; RSS[$row]="-"; RC[$row]="na"; NOTE[$row]="left out (BENCH_PROXY=0)"; done
fi

# --- Report --------------------------------------------------------------------------------------
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
for row in aml-streaming rclone-streaming azcopy-download azcopy-upload aml-server-side rclone-server-side "${PROXY_ROWS[@]}"; do
  printf '%s\t%s\t%s\t%s\t%s\n' "$row" "${WALL[$row]}" "${RSS[$row]}" "${RC[$row]}" "${NOTE[$row]//$'\t'/ }" >> "$RESULTS"
done
GIT_DIRTY=""
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || GIT_DIRTY=" + uncommitted changes"
BENCH_MODE=$MODE BENCH_DATA_FILES=$DATA_FILES BENCH_DATA_BYTES=$DATA_BYTES BENCH_SMALL=$SMALL_COUNT \
BENCH_LARGE_MIB=$LARGE_MIB BENCH_GEN_S=$GEN_S BENCH_SEED1_S=$SEED1_S BENCH_SEED1_HWM=$SEED1_HWM \
BENCH_SEED2_S=$SEED2_S BENCH_SEED3_S=$SEED3_S BENCH_LOAD="$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" BENCH_RCLONE="$(rclone version 2>/dev/null | head -n 1)" BENCH_AZCOPY_VERSION="${AZCOPY:+AzCopy $AZCOPY_VERSION}" \
BENCH_AZURITE="$(node -p "require('$ROOT/.tools/azurite/node_modules/azurite/package.json').version" 2>/dev/null || echo '?')" \
BENCH_GIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$GIT_DIRTY" BENCH_CORES="$(nproc)" \
  python3 "$ROOT/scripts/bench/report.py" "$RESULTS" "$OUT"
say "results written to $OUT"
exit "$FAILED"
