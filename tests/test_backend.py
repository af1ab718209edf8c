"""minigen.backend: namespaces, device moves, scatter-add, erf, dtypes, the RNG, and the CuPy error."""

import builtins
import math
import sys

import numpy as np
import pytest

import minigen
from minigen import backend as B


def test_namespace_is_cached_and_rejects_mixing(backend):
    a = backend.asarray(np.ones(3))
    xp = B.array_namespace(a)
    assert B.array_namespace(a, 2.0, None) is xp
    assert float(B.to_numpy(xp.sum(a))) == 3.0
    if backend.name != "numpy":
        with pytest.raises(TypeError, match="mixed"):
            B.array_namespace(a, np.ones(3))


def test_namespace_needs_an_array():
    with pytest.raises(TypeError, match="at least one array"):
        B.array_namespace(1.0, None)


def test_round_trip_between_host_and_device(backend):
    host = np.arange(6.0).reshape(2, 3)
    dev = backend.asarray(host)
    back = B.to_numpy(dev)
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, host)
    like = B.asarray_like(np.ones((2, 3)), dev)
    assert B.device_of(like) == B.device_of(dev)


@pytest.mark.parametrize("axis", [0, 1])
def test_matmul_sum_is_a_sum(backend, axis):
    a = np.random.default_rng(0).standard_normal((7, 5))
    got = B.matmul_sum(backend.asarray(a), axis)
    np.testing.assert_allclose(backend.numpy(got), a.sum(axis=axis), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 4, 3), (2, 1, 4, 3)])
def test_matrix_transpose_copy_is_a_new_transpose(backend, shape):
    a = np.random.default_rng(0).standard_normal(shape)
    x = backend.asarray(a)
    got = B.matrix_transpose_copy(x)
    np.testing.assert_array_equal(backend.numpy(got), np.swapaxes(a, -1, -2))
    got[...] = 0                                                   # a copy: the input is untouched
    np.testing.assert_array_equal(backend.numpy(x), a)
    if isinstance(got, np.ndarray):
        assert got.flags.c_contiguous


@pytest.mark.parametrize("n", [0, 1, 7, 8, 20])
def test_cache_blocks_cover_the_range_once(backend, n, monkeypatch):
    monkeypatch.setattr(B, "CACHE_BLOCK", 7)
    blocks = B.cache_blocks(n, backend.asarray(np.zeros(1)))
    covered = [i for b in blocks for i in range(n)[b]]
    assert covered == list(range(n))
    assert all(b.stop - b.start <= 7 for b in blocks) or backend.name == "cupy"


def test_same_device(backend):
    a, b = backend.asarray(np.zeros(2)), backend.asarray(np.ones(3))
    assert B.same_device([a, b]) and B.same_device([a])
    if backend.name != "numpy":
        assert not B.same_device([a, np.zeros(2)])                      # a host array among device arrays


def test_is_floating_across_libraries(backend):
    assert B.is_floating(backend.asarray(np.zeros(1)).dtype)
    assert not B.is_floating(backend.asarray(np.zeros(1, dtype=np.int64)).dtype)
    assert B.is_floating(np.float32) and B.is_floating("float64") and not B.is_floating("int32")


@pytest.mark.parametrize("move, given", [
    (lambda: B.to_device(np.ones(2), "tpu"), "'tpu'"),
    (lambda: minigen.tensor(np.ones(2)).to(3), "3"),                  # neither a name nor a device object
    (lambda: minigen.tensor(np.ones(2), device=3.0), "3.0"),
])
def test_to_device_rejects_unknown_names(move, given):
    with pytest.raises(ValueError, match=r"^to_device: device must be 'cpu', 'cuda', 'cuda:N' or an array-api device, "
                                         rf"got {given}$"):
        move()


@pytest.mark.parametrize("rest", [(), (3,)])
def test_index_add_sums_repeated_indices(backend, rest):
    index = np.array([0, 2, 0, 0, 1])
    source = np.arange(5 * int(np.prod(rest))).reshape((5,) + rest).astype(np.float64) + 1
    expected = np.zeros((4,) + rest)
    for i, row in zip(index, source):
        expected[i] += row
    out = B.index_add(backend.asarray(np.zeros((4,) + rest)), backend.asarray(index), backend.asarray(source))
    np.testing.assert_allclose(B.to_numpy(out), expected)


