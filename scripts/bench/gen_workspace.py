#!/usr/bin/env python3
"""Writes the workspace benchmark's seed: a team's workspace as `aml-emulator up --seed` and
`--seed-notebooks` load it (az ml v2 YAML + their local files).

    gen_workspace.py OUT_DIR SCALE

At scale 1.0 (counts and the large files' size scale with SCALE; at least one of each):
- 200 model versions: 3 of 1 GiB (`big-model-{a,b,c}`, one weights file each) and 197 small ones
  (40 names, up to 5 versions; a folder of 3 files, 16-512 KiB);
- 50 environment versions (10 names x 5: an image and a conda file);
- 300 command component versions (60 names x 5), each with its own code folder (2 files), using
  one of the environments;
- 50 pipeline jobs (3 steps on the components), completed, with 10,000 run-output files between
  them (outputs 90%, logs 10%; 1-64 KiB), as Azure ML lays them out in the workspace's storage;
- 2,000 notebooks under notebooks/Users/<20 users>/ (2-32 KiB).
Every byte is random (not compressible). Small files come from fixed seeds, the large ones
from os.urandom (the folder is generated once and cached by workspace.sh).
Writes OUT_DIR/primary (for --seed), OUT_DIR/notebooks (for --seed-notebooks) and prints one
JSON line with the counts and bytes of each part.
"""
import base64
import json
import os
import random
import sys

S = "https://azuremlschemas.azureedge.net/latest/"
CHUNK = 8 * 1024 * 1024


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def n_of(full, scale, least=1):
    return max(least, round(full * scale))


