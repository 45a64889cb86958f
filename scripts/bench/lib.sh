# Shared by scripts/bench.sh and scripts/bench/plan.sh (sourced, not run).

# stop_beds: stops every process in PIDS (the emulators started, then their Azurite children):
# TERM, up to 5 s to exit, then KILL; empties PIDS.
stop_beds() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  PIDS=()
}

# work_folder PREFIX: makes WORK (a temp folder with tmp/) and the folder of OUT, empties PIDS,
# and on exit stops every bed started and removes WORK.
work_folder() {
  mkdir -p "$(dirname "$OUT")"
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  mkdir -p "$WORK/tmp"
  PIDS=()   # emulators we started, then their Azurite children
  trap 'stop_beds; rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM
}