@pytest.mark.parametrize("n", [0, 1, 2, 40])
def test_index_add_matches_a_loop_over_random_indices(backend, n):
    """Any order and repetition of indices, none at all included, onto a non-zero x."""
    rng = np.random.default_rng(n)
    index = rng.integers(0, 6, n)
    source = rng.standard_normal((n, 3))
    x = rng.standard_normal((6, 3))
    expected = x.copy()
    for i, row in zip(index, source):
        expected[i] += row
    out = B.index_add(backend.asarray(x), backend.asarray(index), backend.asarray(source))
    np.testing.assert_allclose(B.to_numpy(out), expected, rtol=1e-12, atol=1e-12)


def test_naive_fancy_assignment_loses_repeats():
    """Why index_add exists: ``x[idx] += v`` keeps one addition per repeated index."""
    x = np.zeros(3)
    x[np.array([0, 0, 0])] += 1.0
    assert x[0] == 1.0
    assert B.index_add(np.zeros(3), np.array([0, 0, 0]), np.ones(3))[0] == 3.0


def test_erf_matches_math_erf_in_float64(backend):
    x = np.concatenate([np.linspace(-9, 9, 4001), [0.0, 1e-300, -1e-8, 0.999999, 1.0, 1.000001, 7.99, 8.0, 30.0]])
    got = B.to_numpy(B.erf(backend.asarray(x)))
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(got, ref, rtol=1e-15, atol=3e-16)


def test_erf_float32_keeps_dtype():
    x = np.linspace(-4, 4, 101, dtype=np.float32)
    y = B.erf(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, [math.erf(v) for v in x.astype(np.float64)], atol=3e-7)


def test_default_dtype_and_resolution():
    assert B.get_default_dtype() == "float32"
    B.set_default_dtype("float64")
    assert B.get_default_dtype() == "float64"
    with pytest.raises(ValueError, match="must be one of"):
        B.set_default_dtype("int32")
    assert B.resolve_dtype("int64") == np.int64
    with pytest.raises(ValueError, match="unknown dtype 'floatish'"):
        B.resolve_dtype("floatish")


def test_manual_seed_repeats_draws():
    B.manual_seed(7)
    a = B.get_rng().random(5)
    B.manual_seed(7)
    np.testing.assert_array_equal(a, B.get_rng().random(5))
    state = B.get_rng_state()
    b = B.get_rng().random(3)
    B.set_rng_state(state)
    np.testing.assert_array_equal(b, B.get_rng().random(3))
    with pytest.raises(ValueError, match="non-negative integer"):
        B.manual_seed(-1)


def test_missing_cupy_names_the_fix(monkeypatch):
    monkeypatch.setattr(B, "_cupy", None)
    monkeypatch.delitem(sys.modules, "cupy", raising=False)
    real_import = builtins.__import__

    def no_cupy(name, *args, **kwargs):
        if name == "cupy" or name.startswith("cupy."):
            raise ImportError("No module named 'cupy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_cupy)
    with pytest.raises(B.CupyUnavailableError, match=r'pip install "minigen\[gpu\]"'):
        B.get_cupy()
    with pytest.raises(B.CupyUnavailableError, match="minigen"):
        B.to_device(np.ones(2), "cuda")


def test_cupy_without_gpu_names_the_fix(monkeypatch):
    class FakeRuntime:
        @staticmethod
        def getDeviceCount():
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    class FakeCupy:
        class cuda:
            runtime = FakeRuntime

    monkeypatch.setattr(B, "_cupy", None)
    monkeypatch.setitem(sys.modules, "cupy", FakeCupy)
    with pytest.raises(B.CupyUnavailableError, match=r"no CUDA GPU is usable.*minigen\[gpu\]"):
        B.get_cupy()


@pytest.mark.gpu
def test_cupy_round_trip():
    try:
        cupy = B.get_cupy()
    except B.CupyUnavailableError as e:
        pytest.skip(str(e))
    x = B.to_device(np.arange(4.0), "cuda")
    assert isinstance(x, cupy.ndarray)
    np.testing.assert_array_equal(B.to_numpy(x), np.arange(4.0))
