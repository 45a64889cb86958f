# Shared by scripts/bench.sh, scripts/bench/plan.sh and scripts/bench/workspace.sh (sourced, not run).

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

# adopt_children PID: adds PID's children (Azurite, under the emulator) to PIDS, so cleanup gets
# them even if the emulator dies hard.
adopt_children() {
  local c
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    case " ${PIDS[*]} " in *" $c "*) ;; *) PIDS+=("$c") ;; esac
  done
}

# wait_bed N PID DIR: waits until the `aml-emulator up` started as PID has written DIR/env and
# DIR/state.json (its children adopted on the way); exits 2 with its log if it dies or is not
# ready within BED_TIMEOUT seconds.
wait_bed() {
  local n=$1 pid=$2 dir=$3
  local deadline=$(( $(date +%s) + BED_TIMEOUT ))
  until [ -s "$dir/env" ] && [ -s "$dir/state.json" ]; do
    adopt_children "$pid"
    kill -0 "$pid" 2>/dev/null || { say "test bed $n failed to start:"; cat "$dir/emulator.log" >&2; exit 2; }
    [ "$(date +%s)" -lt "$deadline" ] || { say "test bed $n not ready within ${BED_TIMEOUT}s:"; tail -n 40 "$dir/emulator.log" >&2; exit 2; }
    sleep 0.2
  done
  adopt_children "$pid"
}

# write_rclone_conf DIR: RCLONE_CONF=DIR/rclone.conf with two azureblob remotes on this Azurite,
# `primary` and `failover` (BED_BLOB, BED_P_ACCOUNT/KEY, BED_F_ACCOUNT/KEY), in a private file
# (never the user's). Account SAS URLs: rclone 1.60 cannot sign path-style URLs for other
# accounts than Azurite's dev account (see scripts/bench/account_sas.py).
write_rclone_conf() {
  RCLONE_CONF="$1/rclone.conf"
  ( umask 077; cat > "$RCLONE_CONF" <<EOF
[primary]
type = azureblob
sas_url = $(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_P_ACCOUNT" "$BED_P_ACCOUNT" "$BED_P_KEY")

[failover]
type = azureblob
sas_url = $(python3 "$ROOT/scripts/bench/account_sas.py" "$BED_BLOB/$BED_F_ACCOUNT" "$BED_F_ACCOUNT" "$BED_F_KEY")
EOF
  )
}
