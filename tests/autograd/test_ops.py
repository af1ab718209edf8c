"""Every primitive op: forward against NumPy, and gradcheck in float64 (random upstream gradient).

Shapes come from hypothesis, so broadcasting (new leading axes, axes of size 1)
is exercised on every binary op.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import minigen

SHAPES = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
PAIRS = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, min_side=1, max_side=3)


def _normal(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _away_from_zero(x):
    return np.sign(x + 1e-12) * (0.5 + np.abs(x))


# ---------------------------------------------------------------------------- binary ops

BINARY = {
    "add": (lambda a, b: a + b, np.add, lambda a, b: (a, b)),
    "sub": (lambda a, b: a - b, np.subtract, lambda a, b: (a, b)),
    "mul": (lambda a, b: a * b, np.multiply, lambda a, b: (a, b)),
    "div": (lambda a, b: a / b, np.divide, lambda a, b: (a, _away_from_zero(b))),
    "pow": (lambda a, b: a ** b, np.power, lambda a, b: (np.abs(a) + 0.5, b)),
    "where": (lambda a, b: minigen.where(a > b, a, b), lambda a, b: np.where(a > b, a, b), lambda a, b: (a, b + 0.1)),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@given(shapes=PAIRS, seed=st.integers(0, 2**16))
def test_binary_ops_broadcast(backend, op, shapes, seed):
    fn, ref, prep = BINARY[op]
    a, b = prep(_normal(seed, shapes.input_shapes[0]), _normal(seed + 1, shapes.input_shapes[1]))
    out = fn(backend.tensor(a), backend.tensor(b))
    np.testing.assert_allclose(backend.numpy(out), ref(a, b), rtol=1e-12)
    assert minigen.gradcheck(fn, [backend.tensor(a), backend.tensor(b)])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow"])
def test_binary_ops_with_python_numbers(backend, op):
    fn, ref, _ = BINARY[op]
    a = np.abs(_normal(0, (2, 3))) + 0.5
    assert minigen.gradcheck(lambda t: fn(t, 1.7), [backend.tensor(a)])
    assert minigen.gradcheck(lambda t: fn(1.7, t), [backend.tensor(a)])
    np.testing.assert_allclose(backend.numpy(fn(1.7, backend.tensor(a))), ref(1.7, a))


# ---------------------------------------------------------------------------- unary ops

def _erf(x):
    return np.vectorize(math.erf)(x)


UNARY = {
    "neg": (lambda x: -x, np.negative, lambda x: x),
    "exp": (minigen.exp, np.exp, lambda x: x),
    "log": (minigen.log, np.log, lambda x: np.abs(x) + 0.1),
    "sqrt": (minigen.sqrt, np.sqrt, lambda x: np.abs(x) + 0.1),
    "tanh": (minigen.tanh, np.tanh, lambda x: x),
    "sigmoid": (minigen.sigmoid, lambda x: 1 / (1 + np.exp(-x)), lambda x: x),
    "relu": (minigen.relu, lambda x: np.maximum(x, 0), _away_from_zero),
    "gelu": (minigen.gelu, lambda x: x * 0.5 * (1 + _erf(x / np.sqrt(2))), lambda x: 3 * x),
    "gelu_tanh": (lambda x: minigen.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))), lambda x: 3 * x),
    "clip": (lambda x: minigen.clip(x, -0.5, 0.8), lambda x: np.clip(x, -0.5, 0.8),
             lambda x: np.where(np.abs(np.abs(x - 0.15) - 0.65) < 0.01, x + 0.05, x)),
    "clip_min": (lambda x: x.clamp(min=0.3), lambda x: np.maximum(x, 0.3), lambda x: x + 0.01),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@given(shape=SHAPES, seed=st.integers(0, 2**16))
def test_unary_ops(backend, op, shape, seed):
    fn, ref, prep = UNARY[op]
    x = prep(_normal(seed, shape))
    np.testing.assert_allclose(backend.numpy(fn(backend.tensor(x))), ref(x), rtol=1e-13, atol=1e-15)
    assert minigen.gradcheck(fn, [backend.tensor(x)])


def test_sigmoid_is_stable_at_extremes(backend):
    x = np.array([-1e4, -800.0, -40.0, 0.0, 40.0, 800.0, 1e4])
    y = backend.numpy(minigen.sigmoid(backend.tensor(x)))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[[0, 3, -1]], [0.0, 0.5, 1.0])
    np.testing.assert_allclose(y[2], math.exp(-40.0) / (1 + math.exp(-40.0)), rtol=1e-14)


# ---------------------------------------------------------------------------- matmul

@given(batch=st.sampled_from([((), ()), ((2,), ()), ((), (3,)), ((2, 1), (3,)), ((1,), (2,))]),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3), seed=st.integers(0, 2**16))
def test_matmul_batched_and_broadcast(backend, batch, n, k, m, seed):
    a = _normal(seed, batch[0] + (n, k))
    b = _normal(seed + 1, batch[1] + (k, m))
    out = backend.tensor(a) @ backend.tensor(b)
    np.testing.assert_allclose(backend.numpy(out), a @ b, rtol=1e-12)
    assert minigen.gradcheck(lambda a, b: a @ b, [backend.tensor(a), backend.tensor(b)])


@pytest.mark.parametrize("sa,sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (2, 3, 4)), ((2, 2, 3), (3,))])
def test_matmul_vectors(backend, sa, sb):
    a, b = _normal(0, sa), _normal(1, sb)
    np.testing.assert_allclose(backend.numpy(minigen.matmul(backend.tensor(a), backend.tensor(b))), a @ b)
    assert minigen.gradcheck(minigen.matmul, [backend.tensor(a), backend.tensor(b)])


# ---------------------------------------------------------------------------- reductions

AXES = st.sampled_from([None, 0, -1, (0, -1), 1])


@pytest.mark.parametrize("op", ["sum", "mean", "max"])
@given(shape=array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3), axis=AXES,
       keepdims=st.booleans(), seed=st.integers(0, 2**16))
def test_reductions(backend, op, shape, axis, keepdims, seed):
    x = _normal(seed, shape)
    fn = lambda t: getattr(t, op)(axis=axis, keepdims=keepdims)  # noqa: E731
    np.testing.assert_allclose(backend.numpy(fn(backend.tensor(x))),
                               getattr(np, op)(x, axis=axis, keepdims=keepdims), rtol=1e-12)
    assert minigen.gradcheck(fn, [backend.tensor(x)])


def test_max_shares_the_gradient_among_ties(backend):
    x = backend.tensor(np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(backend.numpy(x.grad), [[0, 0.5, 0.5], [1, 0, 0]])


# ---------------------------------------------------------------------------- shape ops

@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4), seed=st.integers(0, 2**16))
def test_reshape_permute_transpose(backend, shape, seed):
    x = _normal(seed, shape)
    perm = tuple(np.random.default_rng(seed).permutation(len(shape)))
    assert minigen.gradcheck(lambda t: t.reshape(-1), [backend.tensor(x)])
    assert minigen.gradcheck(lambda t: t.permute(*perm) * 1.0, [backend.tensor(x)])
    np.testing.assert_allclose(backend.numpy(backend.tensor(x).permute(perm)), np.transpose(x, perm))
    np.testing.assert_allclose(backend.numpy(backend.tensor(x).T), x.T)
    if len(shape) >= 2:
        np.testing.assert_allclose(backend.numpy(backend.tensor(x).transpose(0, -1)), np.swapaxes(x, 0, -1))
        assert minigen.gradcheck(lambda t: t.transpose() @ t, [backend.tensor(x)])


@given(axis=st.integers(-2, 1), sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3), seed=st.integers(0, 2**16))
def test_concat_stack_split(backend, axis, sizes, seed):
    parts = []
    for i, n in enumerate(sizes):
        shape = [2, 2]
        shape[axis] = n
        parts.append(_normal(seed + i, tuple(shape)))
    ts = [backend.tensor(p) for p in parts]
    np.testing.assert_allclose(backend.numpy(minigen.concat(ts, axis=axis)), np.concatenate(parts, axis=axis))
    assert minigen.gradcheck(lambda *t: minigen.concat(t, axis=axis), ts)
    same = [backend.tensor(_normal(seed + i, (2, 3))) for i in range(len(sizes))]
    np.testing.assert_allclose(backend.numpy(minigen.stack(same, axis=axis)),
                               np.stack([backend.numpy(s) for s in same], axis=axis))
    assert minigen.gradcheck(lambda *t: minigen.stack(t, axis=axis), same)
    whole = backend.tensor(np.concatenate(parts, axis=axis))
    pieces = minigen.split(whole, sizes, axis=axis)
    for piece, ref in zip(pieces, parts):
        np.testing.assert_allclose(backend.numpy(piece), ref)
    assert minigen.gradcheck(lambda t: minigen.split(t, sizes, axis=axis), [whole])
    assert minigen.gradcheck(lambda t: minigen.split(t, 2, axis=axis)[0] * 2.0, [whole])


def test_cast_and_device_moves_are_differentiable(backend):
    x = backend.tensor(_normal(0, (2, 3)), requires_grad=True)
    y = x.float()
    assert y.dtype == backend.tensor(np.ones(1, np.float32)).dtype
    (y.double() * 2.0).sum().backward()
    np.testing.assert_allclose(backend.numpy(x.grad), np.full((2, 3), 2.0))
    assert x.to("float64") is x
    z = x.to("cpu")
    assert isinstance(z.data, np.ndarray)
    x.grad = None
    (z * 3.0).sum().backward()
    assert minigen.backend.device_of(x.grad) == x.device
    np.testing.assert_allclose(backend.numpy(x.grad), np.full((2, 3), 3.0))


# ---------------------------------------------------------------------------- indexing

@pytest.mark.parametrize("key", [0, -1, (slice(1, 3),), (slice(None), 1), (None, 1, slice(None, None, 2)),
                                 (Ellipsis, 0), (1, 2)])
def test_basic_indexing(backend, key):
    x = _normal(3, (3, 4))
    np.testing.assert_allclose(backend.numpy(backend.tensor(x)[key]), x[key])
    assert minigen.gradcheck(lambda t: t[key], [backend.tensor(x)])


def test_integer_array_gather_with_repeats(backend):
    x = _normal(4, (4, 5, 2))
    rows, cols = np.array([[0, 3], [3, 3]]), np.array([[1, 1], [-1, 1]])
    np.testing.assert_allclose(backend.numpy(backend.tensor(x)[backend.asarray(rows), backend.asarray(cols)]),
                               x[rows, cols])
    np.testing.assert_allclose(backend.numpy(backend.tensor(x)[[2, 2, 0]]), x[[2, 2, 0]])
    assert minigen.gradcheck(lambda t: t[backend.asarray(rows), backend.asarray(cols)], [backend.tensor(x)])
    assert minigen.gradcheck(lambda t: t[[2, 2, 0], ...], [backend.tensor(x)])


def test_gather_picks_rows_for_cross_entropy(backend):
    logits = _normal(5, (4, 6))
    targets = np.array([5, 0, 5, 2])

    def nll(t):
        logp = t - t.exp().sum(axis=-1, keepdims=True).log()
        return -logp[backend.asarray(np.arange(4)), backend.asarray(targets)].mean()

    logp_ref = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    np.testing.assert_allclose(nll(backend.tensor(logits)).item(), -logp_ref[np.arange(4), targets].mean())
    assert minigen.gradcheck(nll, [backend.tensor(logits)])


def test_embedding_with_repeated_ids(backend):
    W = _normal(6, (5, 3))
    ids = np.array([[1, 4, 1], [1, 0, 4]])
    out = minigen.embedding(backend.asarray(ids), backend.tensor(W))
    np.testing.assert_allclose(backend.numpy(out), W[ids])
    w = backend.tensor(W, requires_grad=True)
    minigen.embedding(backend.asarray(ids), w).sum().backward()
    np.testing.assert_allclose(backend.numpy(w.grad)[:, 0], [1, 3, 0, 0, 2])  # row 1 used three times
    assert minigen.gradcheck(lambda ids, W: minigen.embedding(ids, W),
                             {"ids": backend.asarray(ids), "W": backend.tensor(W)})


def test_masked_fill_and_where(backend):
    x = _normal(7, (3, 4))
    mask = np.array([True, False, True, False])
    out = backend.tensor(x).masked_fill(backend.asarray(mask), -1e9)
    np.testing.assert_allclose(backend.numpy(out), np.where(mask, -1e9, x))
    t = backend.tensor(x, requires_grad=True)
    (t.masked_fill(backend.asarray(mask), 0.0) * 3.0).sum().backward()
    assert np.all(backend.numpy(t.grad)[:, mask] == 0.0), "masked positions get exactly zero gradient"
    assert minigen.gradcheck(lambda t: t.masked_fill(backend.asarray(mask), 2.0), [backend.tensor(x)])
    assert minigen.gradcheck(lambda a, b: minigen.where(backend.asarray(mask), a, b),
                             [backend.tensor(x), backend.tensor(_normal(8, (3, 1)))])


def test_dropout(backend):
    x = np.ones((200, 50))
    minigen.manual_seed(3)
    y = backend.numpy(minigen.dropout(backend.tensor(x), p=0.25))
    assert set(np.unique(y)) == {0.0, 1.0 / 0.75}
    assert abs((y == 0).mean() - 0.25) < 0.01
    minigen.manual_seed(3)
    y2 = backend.numpy(minigen.dropout(backend.tensor(x), p=0.25))
    np.testing.assert_array_equal(y, y2)
    t = backend.tensor(x)
    assert minigen.dropout(t, p=0.5, training=False) is t
    assert minigen.dropout(t, p=0.0) is t
    assert backend.numpy(minigen.dropout(t, p=1.0)).sum() == 0
    assert minigen.gradcheck(lambda t: minigen.dropout(t, p=0.4), [backend.tensor(_normal(9, (4, 5)))])


def test_same_seed_gives_the_same_dropout_mask_on_every_backend(backend):
    minigen.manual_seed(11)
    here = backend.numpy(minigen.dropout(backend.tensor(np.ones((6, 7))), p=0.5))
    minigen.manual_seed(11)
    host = minigen.dropout(minigen.tensor(np.ones((6, 7))), p=0.5).numpy()
    np.testing.assert_array_equal(here, host)
