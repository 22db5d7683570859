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


def ms_per_nfe(rows, impl, batch, trace, threads):
    rs = pick(rows, impl, "train", batch=batch, trace=trace, threads=threads)
    if not rs:
        return None
    spi = med(rs, "seconds_per_iter")
    return 1000 * spi / (med(rs, "nfe_forward") + med(rs, "nfe_backward"))


def status(value, target):
    return "–" if value is None else ("met" if value >= target else "**missed**")


def targets_table(rows, thread_counts):
    """The issue's targets (cnf issue 12), ratio peer ÷ cnf, at each thread count."""
    out = ["| workload | threads | vs | target | measured | |", "|---|---:|---|---:|---:|---|"]
    for t in thread_counts:
        for batch, peer, target in [(100, "diffrax", 4), (100, "torchdiffeq", 20), (1000, "diffrax", 2.5), (1000, "torchdiffeq", 10)]:
            for trace in ("hutchinson", "exact"):
                c, p = ms_per_nfe(rows, "cnf", batch, trace, t), ms_per_nfe(rows, peer, batch, trace, t)
                r = None if c is None or p is None else p / c
                out.append(f"| train batch {batch}, {trace}, ms/NFE | {t} | {peer} | ≥ {target}× | "
                           f"{'–' if r is None else f'{r:.2f}×'} | {status(r, target)} |")
        for task, label in (("sample", "sample"), ("density", "density map")):
            c, p = med(pick(rows, "cnf", task, threads=t), "seconds"), med(pick(rows, "diffrax", task, threads=t), "seconds")
            r = None if not c or p is None else p / c
            out.append(f"| {label} | {t} | diffrax | ≥ 1.5× | {'–' if r is None else f'{r:.2f}×'} | {status(r, 1.5)} |")
    return "\n".join(out)


def bound_table(rows):
    """Single-thread sgemm of each library and cnf bench's rates against the best of them."""
    libs = [r for r in rows if r.get("task") == "sgemm" and "gflops" in r]
    if not libs:
        return ""
    best = max(libs, key=lambda r: r["gflops"])
    out = ["| single-thread sgemm 1000×64·64×64 | GFLOP/s |", "|---|---:|"]
    out += [f"| {r['library']} | {r['gflops']:.1f} |" for r in libs]
    out += ["", f"cnf bench (1 thread) against the best sgemm here ({best['gflops']:.1f} GFLOP/s, {best['library']}): "
            "÷ bound = time ÷ (matrix-product FLOPs ÷ best sgemm rate); the target is ≤ 1.3.", "",
            "| batch | trace | evaluate µs | evaluate GFLOP/s | evaluate ÷ bound | VJP µs | VJP GFLOP/s | VJP ÷ bound |",
            "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        if r.get("task") == "bench" and r.get("threads") == 1:
            out.append(f"| {r['batch']} | {r['trace']} | {r['evaluate_us']:.1f} | {r['evaluate_gflops']:.1f} | "
                       f"{best['gflops'] / r['evaluate_gflops']:.2f} | {r['vjp_us']:.1f} | {r['vjp_gflops']:.1f} | "
                       f"{best['gflops'] / r['vjp_gflops']:.2f} |")
    return "\n".join(out)


def train_table(rows, threads=None):
    out = ["| batch | trace | implementation | s / iteration | NFE forward + backward | ms / NFE "
           "| peak RSS (MB) | s / iter ÷ cnf | ms / NFE ÷ cnf | JAX compile (s) | s / iter per trial |",
           "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for batch, trace in TRAIN:
        base = {}
        for impl, label in IMPLS:
            rs = pick(rows, impl, "train", batch=batch, trace=trace, threads=threads)
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


def eval_table(rows, n, grid, threads=None):
    out = [f"| implementation | sample {n:,} points (s) | NFE | ÷ cnf | density {grid}² grid (s) | NFE | ÷ cnf "
           "| mass on [-4,4]² | peak RSS sample / density (MB) | JAX compile sample / density (s) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base = {}
    for impl, label in IMPLS:
        s, d = pick(rows, impl, "sample", threads=threads), pick(rows, impl, "density", threads=threads)
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
    thread_counts = s.get("threads") or [None]
    tables = ""
    if thread_counts != [None]:
        tables += "### Targets (cnf issue 12; ratios of ms per NFE or of seconds, peer ÷ cnf)\n\n" + targets_table(rows, thread_counts) + "\n\n"
    for t in thread_counts:
        head = "" if t is None else f", {t} thread{'s' if t > 1 else ''} each"
        tables += (f"### Training{head} (one iteration: batch, noise, forward solve, adjoint solve, Adam step)\n\n"
                   + train_table(rows, t) + f"\n\n### Sampling and density map{head}\n\n"
                   + eval_table(rows, s["n"], s["grid"], t) + "\n\n")
    bound = bound_table(rows)
    if bound:
        tables += "### The FLOP bound (measured in this run)\n\n" + bound + "\n"
    bad = failures(rows)
    bad = [r for r in bad if r.get("task") != "sgemm"] + [
        {"impl": r.get("library"), "task": "sgemm", "error": r["error"]} for r in bad if r.get("task") == "sgemm"]
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
        # Busy = other work when the run began: the 1-minute load before it, or processes using
        # the CPU then. The load after it is mostly the benchmark's own (its 2-thread tasks load
        # both cores), so it is reported below but does not count.
        before = [float(x) for x in m["load_before"].split()]
        cores = os.cpu_count() or 1
        if (before and before[0] > 0.5 * cores) or m["busy_before"]:
            f.write(f"**The machine was busy when this run began** (load average {m['load_before']} before, "
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
        if "threads" in s:
            f.write(f"- Threads: each task at {' and '.join(map(str, s['threads']))} thread(s) for all three: cnf `--threads N` "
                    "(its own N workers over single-threaded OpenBLAS), torch `torch.set_num_threads(N)` with "
                    "OMP_WAIT_POLICY=PASSIVE, JAX with XLA_FLAGS `intra_op_parallelism_threads=N` (Eigen's "
                    "multi-threading off at 1); at 1 thread every process is pinned to core 0 (`taskset -c 0`).\n")
        else:
            f.write(f"- Threads: cnf `--threads 2`; torch `torch.set_num_threads({s.get('peer_threads')})`; "
                    "JAX with XLA's default CPU thread pool.\n")
        f.write("- Notes: " + " ".join(m["notes"]) + "\n")
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