def main():
    out, scale = sys.argv[1], float(sys.argv[2])
    prim = os.path.join(out, "primary")
    rng = random.Random(16_2026)
    stats = {"scale": scale}

    def add(part, size):
        s = stats.setdefault(part, {"files": 0, "bytes": 0})
        s["files"] += 1
        s["bytes"] += size

    # --- Models --------------------------------------------------------------------------------
    large_mib = n_of(1024, scale)
    for tag in "abc":
        rel = f"files/big-model-{tag}/weights.bin"
        path = os.path.join(prim, "model", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        left = large_mib * 1024 * 1024
        with open(path, "wb") as f:
            while left:
                n = min(CHUNK, left)
                f.write(os.urandom(n))
                left -= n
        add("models", large_mib * 1024 * 1024)
        write(os.path.join(prim, "model", f"big-model-{tag}.yml"),
              f"$schema: {S}model.schema.json\nname: big-model-{tag}\nversion: 1\npath: {rel}\n"
              f"type: custom_model\ndescription: {large_mib} MiB of weights.\ntags:\n  team: vision\n")
    small = n_of(197, scale)
    for i in range(small):
        name, version = f"model-{i % 40:02d}", i // 40 + 1
        rel = f"files/{name}-v{version}"
        for fname, lo, hi in (("model.pkl", 64, 512), ("scaler.pkl", 16, 64), ("metrics.json", 16, 32)):
            size = rng.randint(lo * 1024, hi * 1024)
            write(os.path.join(prim, "model", rel, fname), rng.randbytes(size))
            add("models", size)
        write(os.path.join(prim, "model", f"{name}-v{version}.yml"),
              f"$schema: {S}model.schema.json\nname: {name}\nversion: {version}\npath: {rel}\n"
              f"type: custom_model\ntags:\n  team: tabular\n  run: r{i}\n")

    # --- Environments --------------------------------------------------------------------------
    envs = []
    for i in range(n_of(50, scale)):
        name, version = f"env-{i % 10:02d}", i // 10 + 1
        envs.append(f"{name}:{version}")
        write(os.path.join(prim, "environment", f"{name}-v{version}.conda.yml"),
              f"name: {name}\nchannels: [conda-forge]\ndependencies:\n  - python=3.{9 + i % 3}\n  - pip\n"
              f"  - pip: [scikit-learn==1.{i % 6}.0, pandas==2.{i % 3}.0, mlflow=={2 + i % 2}.{i % 10}.0]\n")
        write(os.path.join(prim, "environment", f"{name}-v{version}.yml"),
              f"$schema: {S}environment.schema.json\nname: {name}\nversion: {version}\n"
              f"image: mcr.microsoft.com/azureml/openmpi4.1.0-ubuntu20.04:2026{i:04d}\n"
              f"conda_file: {name}-v{version}.conda.yml\ndescription: team environment {i}\n")

    # --- Components ----------------------------------------------------------------------------
    comps = []
    for i in range(n_of(300, scale)):
        name, version = f"comp-{i % 60:02d}", i // 60 + 1
        comps.append(f"{name}:{version}")
        src = f"{name}-v{version}-src"
        main_py = f"# step {name} v{version}\nBLOB = {base64.b64encode(rng.randbytes(rng.randint(1024, 6144))).decode()!r}\n"
        write(os.path.join(prim, "component", src, "main.py"), main_py)
        add("component code", len(main_py))
        size = rng.randint(512, 4096)
        write(os.path.join(prim, "component", src, "util.bin"), rng.randbytes(size))
        add("component code", size)
        write(os.path.join(prim, "component", f"{name}-v{version}.yml"),
              f"$schema: {S}commandComponent.schema.json\nname: {name}\nversion: {version}\ntype: command\n"
              "inputs:\n  data:\n    type: uri_folder\n  epochs:\n    type: integer\n    default: 3\n"
              "outputs:\n  result:\n    type: uri_folder\n"
              f"code: ./{src}\nenvironment: azureml:{envs[i % len(envs)]}\n"
              "command: python main.py --data ${{inputs.data}} --epochs ${{inputs.epochs}} --out ${{outputs.result}}\n")

    # --- Pipeline jobs and their run outputs ---------------------------------------------------
    jobs = n_of(50, scale)
    outputs = max(jobs, n_of(10000, scale))
    for j in range(jobs):
        name = f"pipeline_run_{j:04d}"
        steps = [comps[(j * 3 + k) % len(comps)] for k in range(3)]
        body = (f"$schema: {S}pipelineJob.schema.json\nname: {name}\ntype: pipeline\n"
                f"experiment_name: team-pipelines-{j % 5}\ndisplay_name: nightly {j}\n"
                "outputs:\n  result:\n    type: uri_folder\njobs:\n")
        for k, c in enumerate(steps):
            body += f"  step{k}:\n    type: command\n    component: azureml:{c}\n"
            body += f"    outputs:\n      result: ${{{{parent.outputs.result}}}}\n" if k == 2 else ""
        write(os.path.join(prim, "jobs", f"{name}.yml"), body)
        mine = outputs // jobs + (1 if j < outputs % jobs else 0)
        run = os.path.join(prim, "jobs", f"{name}.run")
        for f in range(mine):
            size = rng.randint(1024, 64 * 1024)
            if f % 10 == 9:
                rel = f"artifacts/user_logs/std_log_{f:04d}.txt"
            else:
                rel = f"outputs/result/part-{f % 8}/chunk-{f:05d}.bin"
            write(os.path.join(run, rel), rng.randbytes(size))
            add("run outputs", size)

    # --- Notebooks -----------------------------------------------------------------------------
    users = 20
    for i in range(n_of(2000, scale)):
        user = f"user{i % users:02d}"
        payload = base64.b64encode(rng.randbytes(rng.randint(1536, 24 * 1024))).decode()
        nb = {"cells": [{"cell_type": "code", "execution_count": 1, "metadata": {}, "source": [f"# analysis {i}\n"],
                         "outputs": [{"output_type": "display_data", "data": {"image/png": payload}, "metadata": {}}]}],
              "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        text = json.dumps(nb)
        write(os.path.join(out, "notebooks", "Users", user, f"project-{i % 7}", f"analysis-{i:04d}.ipynb"), text)
        add("notebooks", len(text))

    print(json.dumps(stats))


if __name__ == "__main__":
    main()
