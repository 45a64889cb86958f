#!/usr/bin/env python3
"""Renders scripts/bench.sh's measurements as the Markdown results table.

    report.py RESULTS_TSV OUT_MD      (the rest comes in BENCH_* environment variables)

RESULTS_TSV lines: row, wall s, peak RSS MiB, exit code ("na": command not available), note.
Prints the Markdown and writes it to OUT_MD.
"""
import os
import sys

TARGETS = {
    "aml-streaming": ("rclone-streaming", 0.7),
    "aml-server-side": ("rclone-server-side", 1.0),
    "aml-server-side-proxy": ("rclone-server-side-proxy", 1.0),
}
RSS_LIMIT_MIB = 100.0
LABELS = [
    ("aml-streaming", "aml-failover streaming"),
    ("rclone-streaming", "rclone streaming"),
    ("azcopy-download", "AzCopy download (blob -> local)"),
    ("azcopy-upload", "AzCopy upload (local -> blob)"),
    ("aml-server-side", "aml-failover server-side"),
    ("rclone-server-side", "rclone server-side"),
    ("aml-server-side-proxy", "aml-failover server-side, From URL (proxy)"),
    ("rclone-server-side-proxy", "rclone server-side (proxy)"),
    ("azcopy-s2s-proxy", "AzCopy service-to-service (proxy)"),
]
HOW = {
    "aml-streaming": "`aml-failover copy --kinds models --server-side never` (bed 1)",
    "rclone-streaming": "`rclone copy primary:<blobstore>/LocalUpload failover:<new container>/LocalUpload` (bed 1)",
    "azcopy-download": "`azcopy copy <primary>/<blobstore>/LocalUpload <local> --recursive --from-to BlobLocal` (bed 1)",
    "azcopy-upload": "`azcopy copy <local>/LocalUpload <failover>/<new container> --recursive --from-to LocalBlob` (bed 1)",
    "aml-server-side": "`aml-failover copy --kinds models --server-side auto` (bed 2)",
    "rclone-server-side": "`rclone copy primary:<blobstore>/LocalUpload primary:<new container>/LocalUpload` (one remote)",
    "aml-server-side-proxy": "`aml-failover copy --kinds models --server-side auto` (bed 3: storage proxy, Put Blob/Block From URL)",
    "rclone-server-side-proxy": "`rclone copy primary:<blobstore>/LocalUpload primary:<new container>/LocalUpload` (bed 3, through the proxy)",
    "azcopy-s2s-proxy": "`azcopy copy <primary>/<blobstore>/LocalUpload <failover>/<new container> --recursive --from-to BlobBlob` (bed 3)",
}


def num(s):
    try:
        return float(s)
    except ValueError:
        return None


def main():
    tsv, out = sys.argv[1], sys.argv[2]
    env = os.environ.get
    res = {}
    for line in open(tsv):
        row, wall, rss, rc, note = (line.rstrip("\n").split("\t") + [""] * 5)[:5]
        res[row] = {"wall": wall, "rss": rss, "rc": rc, "note": note}
    # Older result files have no bed 3.
    for key, _ in LABELS:
        res.setdefault(key, {"wall": "-", "rss": "-", "rc": "na", "note": "not run"})

    table = []
    for key, label in LABELS:
        r = res[key]
        if key in TARGETS:
            ref, limit = TARGETS[key]
            target = f"<= {limit:.1f}x, RSS <= {RSS_LIMIT_MIB:.0f} MiB"
            if r["rc"] == "na":
                table.append((label, "-", "-", "-", target, r["note"] or "not run"))
                continue
            w, m, rw = num(r["wall"]), num(r["rss"]), num(res[ref]["wall"])
            ratio = w / rw if (w is not None and rw) else None
            if r["rc"] != "0":
                met = f"no: failed (exit {r['rc']})"
            elif res[ref]["rc"] != "0":
                met = "? (rclone failed)"
            else:
                t_ok = ratio is not None and ratio <= limit
                m_ok = m is not None and m <= RSS_LIMIT_MIB
                met = f"time {'yes' if t_ok else 'NO'}, RSS {'yes' if m_ok else 'NO'}"
            table.append((label, r["wall"], r["rss"], f"{ratio:.2f}" if ratio is not None else "?", target, met))
        elif key.startswith("azcopy"):
            met = {"0": "second peer", "na": "left out"}.get(r["rc"], f"failed (exit {r['rc']})")
            ref = num(res["rclone-server-side-proxy"]["wall"]) if key == "azcopy-s2s-proxy" else None
            w = num(r["wall"])
            ratio = f"{w / ref:.2f}" if (ref and w is not None and r["rc"] == "0") else "-"
            table.append((label, r["wall"], r["rss"], ratio, "-", met))
        else:
            if r["rc"] == "na":
                table.append((label, "-", "-", "-", "-", r["note"] or "left out"))
                continue
            met = "reference" if r["rc"] == "0" else f"failed (exit {r['rc']})"
            table.append((label, r["wall"], r["rss"], "1.00", "-", met))

    lines = [
        f"# aml-failover benchmark ({env('BENCH_MODE', '?')})",
        "",
        f"Data: {env('BENCH_DATA_FILES')} files, {env('BENCH_DATA_BYTES')} bytes "
        f"({env('BENCH_SMALL')} files of 1-64 KiB + 2 x {env('BENCH_LARGE_MIB')} MiB) as 3 model versions "
        f"seeded into the primary workspace of the local test bed (Azurite {env('BENCH_AZURITE')}, data on disk).",
        "",
        "| run | wall s | peak RSS MiB | ratio vs rclone | target | met? |",
        "|---|---:|---:|---:|---|---|",
    ]
    lines += ["| " + " | ".join(t) + " |" for t in table]
    a, d, u = (num(res.get(k, {}).get("wall", "")) for k in ("aml-streaming", "azcopy-download", "azcopy-upload"))
    if a and d and u and all(res[k]["rc"] == "0" for k in ("aml-streaming", "azcopy-download", "azcopy-upload")):
        lines += ["", f"aml-failover streaming vs AzCopy download + upload ({d + u:.2f} s, the same bytes account to account "
                  f"through a local folder): ratio {a / (d + u):.2f}."]
    lines += ["", "Details:"]
    for key, label in LABELS:
        lines.append(f"- {label}: {HOW[key]}: {res[key]['note']}")
    lines += [
        f"- Setup, not timed: data generation {env('BENCH_GEN_S')} s; bed 1 start + seed {env('BENCH_SEED1_S')} s "
        f"(emulator peak RSS {env('BENCH_SEED1_HWM')} MiB); bed 2 start + seed {env('BENCH_SEED2_S')} s; "
        f"bed 3 start + seed {env('BENCH_SEED3_S', '-')} s. Load average at the end: {env('BENCH_LOAD', '?')}.",
        f"- Tools: {env('BENCH_RCLONE')} (default flags: --transfers 4 --checkers 8); {env('BENCH_AZCOPY_VERSION') or 'no AzCopy'}; aml-failover release build of "
        f"{env('BENCH_GIT')}; {env('BENCH_CORES')} cores.",
        "- In each bed rclone runs first. Ratios compare runs of this invocation only (same machine, same data); "
        "absolute times vary with the machine's load.",
    ]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
