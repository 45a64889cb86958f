#!/usr/bin/env bash
# Planning benchmark: `aml-failover plan` over 10,000 asset versions of the local test bed.
#
#   scripts/bench/plan.sh [--versions N] [--runs K] [--out FILE]
#
# Bed 1 (fresh `aml-emulator up --bulk N`, Azurite data on disk): N asset versions in the
# primary workspace (1% environments, the rest models, 100 versions per container) created in
# the emulator's state from a few shared blobs (emulator/src/seed/bulk.rs). Every even version
# also exists in the failover workspace as `aml-failover copy` leaves it (its files' blobs record
# sha256 and the source version); versions numbered a multiple of 100 differ there. So the plan
# must say: copy N/2, skip N/2 - N/100, conflict N/100 (the seeder prints the exact numbers).
#
# Timed, K times (default 3) on bed 1: `aml-failover plan --from P --to F -o json` (or
# `copy --dry-run -o json` where `plan` does not exist yet), wall clock and peak RSS from
# /usr/bin/time -v, CPU of the tool and of Azurite, control-plane requests (the emulator's
# /_emulator/requests counters). Each run's JSON must list N items with the expected
# copy/skip/conflict counts (and the run exit 0 or 1), else the script exits 1.
# Bed 2 (same, with `--storage-proxy`): one more run, to count storage requests by kind; its
# time includes the proxy hop and is not the headline.
#
# Prints a Markdown table and writes it to --out (default target/bench/plan.md). Exit 0 when
# every run gave the expected plan, 1 when one did not, 2 on bad usage or setup failure.
# Builds release binaries, uses only loopback, removes every process and temp folder it started.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

VERSIONS=10000
RUNS=3
OUT="$ROOT/target/bench/plan.md"
while [ $# -gt 0 ]; do
  case "$1" in
    --versions) shift; VERSIONS=${1:-}; ;;
    --versions=*) VERSIONS="${1#--versions=}" ;;
    --runs) shift; RUNS=${1:-} ;;
    --runs=*) RUNS="${1#--runs=}" ;;
    --out) shift; [ $# -gt 0 ] || { echo "plan bench: --out needs a file" >&2; exit 2; }; OUT="$1" ;;
    --out=*) OUT="${1#--out=}" ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "plan bench: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$VERSIONS" in ''|*[!0-9]*) echo "plan bench: --versions wants a number" >&2; exit 2 ;; esac
