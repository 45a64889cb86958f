#!/usr/bin/env python3
"""Writes the benchmark's seed folder for `aml-emulator up --seed` (az ml v2 model YAML + files).

    gen_seed.py OUT_DIR SMALL_COUNT LARGE_MIB

- model `bench-small` (version 1): a folder of SMALL_COUNT files, sizes spread 1..64 KiB, in
  20 sub-folders (like a run's outputs);
- models `bench-large-a` and `bench-large-b` (version 1): one file of LARGE_MIB MiB each.

Content is pseudo-random from fixed seeds, so every run (and every bed) has the same bytes.
Prints one JSON line: {"files": N, "bytes": B}.
"""
import json
import os
import random
import sys

SCHEMA = "https://azuremlschemas.azureedge.net/latest/model.schema.json"
CHUNK = 4 * 1024 * 1024


def model_yaml(path, name, rel, description):
    with open(path, "w") as f:
        f.write(
            f"$schema: {SCHEMA}\n"
            f"name: {name}\n"
            "version: 1\n"
            f"path: {rel}\n"
            "type: custom_model\n"
            f"description: {description}\n"
            "tags:\n  purpose: benchmark\n"
        )


def main():
    out, small_count, large_mib = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    model_dir = os.path.join(out, "model")
    files_dir = os.path.join(model_dir, "files")
    small_dir = os.path.join(files_dir, "bench-small")
    os.makedirs(small_dir, exist_ok=True)
    total_files = total_bytes = 0

    rng = random.Random(20250101)
    for i in range(small_count):
        sub = os.path.join(small_dir, f"part-{i % 20:02d}")
        os.makedirs(sub, exist_ok=True)
        size = rng.randint(1024, 64 * 1024)
        with open(os.path.join(sub, f"file-{i:05d}.bin"), "wb") as f:
            f.write(rng.randbytes(size))
        total_files += 1
        total_bytes += size
    model_yaml(os.path.join(model_dir, "bench-small.yml"), "bench-small", "files/bench-small",
               f"{small_count} small files (1-64 KiB), benchmark data.")

    for tag, seed in (("a", 1), ("b", 2)):
        d = os.path.join(files_dir, f"large-{tag}")
        os.makedirs(d, exist_ok=True)
        rng = random.Random(seed)
        remaining = large_mib * 1024 * 1024
        with open(os.path.join(d, "weights.bin"), "wb") as f:
            while remaining:
                n = min(CHUNK, remaining)
                f.write(rng.randbytes(n))
                remaining -= n
        total_files += 1
        total_bytes += large_mib * 1024 * 1024
        model_yaml(os.path.join(model_dir, f"bench-large-{tag}.yml"), f"bench-large-{tag}",
                   f"files/large-{tag}/weights.bin", f"One {large_mib} MiB file, benchmark data.")

    print(json.dumps({"files": total_files, "bytes": total_bytes}))


if __name__ == "__main__":
    main()
