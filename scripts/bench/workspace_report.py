#!/usr/bin/env python3
"""The workspace benchmark's Markdown table (scripts/bench/workspace.sh), from its work folder.

    workspace_report.py WORK_DIR OUT_FILE

Reads WORK_DIR/phases.jsonl (one line per measured command: name, wall, rc, rss_mib, cpu),
WORK_DIR/floor.json, each phase's failover-report.json copy and time-stamped stderr, and the
BENCH_* variables workspace.sh sets. Prints the table and writes it to OUT_FILE.
"""
import datetime
import json
import os
import re
import sys

FAILOVER_TARGET_S = 300.0
RERUN_RATIO = 0.2
FLOOR_RATIO = 1.5
RSS_TARGET_MIB = 100.0


def steps_of(work, phase):
    """Each step of a failover report with its manifest's duration and what it moved:
    'assets done 41.2 s (594 files, 3,140 MiB moved)'."""
    try:
        r = json.load(open(os.path.join(work, f"{phase}.report.json")))
    except (OSError, ValueError):
        return []
    out = []
    for s in r.get("steps", []):
        text = f"{s['name']} {s['outcome']}"
        try:
            m = json.load(open(s["manifest"])) if s.get("manifest") else None
        except (OSError, ValueError):
            m = None
        if m is None and s["name"] == "assets":
            try:
                m = json.load(open(os.path.join(work, phase, "failover-snapshot-restore.json")))
            except (OSError, ValueError):
                m = None
        if m and "durationMs" in m:
            sm = m.get("summary", {})
            files = sm.get("files", sm.get("filesUploaded"))
            moved = sm.get("bytesTransferred")
            what = [f"{files:,} files"] if files is not None else []
            if moved is not None:
                what.append(f"{moved / 2**20:,.0f} MiB moved")
            text += f" {m['durationMs'] / 1000:.1f} s" + (f" ({', '.join(what)})" if what else "")
        out.append(text)
    return out


def log_count(work, name, pattern):
    """How many lines of a measured command's stderr match pattern."""
    try:
        return sum(1 for line in open(os.path.join(work, f"{name}.err"), errors="replace") if re.search(pattern, line))
    except OSError:
        return 0


def main():
    work, out = sys.argv[1], sys.argv[2]
    env = os.environ.get
    phases = {}
    for line in open(os.path.join(work, "phases.jsonl")):
        if line.strip():
            p = json.loads(line)
            phases[p["name"]] = p
    floor = json.load(open(os.path.join(work, "floor.json")))
    stats = json.loads(env("BENCH_SEED_STATS", "{}"))
    fbytes = sum(int(v.split()[1]) for v in floor.values())
    fcount = sum(int(v.split()[0]) for v in floor.values())

    def wall(n):
        return phases[n]["wall"] if n in phases else None

    def fmt(x, unit="s"):
        return "-" if x is None else f"{x:.1f} {unit}".strip()

    def verdict(ok):
        return "met" if ok else "**missed**"

    up, rerun, rcl, down, exp = (wall(n) for n in ("failover-up", "failover-rerun", "rclone", "failover-down", "snapshot-export"))
    rows = [
        ("rclone floor: the same blob bytes", "rclone", "-", "-"),
        ("1. `failover`, both regions up", "failover-up",
         f"{up / rcl:.2f} x rclone" if up and rcl else "-",
         f"<= {FAILOVER_TARGET_S:.0f} s: {verdict(up is not None and up <= FAILOVER_TARGET_S)}; "
         f"<= {FLOOR_RATIO} x rclone: {verdict(bool(up and rcl) and up <= FLOOR_RATIO * rcl)}"),
        ("2. `failover` again, nothing changed", "failover-rerun",
         f"{rerun / up:.3f} x phase 1" if rerun and up else "-",
         f"<= {RERUN_RATIO} x phase 1: {verdict(bool(rerun and up) and rerun <= RERUN_RATIO * up)}"),
        ("3a. `snapshot export` (pre-staging)", "snapshot-export", f"{exp / rcl:.2f} x rclone" if exp and rcl else "-", "-"),
        ("3b. `failover --snapshot`, primary region down", "failover-down",
         f"{down / rcl:.2f} x rclone" if down and rcl else "-",
         f"<= {FAILOVER_TARGET_S:.0f} s: {verdict(down is not None and down <= FAILOVER_TARGET_S)}"),
    ]
    seeded = ", ".join(f"{k} {v['files']:,} files / {v['bytes'] / 2**20:,.0f} MiB" for k, v in stats.items() if isinstance(v, dict))
    lines = [
        f"# aml-failover workspace benchmark (scale {stats.get('scale', '?')})",
        "",
        f"Seeded primary: {seeded}. The rclone floor copies the primary's blobstore and artifact "
        f"containers: {fcount:,} blobs / {fbytes / 2**20:,.0f} MiB (notebooks are not in it: rclone 1.60 has no Azure Files backend).",
        "",
        "| phase | wall | peak RSS | CPU (user+sys) | exit | ratio | target |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for title, name, ratio, target in rows:
        p = phases.get(name)
        if not p:
            lines.append(f"| {title} | not run | | | | | {target} |")
            continue
        rss = f"{p['rss_mib']:.0f} MiB"
        if name != "rclone" and p["rss_mib"] > RSS_TARGET_MIB:
            rss += " (> 100)"
        lines.append(f"| {title} | {p['wall']:.1f} s | {rss} | {p['cpu']:.1f} s | {p['rc']} | {ratio} | {target} |")
    lines += ["", "Details:"]
    for name, phase in (("failover-up", "phase1"), ("failover-rerun", "phase2"), ("failover-down", "phase3")):
        st = steps_of(work, phase)
        probes = log_count(work, name, r"offers no Put Blob/Block From URL")
        if st:
            lines.append(f"- {name}: steps {'; '.join(st)}"
                         + (f"; {probes:,} log lines 'offers no Put Blob/Block From URL ... using Copy Blob'" if probes else "") + ".")
    lines += [
        f"- Setup, not timed: bed 1 start + seed {env('BENCH_SEED1_S', '?')} s, bed 2 {env('BENCH_SEED2_S', '?')} s.",
        f"- {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; release build of {env('BENCH_GIT', '?')}; "
        f"{env('BENCH_MACHINE', '?')}; Azurite {env('BENCH_AZURITE', '?')} on disk; {env('BENCH_RCLONE', '?')}.",
        f"- Load average (1/5/15 min) before: {env('BENCH_LOAD_BEFORE', '?')}; after: {env('BENCH_LOAD_AFTER', '?')}. "
        "Absolute times vary with the machine's load.",
    ]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    open(out, "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
