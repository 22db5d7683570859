"""PyTorch + torchdiffeq peer: cnf's model and workload written FFJORD's way.

ConcatSquash layers y = (W x + b)·sigmoid(W_g t + b_g) + W_b t, 2→64→64→64→2 with tanh between;
state (z, ℓ) with dz/dt = f(z, t), dℓ/dt = −tr ∂f/∂z; loss = mean(−log N(z(T)) + ℓ(T)).
The divergence is FFJORD's: Hutchinson εᵀJ by `torch.autograd.grad(f, z, ε, create_graph=True)`
(ε Rademacher, drawn once per batch and held through the forward and adjoint solves), or exact
by one autograd pass per dimension. Gradients by `odeint_adjoint` (dopri5, atol = rtol = 1e-5,
seminorm on the adjoint solve as cnf's default). Float32; torch uses --threads intra-op threads (default 2).

    python torch_ffjord.py train   --checkpoint CKPT --batch 100 --trace hutchinson
    python torch_ffjord.py sample  --checkpoint CKPT --n 100000
    python torch_ffjord.py density --checkpoint CKPT --grid 512
"""
import statistics
import time

import numpy as np
import torch
from torch import nn
from torchdiffeq import odeint, odeint_adjoint

import common as c

torch.set_default_dtype(torch.float32)


