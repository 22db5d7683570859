"""JAX + diffrax peer: cnf's model and workload, jit-compiled (compile time reported apart).

ConcatSquash layers y = (W x + b)·sigmoid(W_g t + b_g) + W_b t, 2→64→64→64→2 with tanh between;
state (z, ℓ) with dz/dt = f(z, t), dℓ/dt = −tr ∂f/∂z; loss = mean(−log N(z(T)) + ℓ(T)).
Divergence by forward mode: Hutchinson εᵀ(Jε) with one `jax.jvp` (ε Rademacher, drawn once per
batch and passed in `args`, so it is the same in the forward and the adjoint solve), or exact
by `jax.linearize` and one tangent per dimension. `Dopri5` with `PIDController(atol = rtol =
1e-5)`, gradients by `BacksolveAdjoint` with the adjoint seminorm (cnf's default). Float32; XLA's
CPU thread pool as JAX sets it up (the machine's 2 cores).

Function evaluations are counted by a `jax.debug.callback` in the vector field, but the timed
code carries no callback (it costs up to ~5 % on sampling): each timed training iteration is run
again, untimed, by callback-carrying twins (forward only, and forward + adjoint), and sampling and
density are run again by a counting twin after the timed run.

    python jax_diffrax.py train   --checkpoint CKPT --batch 100 --trace hutchinson
    python jax_diffrax.py sample  --checkpoint CKPT --n 100000
    python jax_diffrax.py density --checkpoint CKPT --grid 512
"""
import statistics
import time

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

import common as c

COUNT = [0]


def _tick():
    COUNT[0] += 1


def net(params, t, x):
    for i, p in enumerate(params):
        x = (x @ p["weight"].T + p["bias"]) * jax.nn.sigmoid(t * p["gate.weight"][:, 0] + p["gate.bias"]) \
            + t * p["hyper_bias.weight"][:, 0]
        if i < len(params) - 1:
            x = jnp.tanh(x)
    return x


def make_field(trace, count):
    """The vector field (z, ℓ) ↦ (f, −tr J) with args = (params, ε)."""
    def field(t, y, args):
        params, eps = args
        z, _ = y
        if count:
            jax.debug.callback(_tick)
        g = lambda z: net(params, t, z)
        if trace == "hutchinson":
            f, jv = jax.jvp(g, (z,), (eps,))
            div = jnp.sum(jv * eps, axis=1)
        else:
            f, lin = jax.linearize(g, z)
            div = sum(lin(jnp.zeros_like(z).at[:, k].set(1))[:, k] for k in range(z.shape[1]))
        return f, -div
    return field


def make_drift(count):
    """dz/dt = f(z, t) alone (sampling), with args = params."""
    def drift(t, z, params):
        if count:
            jax.debug.callback(_tick)
        return net(params, t, z)
    return drift


def controller():
    return diffrax.PIDController(rtol=c.RTOL, atol=c.ATOL)


def solve(field, y0, args, t0, t1, adjoint=None):
    kw = {} if adjoint is None else {"adjoint": adjoint}
    return diffrax.diffeqsolve(diffrax.ODETerm(field), diffrax.Dopri5(), t0=t0, t1=t1, dt0=None, y0=y0,
                               args=args, stepsize_controller=controller(), max_steps=10_000, **kw)


def make_loss(trace, count):
    adjoint = diffrax.BacksolveAdjoint(
        solver=diffrax.Dopri5(),
        stepsize_controller=diffrax.PIDController(rtol=c.RTOL, atol=c.ATOL, norm=diffrax.adjoint_rms_seminorm))
    field = make_field(trace, count)

    def loss(params, x, eps):
        sol = solve(field, (x, jnp.zeros(x.shape[0])), (params, eps), 0.0, c.T_END, adjoint)
        z, l = sol.ys[0][-1], sol.ys[1][-1]
        log_n = -0.5 * jnp.sum(z ** 2, axis=1) - 0.5 * z.shape[1] * c.LOG_2PI
        return jnp.mean(-log_n + l)
    return loss


