"""``minigen gradcheck``: gradient checking on a small network, and why the check needs a random upstream gradient."""

from __future__ import annotations

import numpy as np

import minigen
from minigen import rules


class _ZeroBackwardSoftmax(minigen.Function):
    """A softmax whose backward is wrong in the worst way: it returns zeros."""

    def forward(self, x):
        xp = minigen.backend.array_namespace(x)
        e = xp.exp(x - xp.max(x, axis=-1, keepdims=True))
        return e / xp.sum(e, axis=-1, keepdims=True)

    def backward(self, dout):
        return dout * 0


def _softmax(x):
    e = (x - x.max(axis=-1, keepdims=True).detach()).exp()
    return e / e.sum(axis=-1, keepdims=True)


def _sum_of_outputs_check(fn, x, eps=1e-6):
    """The check that two well-known teaching frameworks use: differentiate out.sum()."""
    leaf = minigen.tensor(x, requires_grad=True)
    fn(leaf).sum().backward()
    analytic = leaf.grad
    numeric = np.zeros_like(x)
    for j in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[j] += eps
        xm[j] -= eps
        numeric[j] = (fn(minigen.tensor(xp_)).sum().item() - fn(minigen.tensor(xm)).sum().item()) / (2 * eps)
    return np.allclose(analytic, numeric, atol=1e-5, rtol=1e-3)


def cmd_gradcheck(args) -> int:
    """Gradient-check a small network, then show a broken softmax that only a random dout catches."""
    rules.non_negative_int("", "--seed", args.seed)
    rng = np.random.default_rng(args.seed)
    B, C, H, V = 4, 5, 6, 7
    x = minigen.tensor(rng.standard_normal((B, C)), name="x")
    W1 = minigen.tensor(rng.standard_normal((C, H)) * 0.5, name="W1")
    b1 = minigen.tensor(rng.standard_normal(H) * 0.1, name="b1")
    W2 = minigen.tensor(rng.standard_normal((H, V)) * 0.5, name="W2")
    ids = np.array([3, 0, 3, 6])

    def net(x, W1, b1, W2):
        h = (x @ W1 + b1).tanh()
        logits = h @ W2
        logp = logits - (logits.exp().sum(axis=-1, keepdims=True)).log()   # log-softmax
        return -logp[np.arange(B), ids].mean()                              # cross-entropy

    cases = [
        ("two-layer tanh MLP + cross-entropy", net, [x, W1, b1, W2]),
        ("softmax (composed from exp/sum/div)", _softmax, [x]),
        ("gelu, exact and tanh forms", lambda x: (minigen.gelu(x), minigen.gelu(x, approximate="tanh")), [x]),
        ("embedding lookup with repeated ids", lambda W: minigen.embedding(np.array([[1, 1], [4, 1]]), W), [W1]),
    ]
    print(f"minigen {minigen.__version__}: gradient checks in float64 against a random upstream gradient\n")
    ok = True
    for title, fn, inputs in cases:
        n = sum(t.numel() for t in inputs)
        try:
            minigen.gradcheck(fn, inputs, fast=args.fast, seed=args.seed)
            print(f"  ok    {title}  ({n} input elements)")
        except minigen.GradcheckError as e:
            ok = False
            print(f"  FAIL  {title}\n{e}")

    print("\nWhy the upstream gradient must be random: a softmax whose backward returns zeros.")
    xs = rng.standard_normal((2, 5))
    broken = _ZeroBackwardSoftmax.apply
    passed = _sum_of_outputs_check(broken, xs)
    print(f"  sum-of-outputs check (d out.sum() / dx): {'passes -- wrongly' if passed else 'fails'}"
          "  (softmax rows sum to 1, so that gradient is 0 whatever x is)")
    try:
        minigen.gradcheck(broken, [minigen.tensor(xs)], seed=args.seed)
        print("  minigen.gradcheck: passes -- this should not happen")
        ok = False
    except minigen.GradcheckError as e:
        print("  minigen.gradcheck catches it:\n    " + str(e).splitlines()[0])
    return 0 if ok else 1


def add_parser(sub) -> None:
    p = sub.add_parser("gradcheck", help="gradient-check a small network and show why dout must be random")
    p.add_argument("--fast", action="store_true", help="check one random direction per input")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.set_defaults(func=cmd_gradcheck)
