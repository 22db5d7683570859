"""Runs one benchmark task with the real `cnf` commands and prints one JSON line, in the peers'
format: train (a short `cnf fit` read back from metrics.csv), sample (`cnf sample`), density
(`cnf render`). Peak RSS is the cnf process's (getrusage of the only child).

Training starts from the base run's checkpoint, as the peers do. cnf has no "start from these
weights" option, so the base checkpoint is copied with its recorded configuration changed
(batch size, trace, evaluation cadence; the weights, Adam state and generators untouched) and
continued with `cnf fit --resume`.

    python cnf_task.py train   --cnf BIN --base RUN --work DIR --batch 100 --trace exact --warmup 3 --iters 10
    python cnf_task.py sample  --cnf BIN --base RUN --work DIR --n 100000
    python cnf_task.py density --cnf BIN --base RUN --work DIR --grid 512
"""
import argparse
import csv
import json
import os
import re
import resource
import shutil
import statistics
import struct
import subprocess
import sys


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"cnf failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return p.stdout + p.stderr, rss_mb


def rewrite_config(src, dst, **changes):
    """Copies a safetensors file, changing keys of the JSON configuration in its metadata."""
    with open(src, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    config = json.loads(header["__metadata__"]["cnf.config"])
    for path, v in changes.items():
        # Keys are "section__key" (the configuration is nested: training.batchSize, ...).
        *sections, k = path.split("__")
        node = config
        for s in sections:
            node = node.get(s)
            if not isinstance(node, dict):
                sys.exit(f"{src}: configuration has no section {s!r} (cnf's format changed?)")
        if k not in node:
            sys.exit(f"{src}: configuration has no key {path!r} (cnf's format changed?)")
        node[k] = v
    header["__metadata__"]["cnf.config"] = json.dumps(config, sort_keys=True)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(dst, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + blob[8 + n:])
    return config


def train(a):
    folder = os.path.join(a.work, f"cnf-train-{a.batch}-{a.trace}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    start_iter = read_iteration(a.base)
    total = start_iter + a.warmup + a.iters
    rewrite_config(os.path.join(a.base, "checkpoint.safetensors"), os.path.join(folder, "checkpoint.safetensors"),
                   training__batchSize=a.batch, density__trace=a.trace, validation__every=10 ** 9,
                   validation__size=100, training__iters=total)
    _, rss = run([a.cnf, "fit", "--resume", "--out", folder, "--iters", str(total), "--threads", str(a.threads)])
    with open(os.path.join(folder, "metrics.csv")) as f:
        rows = [r for r in csv.DictReader(f) if int(r["iteration"]) > start_iter + a.warmup]
    if len(rows) != a.iters:
        sys.exit(f"{folder}/metrics.csv: expected {a.iters} timed rows, found {len(rows)}")
    report(task="train", batch=a.batch, trace=a.trace, iters=a.iters, peak_rss_mb=rss,
           seconds_per_iter=statistics.median(float(r["seconds"]) for r in rows),
           nfe_forward=statistics.mean(int(r["nfe_forward"]) for r in rows),
           nfe_backward=statistics.mean(int(r["nfe_backward"]) for r in rows),
           final_loss=float(rows[-1]["loss"]))


def read_iteration(run_folder):
    with open(os.path.join(run_folder, "checkpoint.safetensors"), "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return int(json.loads(f.read(n))["__metadata__"]["cnf.iteration"])


def copy_model(a, name):
    folder = os.path.join(a.work, name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(os.path.join(a.base, f), folder)
    return folder


def sample(a):
    folder = copy_model(a, "cnf-sample")
    out, rss = run([a.cnf, "sample", "--run", folder, "--n", str(a.n), "--frames", "2", "--particles", "1",
                    "--threads", str(a.threads)])
    m = re.search(r"wrote (\d+) samples to .* \(([\d.]+) s, (\d+) function evaluations[;)]", out)
    if not m:
        sys.exit("cannot find the timing line in cnf sample's output:\n" + out[-2000:])
    report(task="sample", n=int(m[1]), seconds=float(m[2]), nfe=int(m[3]), peak_rss_mb=rss)


def density(a):
    folder = copy_model(a, "cnf-density")
    out, rss = run([a.cnf, "render", "--run", folder, "--grid", str(a.grid), "--samples", "1",
                    "--threads", str(a.threads)])
    m = re.search(r"\((\d+)² grid in ([\d.]+) s; mass inside the (?:square|window) ([\d.]+)\)", out)
    if not m:
        sys.exit("cannot find the timing line in cnf render's output:\n" + out[-2000:])
    report(task="density", grid=int(m[1]), seconds=float(m[2]), mass=float(m[3]), nfe=None, peak_rss_mb=rss)


def report(**fields):
    fields["impl"] = "cnf"
    fields["peak_rss_mb"] = round(fields["peak_rss_mb"], 1)
    print(json.dumps(fields), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("task", choices=["train", "sample", "density"])
    p.add_argument("--cnf", required=True, help="the cnf binary (release build)")
    p.add_argument("--base", required=True, help="the base run folder (weights to start from)")
    p.add_argument("--work", required=True, help="folder for the runs this makes")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--trace", choices=["hutchinson", "exact"], default="hutchinson")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iters", type=int, default=10)
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--grid", type=int, default=512)
    p.add_argument("--threads", type=int, default=2, help="cnf --threads")
    a = p.parse_args()
    {"train": train, "sample": sample, "density": density}[a.task](a)


if __name__ == "__main__":
    main()
