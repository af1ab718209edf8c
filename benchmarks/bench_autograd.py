"""Autograd overhead: a chain of 1,000 small ops, forward and backward, minigen vs PyTorch CPU.

Each step of the chain is four ops on an (8, 8) float32 tensor,

    y = tanh(y * a + b) * 0.9

repeated 250 times, then ``y.sum()`` and ``backward()``. The arrays are tiny, so
the time is almost all per-op overhead: building graph nodes, dispatch, and the
backward walk. Target: minigen / PyTorch <= 1.0.

Run: python benchmarks/bench_autograd.py [--steps 250] [--threads N]
"""

from harness import parse_and_pin

args = parse_and_pin(__doc__, lambda p: (
    p.add_argument("--steps", type=int, default=250, help="chain steps of 4 ops each (default 250 = 1,000 ops)"),
    p.add_argument("--size", type=int, default=8, help="side of the square tensors (default 8)")))

import numpy as np  # noqa: E402

import minigen  # noqa: E402
from harness import compare, report, require_torch  # noqa: E402

torch = require_torch()

rng = np.random.default_rng(0)
S = args.size
x0, a0, b0 = (rng.standard_normal((S, S)).astype(np.float32) for _ in range(3))


def chain(x, a, b):
    y = x
    for _ in range(args.steps):
        y = (y * a + b).tanh() * 0.9
    return y.sum()


def forward_only(lib):
    """The chain with graph recording off (``lib`` is minigen or torch: same API here)."""
    def run():
        with lib.no_grad():
            chain(*(lib.tensor(v) for v in (x0, a0, b0)))
    return run


def forward_backward(lib):
    """The chain on fresh leaves, then backward."""
    def run():
        chain(*(lib.tensor(v, requires_grad=True) for v in (x0, a0, b0))).backward()
    return run


# the two implementations agree before anything is timed
x, a, b = (minigen.tensor(v, requires_grad=True) for v in (x0, a0, b0))
chain(x, a, b).backward()
xt, at, bt = (torch.tensor(v, requires_grad=True) for v in (x0, a0, b0))
chain(xt, at, bt).backward()
np.testing.assert_allclose(a.grad, at.grad.numpy(), rtol=1e-3, atol=1e-5)

n_ops = 4 * args.steps
rows = [
    compare(f"{n_ops}-op chain, forward + backward", forward_backward(minigen), forward_backward(torch)),
    compare(f"{n_ops}-op chain, forward only (no_grad)", forward_only(minigen), forward_only(torch)),
]
for r in rows:
    r["us_per_op_minigen"] = round(1000 * r["minigen_ms"] / n_ops, 3)
    r["us_per_op_torch"] = round(1000 * r["torch_ms"] / n_ops, 3)
report("autograd_overhead", rows, {"ops": n_ops, "shape": [S, S], "target_ratio": 1.0})