class ConcatSquash(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.layer = nn.Linear(d_in, d_out)
        self.gate = nn.Linear(1, d_out)
        self.hyper_bias = nn.Linear(1, d_out, bias=False)

    def forward(self, t, x):
        tt = t.reshape(1, 1)
        return self.layer(x) * torch.sigmoid(self.gate(tt)) + self.hyper_bias(tt)


class Net(nn.Module):
    def __init__(self, widths=(2, 64, 64, 64, 2)):
        super().__init__()
        self.layers = nn.ModuleList(ConcatSquash(a, b) for a, b in zip(widths[:-1], widths[1:]))

    def forward(self, t, x):
        for i, layer in enumerate(self.layers):
            x = layer(t, x)
            if i < len(self.layers) - 1:
                x = torch.tanh(x)
        return x

    def load_cnf(self, tensors):
        names = {"weight": "layer.weight", "bias": "layer.bias", "gate.weight": "gate.weight",
                 "gate.bias": "gate.bias", "hyper_bias.weight": "hyper_bias.weight"}
        own = dict(self.named_parameters())
        with torch.no_grad():
            for key, value in tensors.items():
                _, i, part = key.split(".", 2)
                own[f"layers.{i}.{names[part]}"].copy_(torch.from_numpy(value))
        return {f"layers.{k.split('.', 2)[1]}.{names[k.split('.', 2)[2]]}": k for k in tensors}


class CNFFunc(nn.Module):
    """d(z, ℓ)/dt = (f, −tr J); counts its evaluations."""

    def __init__(self, net, trace):
        super().__init__()
        self.net, self.trace, self.e, self.nfe = net, trace, None, 0

    def forward(self, t, state):
        z = state[0]
        self.nfe += 1
        with torch.enable_grad():
            z = z.requires_grad_(True)
            f = self.net(t, z)
            graph = self.training
            if self.trace == "hutchinson":
                e_dfdz = torch.autograd.grad(f, z, self.e, create_graph=graph)[0]
                div = (e_dfdz * self.e).sum(1)
            else:
                div = sum(torch.autograd.grad(f[:, i].sum(), z, create_graph=graph, retain_graph=True)[0][:, i]
                          for i in range(z.shape[1]))
        if not graph:
            f, div = f.detach(), div.detach()
        return f, -div.unsqueeze(1)


class Drift(nn.Module):
    """dz/dt = f alone (sampling)."""

    def __init__(self, net):
        super().__init__()
        self.net, self.nfe = net, 0

    def forward(self, t, z):
        self.nfe += 1
        return self.net(t, z)


def nll_loss(z, l):
    log_n = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * c.LOG_2PI
    return (-log_n + l.squeeze(1)).mean()


def train(args, net, adam_state, names):
    func = CNFFunc(net, args.trace).train()
    opt = torch.optim.Adam(net.parameters(), lr=c.LR, weight_decay=c.WEIGHT_DECAY)
    if adam_state is not None:   # continue cnf's Adam exactly where its checkpoint stopped
        step, m, v = adam_state
        for name, p in net.named_parameters():
            opt.state[p] = {"step": torch.tensor(float(step)), "exp_avg": torch.from_numpy(m[names[name]]).clone(),
                            "exp_avg_sq": torch.from_numpy(v[names[name]]).clone()}
    rng = np.random.default_rng(args.seed)
    ts = torch.tensor([0.0, c.T_END])
    times, nfe_f, nfe_b = [], [], []
    for it in range(args.warmup + args.iters):
        start = time.perf_counter()
        x = torch.from_numpy(c.eight_gaussians(rng, args.batch))
        func.e = torch.from_numpy(c.rademacher(rng, x.shape)) if args.trace == "hutchinson" else None
        func.nfe = 0
        zs, ls = odeint_adjoint(func, (x, torch.zeros(args.batch, 1)), ts, rtol=c.RTOL, atol=c.ATOL,
                                method="dopri5", adjoint_options=dict(norm="seminorm"))
        loss = nll_loss(zs[-1], ls[-1])
        forward = func.nfe
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        elapsed = time.perf_counter() - start
        if it >= args.warmup:
            times.append(elapsed)
            nfe_f.append(forward)
            nfe_b.append(func.nfe - forward)
    c.report(impl="torchdiffeq", task="train", batch=args.batch, trace=args.trace,
             seconds_per_iter=statistics.median(times), nfe_forward=statistics.mean(nfe_f),
             nfe_backward=statistics.mean(nfe_b), iters=args.iters, final_loss=loss.item())


def sample(args, net):
    drift = Drift(net).eval()
    rng = np.random.default_rng(args.seed)
    base = torch.from_numpy(rng.standard_normal((args.n, 2)).astype(np.float32))
    ts = torch.tensor([c.T_END, 0.0])
    start = time.perf_counter()
    with torch.no_grad():
        out = [odeint(drift, chunk, ts, rtol=c.RTOL, atol=c.ATOL, method="dopri5")[-1]
               for chunk in base.split(10_000)]   # cnf's sampling batch
    seconds = time.perf_counter() - start
    x = torch.cat(out)
    c.report(impl="torchdiffeq", task="sample", n=args.n, seconds=seconds, nfe=drift.nfe,
             mean_abs=x.abs().mean().item())


def density(args, net):
    func = CNFFunc(net, "exact").eval()
    points = torch.from_numpy(c.grid_points(args.grid))
    ts = torch.tensor([0.0, c.T_END])
    start = time.perf_counter()
    logp = []
    with torch.no_grad():
        for chunk in points.split(4096):   # cnf's density batch
            zs, ls = odeint(func, (chunk, torch.zeros(len(chunk), 1)), ts, rtol=c.RTOL, atol=c.ATOL,
                            method="dopri5")
            z, l = zs[-1], ls[-1].squeeze(1)
            logp.append(-0.5 * (z ** 2).sum(1) - c.LOG_2PI - l)
    seconds = time.perf_counter() - start
    p = torch.cat(logp).exp()
    mass = p.sum().item() * (8.0 / args.grid) ** 2
    c.report(impl="torchdiffeq", task="density", grid=args.grid, seconds=seconds, nfe=func.nfe, mass=mass)


def main():
    args = c.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    tensors, adam_state = c.load_cnf_checkpoint(args.checkpoint)
    net = Net()
    names = net.load_cnf(tensors)
    {"train": lambda: train(args, net, adam_state, names), "sample": lambda: sample(args, net),
     "density": lambda: density(args, net)}[args.task]()


if __name__ == "__main__":
    main()