case "$RUNS" in ''|*[!0-9]*|0) echo "plan bench: --runs wants a number >= 1" >&2; exit 2 ;; esac
case "$OUT" in /*) ;; *) OUT="$(pwd)/$OUT" ;; esac

RUN_TIMEOUT=${BENCH_RUN_TIMEOUT:-900}     # seconds per measured command
BED_TIMEOUT=${BENCH_BED_TIMEOUT:-300}     # seconds for one test bed to start and seed

say() { printf 'plan bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 2; }

command -v python3 >/dev/null 2>&1 || die "missing python3"
command -v timeout >/dev/null 2>&1 || die "missing 'timeout' (coreutils)"
if [ ! -x /usr/bin/time ]; then
  command -v apt-get >/dev/null 2>&1 || die "missing /usr/bin/time: install Debian's package 'time'"
  say "installing Debian package time"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null \
    || die "apt-get install time failed"
fi
[ -x "$ROOT/.tools/azurite/node_modules/.bin/azurite-blob" ] || "$ROOT/scripts/setup.sh"

say "building release binaries (aml-failover, aml-emulator)"
cargo build --release --locked --quiet -p aml-failover -p aml-emulator --bins \
  || die "cargo build --release failed: the benchmark needs a tree that builds"
BIN="$ROOT/target/release/aml-failover"
EMU="$ROOT/target/release/aml-emulator"
if "$BIN" plan --help >/dev/null 2>&1; then
  PLAN=(plan); PLAN_LABEL="aml-failover plan"
else
  PLAN=(copy --dry-run); PLAN_LABEL="aml-failover copy --dry-run"
fi
"$EMU" up --help 2>/dev/null | grep -q -- '--bulk' || die "this aml-emulator has no 'up --bulk'"

# --- Work folder, cleanup ------------------------------------------------------------------------
. "$ROOT/scripts/bench/lib.sh"
work_folder aml-failover-plan-bench
mkdir -p "$WORK/state"
export AML_FAILOVER_STATE_DIR="$WORK/state"   # plan writes nothing; never the user's state dir

# start_bed N [--storage-proxy]: `aml-emulator up --bulk $VERSIONS`; sets BED_* variables.
start_bed() {
  local n=$1 dir="$WORK/bed$1" t0 pid
  shift
  mkdir -p "$dir"
  say "starting test bed $n (Azurite + emulator, --bulk $VERSIONS $*)"
  t0=$(date +%s.%N)
  TMPDIR="$WORK/tmp" "$EMU" up --bulk "$VERSIONS" "$@" --env-file "$dir/env" --state-file "$dir/state.json" \
    > "$dir/emulator.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_bed "$n" "$pid" "$dir"
  BED_START_S=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)")
  BED_PID=$pid
  BED_AZURITE_PID=$(pgrep -P "$pid" -f azurite-blob 2>/dev/null | head -n 1 || true)
  BED_BULK=$(sed -n 's/^bulk-seeded //p' "$dir/emulator.log" | head -n 1)
  [ -n "$BED_BULK" ] || { say "test bed $n printed no bulk-seeded line:"; cat "$dir/emulator.log" >&2; exit 2; }
  # The tool reads the bed's AML_FAILOVER_* variables (as scripts/demo.sh does).
  set -a; . "$dir/env"; set +a
  local ws="/subscriptions/$EMU_SUBSCRIPTION/resourceGroups/$EMU_RESOURCE_GROUP/providers/Microsoft.MachineLearningServices/workspaces"
  BED_FROM="$ws/$EMU_PRIMARY_WORKSPACE"
  BED_TO="$ws/$EMU_FAILOVER_WORKSPACE"
  say "test bed $n ready in ${BED_START_S}s: $BED_BULK"
}

# admin METHOD PATH: the emulator's admin API (bearer = the bed's static token, its CA).
admin() {
  python3 - "$1" "$EMU_ADMIN_URL$2" <<'PY'
import os, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=os.environ.get("AML_FAILOVER_CA_CERT"))
req = urllib.request.Request(sys.argv[2], method=sys.argv[1], headers={"Authorization": "Bearer " + os.environ["AML_FAILOVER_ACCESS_TOKEN"]})
with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
    sys.stdout.write(r.read().decode() or "{}")
PY
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }

# plan_run NAME: one measured plan on the current bed; appends a line to $WORK/runs.jsonl.
plan_run() {
  local name=$1 tf="$WORK/$1.time" t0 t1 rc az0 az1 emu0 emu1
  admin DELETE /requests >/dev/null
  if [ -n "${BED_PROXY:-}" ]; then admin DELETE /storage-requests >/dev/null; fi
  az0=$(cpu_ticks "${BED_AZURITE_PID:-0}"); emu0=$(cpu_ticks "$BED_PID")
  say "running $name: $PLAN_LABEL over $VERSIONS versions"
  t0=$(date +%s.%N)
  set +e
  /usr/bin/time -v -o "$tf" timeout --kill-after=10 "$RUN_TIMEOUT" \
    "$BIN" "${PLAN[@]}" --from "$BED_FROM" --to "$BED_TO" -o json > "$WORK/$name.json" 2> "$WORK/$name.err"
  rc=$?
  set -e
  t1=$(date +%s.%N)
  az1=$(cpu_ticks "${BED_AZURITE_PID:-0}"); emu1=$(cpu_ticks "$BED_PID")
  admin GET /requests > "$WORK/$name.requests.json"
  if [ -n "${BED_PROXY:-}" ]; then admin GET /storage-requests > "$WORK/$name.storage.json"; else echo '{}' > "$WORK/$name.storage.json"; fi
  python3 - "$name" "$t0" "$t1" "$rc" "$tf" "$WORK/$name.json" "$WORK/$name.requests.json" "$WORK/$name.storage.json" \
    "$((az1 - az0))" "$((emu1 - emu0))" "$(getconf CLK_TCK)" "$BED_BULK" "${BED_PROXY:-}" >> "$WORK/runs.jsonl" <<'PY'
import collections, json, re, sys
name, t0, t1, rc, tf, out, reqs, sreqs, az, emu, tck, bulk, proxy = sys.argv[1:]
tck = float(tck)
r = {"name": name, "wall": float(t1) - float(t0), "rc": int(rc), "proxy": bool(proxy)}
tv = open(tf).read()
def field(label):
    m = re.search(r"^\s*" + re.escape(label) + r": (.*)$", tv, re.M)
    return m.group(1).strip() if m else None
r["rss_mib"] = float(field("Maximum resident set size (kbytes)") or 0) / 1024
r["tool_cpu"] = float(field("User time (seconds)") or 0) + float(field("System time (seconds)") or 0)
r["azurite_cpu"] = int(az) / tck
r["emulator_cpu"] = int(emu) / tck
expected = json.loads(bulk)["expected"]
r["expected"] = expected
try:
    doc = json.load(open(out))
    items = doc.get("items", [])
    r["items"] = len(items)
    r["actions"] = dict(collections.Counter(i.get("action") for i in items))
    r["files"] = doc.get("summary", {}).get("files")
    r["duration_ms"] = doc.get("durationMs")
except Exception as e:
    r["items"], r["actions"], r["error"] = 0, {}, f"output is not the report JSON ({type(e).__name__})"
cp = json.load(open(reqs)).get("counters", {})
r["control_plane"] = sum(cp.values())
r["control_plane_by_op"] = cp
if proxy:
    c = collections.Counter()
    for q in json.load(open(sreqs)).get("requests", []):
        query = q.get("query") or ""
        kind = "List Blobs" if "comp=list" in query else {"HEAD": "HEAD", "GET": "GET (read)"}.get(q["method"], q["method"])
        c[kind] += 1
    r["storage"] = sum(c.values())
    r["storage_by_kind"] = dict(c)
# Exit 0 or 1 (`plan --help` says conflicts make it 1; a dry run's planned conflicts may not).
ok = (r["items"] == sum(expected.values()) and all(r["actions"].get(k, 0) == v for k, v in expected.items())
      and sum(r["actions"].values()) == r["items"] and r["rc"] in (0, 1))
r["ok"] = ok
print(json.dumps(r))
PY
  local ok
  ok=$(python3 - "$WORK/runs.jsonl" <<'PY'
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[-1])
msg = (f"{r['wall']:.2f}s, peak RSS {r['rss_mib']:.1f} MiB, exit {r['rc']}, {r['items']} items {r['actions']}, "
       f"control plane {r['control_plane']} requests")
if "storage" in r:
    msg += f", storage {r['storage']} requests {r['storage_by_kind']}"
if not r["ok"]:
    msg += " -- NOT THE EXPECTED PLAN"
print(("ok " if r["ok"] else "bad ") + msg)
PY
)
  say "$name: ${ok#* }"
  case "$ok" in ok\ *) ;; *) FAILED=1; tail -n 15 "$WORK/$name.err" >&2 || true ;; esac
}

# --- Bed 1: timed runs ---------------------------------------------------------------------------
: > "$WORK/runs.jsonl"
FAILED=0
BED_PROXY=""
start_bed 1
BED1_START=$BED_START_S
for i in $(seq 1 "$RUNS"); do plan_run "run$i"; done

# --- Bed 2: storage requests counted through the storage proxy ----------------------------------
stop_beds
rm -rf "$WORK/tmp"/* 2>/dev/null || true
BED_PROXY=1
start_bed 2 --storage-proxy
plan_run counted

# --- Report --------------------------------------------------------------------------------------
GIT_DIRTY=""
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || GIT_DIRTY=" + uncommitted changes"
RC=0
python3 - "$WORK/runs.jsonl" "$OUT" "$VERSIONS" "$PLAN_LABEL" "$BED1_START" \
  "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$GIT_DIRTY" "$(nproc)" \
  "$(node -p "require('$ROOT/.tools/azurite/node_modules/azurite/package.json').version" 2>/dev/null || echo '?')" \
  "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')" <<'PY' || RC=$?
import json, os, statistics, sys
runs_file, out, n, label, bed_s, git, cores, azurite, load = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_file) if l.strip()]
timed = [r for r in runs if not r["proxy"]]
counted = [r for r in runs if r["proxy"]]
exp = runs[0]["expected"]
def row(r, title):
    a = r["actions"]
    return (f"| {title} | {r['wall']:.2f} | {r['rss_mib']:.1f} | {r['tool_cpu']:.1f} | {r['azurite_cpu']:.1f} | "
            f"{r['items']} | {a.get('copy', 0)} / {a.get('skip', 0)} / {a.get('conflict', 0)} | {r['rc']} | {r['control_plane']} | "
            f"{r.get('storage', '-')} | {'yes' if r['ok'] else 'NO'} |")
lines = [
    f"# aml-failover planning benchmark ({int(n):,} asset versions)",
    "",
    f"`{label} --from <primary> --to <failover> -o json` on the local test bed (`aml-emulator up --bulk {n}`, "
    f"Azurite {azurite}, data on disk). Expected plan: copy {exp['copy']}, skip {exp['skip']}, conflict {exp['conflict']}.",
    "",
    "| run | wall s | peak RSS MiB | tool CPU s | Azurite CPU s | items | copy / skip / conflict | exit | control-plane requests | storage requests | expected plan? |",
    "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|",
]
for i, r in enumerate(timed, 1):
    lines.append(row(r, f"bed 1, run {i}"))
if timed:
    med = statistics.median(r["wall"] for r in timed)
    lines.append(f"| **median of {len(timed)}** | **{med:.2f}** | {statistics.median(r['rss_mib'] for r in timed):.1f} | | | | | | | | |")
for r in counted:
    lines.append(row(r, "bed 2, via storage proxy"))
lines += ["", "Details:"]
if timed:
    ops = ", ".join(f"{k} {v}" for k, v in sorted(timed[0]["control_plane_by_op"].items()))
    lines.append(f"- Control-plane requests of run 1: {ops}.")
for r in counted:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(r.get("storage_by_kind", {}).items()))
    lines.append(f"- Storage requests (bed 2): {kinds}.")
lines += [
    f"- Setup, not timed: bed 1 start + bulk seed {bed_s} s. Tool: release build of {git}; {cores} cores; load average after the runs: {load}.",
    "- Bed 2 runs through the storage proxy (one more hop) to count storage requests; its time is not the headline.",
    "- Absolute times vary with the machine's load; the request counts do not.",
]
text = "\n".join(lines) + "\n"
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
open(out, "w").write(text)
print(text)
sys.exit(0 if all(r["ok"] for r in runs) else 1)
PY
[ "$FAILED" = 0 ] || RC=1
say "results written to $OUT"
exit "$RC"