def train(args, params, adam_state):
    opt = optax.chain(optax.add_decayed_weights(c.WEIGHT_DECAY), optax.adam(c.LR))  # = torch Adam's L2
    opt_state = opt.init(params)
    if adam_state is not None:   # continue cnf's Adam exactly where its checkpoint stopped
        step, m, v = adam_state
        mu = [{k: jnp.asarray(m[f"layers.{i}.{k}"]) for k in c.PARTS} for i in range(c.LAYERS)]
        nu = [{k: jnp.asarray(v[f"layers.{i}.{k}"]) for k in c.PARTS} for i in range(c.LAYERS)]
        adam = opt_state[1][0]._replace(count=jnp.asarray(step, jnp.int32), mu=mu, nu=nu)
        opt_state = (opt_state[0], (adam,) + tuple(opt_state[1][1:]))

    loss = make_loss(args.trace, count=False)

    def step(params, opt_state, x, eps):
        value, grads = jax.value_and_grad(loss)(params, x, eps)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, value

    counted = make_loss(args.trace, count=True)
    count_forward = jax.jit(counted)
    count_total = jax.jit(jax.grad(counted))

    rng = np.random.default_rng(args.seed)
    batch = lambda: (c.eight_gaussians(rng, args.batch), c.rademacher(rng, (args.batch, 2)))
    x0, e0 = batch()
    start = time.perf_counter()
    step_c = jax.jit(step).lower(params, opt_state, x0, e0).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    count_forward.lower(params, x0, e0).compile(), count_total.lower(params, x0, e0).compile()
    count_compile_s = time.perf_counter() - start

    times, nfe_f, nfe_b = [], [], []
    for it in range(args.warmup + args.iters):
        start = time.perf_counter()
        x, e = batch()
        new_params, opt_state, value = step_c(params, opt_state, jnp.asarray(x), jnp.asarray(e))
        value = float(jax.block_until_ready(value))
        elapsed = time.perf_counter() - start
        if it >= args.warmup:   # untimed: the same iteration again, counting evaluations
            times.append(elapsed)
            COUNT[0] = 0
            jax.block_until_ready(count_forward(params, x, e)); jax.effects_barrier()
            forward = COUNT[0]
            COUNT[0] = 0
            jax.block_until_ready(count_total(params, x, e)); jax.effects_barrier()
            nfe_f.append(forward)
            nfe_b.append(COUNT[0] - forward)
        params = new_params
    c.report(impl="diffrax", task="train", batch=args.batch, trace=args.trace,
             seconds_per_iter=statistics.median(times), nfe_forward=statistics.mean(nfe_f),
             nfe_backward=statistics.mean(nfe_b), iters=args.iters, final_loss=value,
             compile_seconds=compile_s, count_compile_seconds=count_compile_s)


def timed_chunks(make, chunks, *extra):
    """Compiles make(count=False) for one chunk's shape (compile time reported apart) and runs
    every chunk, timed; then runs them again untimed with make(count=True) to count the NFE."""
    start = time.perf_counter()
    compiled = jax.jit(make(False)).lower(chunks[0], *extra).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    outs = [np.asarray(compiled(ch, *extra)) for ch in chunks]
    seconds = time.perf_counter() - start
    counting = jax.jit(make(True))
    COUNT[0] = 0
    for ch in chunks:
        jax.block_until_ready(counting(ch, *extra))
    jax.effects_barrier()
    return np.concatenate(outs), seconds, compile_s, COUNT[0]


def sample(args, params):
    rng = np.random.default_rng(args.seed)
    base = rng.standard_normal((args.n, 2)).astype(np.float32)
    chunks = [jnp.asarray(ch) for ch in np.split(base, range(10_000, args.n, 10_000))]  # cnf's sampling batch

    def make(count):
        drift = make_drift(count)
        return lambda z, params: solve(drift, z, params, c.T_END, 0.0).ys[-1]
    x, seconds, compile_s, nfe = timed_chunks(make, chunks, params)
    c.report(impl="diffrax", task="sample", n=args.n, seconds=seconds, compile_seconds=compile_s,
             nfe=nfe, mean_abs=float(np.abs(x).mean()))


def density(args, params):
    points = c.grid_points(args.grid)
    chunks = [jnp.asarray(ch) for ch in np.split(points, range(4096, len(points), 4096))]  # cnf's density batch
    def make(count):
        field = make_field("exact", count)

        def logp(x, params):
            sol = solve(field, (x, jnp.zeros(x.shape[0])), (params, None), 0.0, c.T_END)
            z, l = sol.ys[0][-1], sol.ys[1][-1]
            return -0.5 * jnp.sum(z ** 2, axis=1) - c.LOG_2PI - l
        return logp
    lp, seconds, compile_s, nfe = timed_chunks(make, chunks, params)
    mass = float(np.exp(lp).sum() * (8.0 / args.grid) ** 2)
    c.report(impl="diffrax", task="density", grid=args.grid, seconds=seconds, compile_seconds=compile_s,
             nfe=nfe, mass=mass)


def main():
    args = c.parse_args()
    tensors, adam_state = c.load_cnf_checkpoint(args.checkpoint)
    params = [{k: jnp.asarray(tensors[f"layers.{i}.{k}"]) for k in c.PARTS} for i in range(c.LAYERS)]
    {"train": lambda: train(args, params, adam_state), "sample": lambda: sample(args, params),
     "density": lambda: density(args, params)}[args.task]()


if __name__ == "__main__":
    main()
