"""The FLOP bound of the machine at hand: single-thread sgemm on cnf's product shape
(1000×64 · 64×64, float32) in every library the benchmark can reach, and `cnf bench`'s
per-evaluation rates set against the best of them. One JSON line per measurement.

    python sgemm.py                        # {"task": "sgemm", "library": ..., "gflops": ...} lines
    cnf bench --thread-counts 1 | python sgemm.py --parse-bench   # {"task": "bench", ...} lines

Each library is timed in rounds of 200 products on the same operands; the median round counts.
"""
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import ctypes
import json
import statistics
import sys
import time

M, K, N = 1000, 64, 64
FLOPS = 2 * M * K * N


def timed(fn, rounds=15, reps=200):
    fn()
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        times.append((time.perf_counter() - t0) / reps)
    return FLOPS / statistics.median(times) / 1e9


def system_openblas():
    import numpy as np
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_set_num_threads(1)
    lib.openblas_get_corename.restype = ctypes.c_char_p
    a = np.random.default_rng(1).standard_normal((M, K)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((N, K)).astype(np.float32)
    c = np.zeros((M, N), np.float32)
    f = ctypes.c_float
    p = lambda x: x.ctypes.data_as(ctypes.c_void_p)
    # cblas_sgemm(RowMajor=101, NoTrans=111, Trans=112, ...): C = A Bᵀ, as cnf's layers.
    call = lambda: lib.cblas_sgemm(101, 111, 112, M, N, K, f(1), p(a), K, p(b), K, f(0), p(c), N)
    return timed(call), "OpenBLAS (system, cnf's) core " + lib.openblas_get_corename().decode()


def numpy_blas():
    import numpy as np
    a = np.random.default_rng(1).standard_normal((M, K)).astype(np.float32)
    bt = np.random.default_rng(2).standard_normal((N, K)).astype(np.float32).T
    out = np.empty((M, N), np.float32)
    cfg = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    name = f"numpy {np.__version__} ({cfg.get('name', '?')} {cfg.get('version', '')})".strip()
    return timed(lambda: np.matmul(a, bt, out=out)), name


def torch_blas():
    import torch
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(1)
    a = torch.randn(M, K, generator=g)
    b = torch.randn(N, K, generator=g)
    out = torch.empty(M, N)
    blas = "mkl" if "BLAS_INFO=mkl" in torch.__config__.show() else "?"
    return timed(lambda: torch.mm(a, b.t(), out=out)), f"torch {torch.__version__} ({blas})"


def measure():
    for fn in (system_openblas, numpy_blas, torch_blas):
        try:
            g, name = fn()
            print(json.dumps({"task": "sgemm", "library": name, "gflops": round(g, 2)}), flush=True)
        except Exception as e:  # a library that is missing is reported, not fatal
            print(json.dumps({"task": "sgemm", "library": fn.__name__, "error": str(e)[:200]}), flush=True)


def parse_bench():
    """Rows of cnf bench's table: | N | trace | threads | evaluate µs | vjp µs | evaluate GFLOP/s | vjp GFLOP/s | ..."""
    for line in sys.stdin:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 7 or not cells[0].isdigit():
            continue
        print(json.dumps({"task": "bench", "batch": int(cells[0]), "trace": cells[1], "threads": int(cells[2]),
                          "evaluate_us": float(cells[3]), "vjp_us": float(cells[4]),
                          "evaluate_gflops": float(cells[5]), "vjp_gflops": float(cells[6])}))


if __name__ == "__main__":
    parse_bench() if "--parse-bench" in sys.argv else measure()
