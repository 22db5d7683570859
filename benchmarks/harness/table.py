"""Turns the JSON lines of a `benchmarks/compare` run into Markdown tables (printed) and a
results file (with the machine description and the settings).

    python table.py RESULTS.jsonl MACHINE.json OUT.md

Per measurement the value shown is the median over trials of each trial's value (a trial's
training value is itself the median over its timed iterations); ratios are peer ÷ cnf, so
above 1 means cnf is faster (or smaller).
"""
import json
import os
import statistics
import subprocess
import sys

IMPLS = [("cnf", "cnf"), ("torchdiffeq", "torchdiffeq"), ("diffrax", "diffrax")]
TRAIN = [(100, "hutchinson"), (1000, "hutchinson"), (100, "exact"), (1000, "exact")]


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip().startswith("{")]


def pick(rows, impl, task, **keys):
    return [r for r in rows if r.get("impl") == impl and r.get("task") == task and "error" not in r
            and all(r.get(k) == v for k, v in keys.items())]


def med(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(x, digits=3):
    if x is None:
        return "–"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def ratio(peer, base):
    return "–" if peer is None or base is None or base == 0 else f"{peer / base:.2f}×"


def failures(rows):
    return [r for r in rows if "error" in r]


def train_table(rows):
    out = ["| batch | trace | implementation | s / iteration | NFE forward + backward | ms / NFE "
           "| peak RSS (MB) | s / iter ÷ cnf | ms / NFE ÷ cnf | JAX compile (s) | s / iter per trial |",
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for batch, trace in TRAIN:
        base = {}
        for impl, label in IMPLS:
            rs = pick(rows, impl, "train", batch=batch, trace=trace)
            if not rs:
                out.append(f"| {batch} | {trace} | {label} | failed | | | | | | | |")
                continue
            spi = med(rs, "seconds_per_iter")
            nf, nb = med(rs, "nfe_forward"), med(rs, "nfe_backward")
            ms = 1000 * spi / (nf + nb)
            if impl == "cnf":
                base = {"spi": spi, "ms": ms}
            trials = " ".join(fmt(r["seconds_per_iter"]) for r in sorted(rs, key=lambda r: r.get("trial", 0)))
            out.append(f"| {batch} | {trace} | {label} | {fmt(spi)} | {nf:.0f} + {nb:.0f} | {fmt(ms)} "
                       f"| {fmt(med(rs, 'peak_rss_mb'))} | {ratio(spi, base.get('spi'))} | {ratio(ms, base.get('ms'))} "
                       f"| {fmt(med(rs, 'compile_seconds'))} | {trials} |")
    return "\n".join(out)


def eval_table(rows, n, grid):
    out = [f"| implementation | sample {n:,} points (s) | NFE | ÷ cnf | density {grid}² grid (s) | NFE | ÷ cnf "
           "| mass on [-4,4]² | peak RSS sample / density (MB) | JAX compile sample / density (s) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = {}
    for impl, label in IMPLS:
        s, d = pick(rows, impl, "sample"), pick(rows, impl, "density")
        ss, ds = med(s, "seconds"), med(d, "seconds")
        if impl == "cnf":
            base = {"s": ss, "d": ds}
        out.append(f"| {label} | {fmt(ss)} | {fmt(med(s, 'nfe'))} | {ratio(ss, base.get('s'))} | {fmt(ds)} "
                   f"| {fmt(med(d, 'nfe'))} | {ratio(ds, base.get('d'))} | {fmt(med(d, 'mass'), 4)} "
                   f"| {fmt(med(s, 'peak_rss_mb'))} / {fmt(med(d, 'peak_rss_mb'))} "
                   f"| {fmt(med(s, 'compile_seconds'))} / {fmt(med(d, 'compile_seconds'))} |")
    return "\n".join(out)


def main():
    results, machine_path, out_path = sys.argv[1:4]
    rows = load(results)
    with open(machine_path) as f:
        m = json.load(f)
    s = m["settings"]
    tables = ("### Training (one iteration: batch, noise, forward solve, adjoint solve, Adam step)\n\n"
              + train_table(rows) + "\n\n### Sampling and density map\n\n"
              + eval_table(rows, s["n"], s["grid"]) + "\n")
    bad = failures(rows)
    if bad:
        tables += "\n**Failed runs:**\n\n" + "\n".join(
            f"- {r['impl']} {r['task']} {r.get('batch', '')} {r.get('trace', '')} (trial {r.get('trial')}): {r['error']}"
            for r in bad) + "\n"
    print(tables)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sources = subprocess.run(["git", "-C", root, "log", "-1", "--format=%h", m["commit"], "--", "Sources", "Package.swift"],
                             capture_output=True, text=True).stdout.strip() or "?"
    with open(out_path, "w") as f:
        f.write(f"# cnf beside torchdiffeq and diffrax\n\nMade by `benchmarks/compare{' --quick' if s['quick'] else ''}` "
                f"on {m['date']} at commit `{m['commit']}`{' (with uncommitted changes)' if m['dirty'] else ''} "
                f"(cnf's sources as of `{sources}`). "
                "Ratios are peer ÷ cnf: above 1× means cnf is faster (or smaller).\n\n")
        loads = [float(x) for x in (m["load_before"] + " " + m["load_after"]).split()]
        cores = os.cpu_count() or 1
        if max(loads) > 0.5 * cores:
            f.write(f"**The machine was busy during this run** (load average {m['load_before']} before, "
                    f"{m['load_after']} after, on {cores} cores; see below): each program got only part of the "
                    "CPU, so absolute times are inflated, and more so for code that waits on its own threads. "
                    "The implementations ran alternately, so the ratios are the meaningful part.\n\n")
        f.write(tables)
        f.write("\n### Machine and load\n\n")
        for k, v in m["machine"].items():
            f.write(f"- {k}: {v}\n")
        f.write(f"- load average (1, 5, 15 min) before: {m['load_before']}; after: {m['load_after']}\n")
        f.write(f"- other processes using > 10 % of a core when the run began: {m['busy_before'] or 'none'}\n")
        f.write(f"- wall time of the whole run: {m['wall_minutes']:.1f} min\n")
        f.write("\n### Versions\n\n")
        for k, v in m["versions"].items():
            f.write(f"- {k}: {v}\n")
        f.write("\n### Settings\n\n")
        f.write(f"- All three start every task from the same weights: a cnf run of {s['base_iters']} iterations "
                "(8gaussians, the default fit with a constant learning rate). Training tasks also continue its Adam "
                "state, so the first iterations are comparable.\n")
        f.write(f"- Training: {s['warmup']} warm-up iterations, then {s['iters']} timed; "
                f"{s['trials']} trial(s), run alternately (cnf, torchdiffeq, diffrax for each task, task after task, "
                "trial after trial).\n")
        f.write(f"- Threads: cnf `--threads 2` (its default; single-threaded OpenBLAS under its own 2 workers); "
                f"torch `torch.set_num_threads({s['peer_threads']})` with OMP_WAIT_POLICY=PASSIVE; "
                "JAX with XLA's default CPU thread pool (JAX_PLATFORMS=cpu).\n")
        f.write("- Notes: " + " ".join(m["notes"]) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
