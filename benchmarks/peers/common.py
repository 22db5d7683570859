"""What both peers share: arguments, the 8gaussians sampler, cnf checkpoint reading, reporting.

Nothing here is cnf code: the checkpoint reader follows the safetensors format (8-byte
little-endian header length, JSON header, raw little-endian tensors) and the data recipe
follows /work/shared/TOYDATA.md (FFJORD's 8gaussians).
"""
import argparse
import json
import math
import resource
import struct
import sys

import numpy as np

T_END = 0.5          # integration time T (FFJORD's toy default)
ATOL = RTOL = 1e-5   # dopri5 tolerances, forward and adjoint
LR, WEIGHT_DECAY = 1e-3, 1e-5  # Adam with L2 weight decay, PyTorch semantics
LAYERS = 4           # ConcatSquash 2→64→64→64→2
LOG_2PI = math.log(2 * math.pi)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("task", choices=["train", "sample", "density"])
    p.add_argument("--checkpoint", required=True, help="cnf checkpoint.safetensors to start from")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--trace", choices=["hutchinson", "exact"], default="hutchinson")
    p.add_argument("--warmup", type=int, default=3, help="iterations run before timing")
    p.add_argument("--iters", type=int, default=10, help="timed iterations")
    p.add_argument("--n", type=int, default=100_000, help="samples to draw")
    p.add_argument("--grid", type=int, default=512, help="density grid points per axis")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2, help="torch's intra-op threads (JAX keeps XLA's default pool)")
    return p.parse_args()


def read_safetensors(path):
    """All tensors of a safetensors file as NumPy arrays, and its metadata."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8", "U64": "<u8"}
    tensors = {}
    for name, h in header.items():
        lo, hi = h["data_offsets"]
        raw = np.frombuffer(blob[8 + n + lo:8 + n + hi], dtype=dtypes[h["dtype"]])
        tensors[name] = raw.reshape(h["shape"])
    return tensors, meta


PARTS = ["weight", "bias", "gate.weight", "gate.bias", "hyper_bias.weight"]


def load_cnf_checkpoint(path):
    """The network's tensors ("layers.i.weight", … as float32, PyTorch shapes [out, in]) and,
    for a training checkpoint, Adam's state per tensor: (step, {name: m}, {name: v}).

    cnf stores Adam's moments as one flat vector in its parameter order; each tensor's slice is
    found by matching its float32 values against the flat float64 parameter copy."""
    t, _ = read_safetensors(path)
    net = {f"layers.{i}.{p}": t[f"block0.layers.{i}.{p}"].astype(np.float32)
           for i in range(LAYERS) for p in PARTS}
    if "train.parameters" not in t:
        return net, None
    flat = t["train.parameters"].astype(np.float32)
    m, v = {}, {}
    used = np.zeros(flat.size, bool)
    for name, w in net.items():
        k = w.size
        hits = [o for o in range(flat.size - k + 1)
                if not used[o] and flat[o] == w.flat[0] and np.array_equal(flat[o:o + k], w.ravel())]
        if len(hits) != 1:
            sys.exit(f"cannot place {name} in {path}'s parameter vector ({len(hits)} matches)")
        o = hits[0]
        used[o:o + k] = True
        m[name] = t["train.adam.m"][o:o + k].reshape(w.shape).astype(np.float32)
        v[name] = t["train.adam.v"][o:o + k].reshape(w.shape).astype(np.float32)
    return net, (int(t["train.adam.step"][0]), m, v)


def eight_gaussians(rng, n):
    """FFJORD's 8gaussians: a centre from 4·{(±1,0), (0,±1), (±1/√2, ±1/√2)},
    x = (centre + 0.5·N(0, I)) / 1.414."""
    s = 1 / math.sqrt(2)
    centres = 4 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)])
    x = centres[rng.integers(0, 8, n)] + 0.5 * rng.standard_normal((n, 2))
    return (x / 1.414).astype(np.float32)


def rademacher(rng, shape):
    return (rng.integers(0, 2, shape) * 2 - 1).astype(np.float32)


def grid_points(g, half=4.0):
    """Cell centres of a g × g lattice over [-half, half]², row by row (y outer, x inner)."""
    c = (np.arange(g) + 0.5) / g * 2 * half - half
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], 1).astype(np.float32)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(**fields):
    """One JSON line on stdout: what the harness reads."""
    fields["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(fields), flush=True)
