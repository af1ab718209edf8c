"""Tensor construction, the graph, backward semantics and no_grad."""

import numpy as np
import pytest

import minigen
from minigen import backend as B


# ---------------------------------------------------------------------------- construction

def test_python_data_becomes_float32():
    for data in (1.5, 3, [1, 2, 3], [[1.0], [2.0]]):
        assert minigen.tensor(data).dtype == np.float32


def test_arrays_keep_their_dtype(backend):
    for host in (np.arange(3), np.ones(2, np.float64), np.ones(2, np.float32)):
        t = backend.tensor(host)
        assert B._dtype_name(t.dtype) == host.dtype.name
        assert t.device == B.device_of(backend.asarray(host))


def test_dtype_argument_casts():
    assert minigen.tensor([1, 2], dtype="float64").dtype == np.float64
    assert minigen.tensor(np.arange(3), dtype="float32").dtype == np.float32
    assert minigen.tensor([1, 2], dtype="int64").dtype == np.int64


def test_default_dtype_is_used():
    B.set_default_dtype("float64")
    assert minigen.tensor([1.0]).dtype == np.float64


def test_only_floats_can_require_grad():
    with pytest.raises(ValueError, match=r"Tensor: requires_grad must be False for dtype int64 "
                                         r"\(not floating-point\), got True"):
        minigen.tensor(np.arange(3), requires_grad=True)


def test_bad_data_is_a_clear_error():
    with pytest.raises(TypeError, match="cannot make an array from"):
        minigen.tensor("abc")
    with pytest.raises(TypeError, match="Tensor: data must be a backend array"):
        minigen.Tensor([1.0, 2.0])


def test_host_helpers():
    t = minigen.tensor([[1.0, 2.0]], requires_grad=True)
    assert t.shape == (1, 2) and t.ndim == 2 and t.numel() == 2 and len(t) == 1
    assert t.tolist() == [[1.0, 2.0]]
    assert minigen.tensor(3.0).item() == 3.0
    with pytest.raises(ValueError, match="one element"):
        t.item()
    arr = t.numpy()
    arr[0, 0] = 99
    assert t.tolist() == [[1.0, 2.0]], "numpy() returns a copy"
    assert "requires_grad=True" in repr(t) and "float32" in repr(t)


def test_setitem_is_refused():
    t = minigen.tensor([1.0, 2.0])
    with pytest.raises(TypeError, match="item assignment"):
        t[0] = 3.0


# ---------------------------------------------------------------------------- backward

def test_gradient_accumulates_when_a_tensor_is_used_twice(backend):
    x = backend.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = x * x + x * 3.0          # dy/dx = 2x + 3
    y.sum().backward()
    np.testing.assert_allclose(backend.numpy(x.grad), [5.0, 7.0, 9.0])


def test_gradients_respect_broadcasting(backend):
    a = backend.tensor(np.ones((4, 1, 3)), requires_grad=True)
    b = backend.tensor(np.full((2, 1), 2.0), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == (4, 1, 3) and b.grad.shape == (2, 1)
    np.testing.assert_allclose(backend.numpy(a.grad), np.full((4, 1, 3), 4.0))
    np.testing.assert_allclose(backend.numpy(b.grad), np.full((2, 1), 12.0))


def test_grads_add_up_across_backward_calls():
    x = minigen.tensor([1.0, 2.0], requires_grad=True)
    (x * 2.0).sum().backward()
    (x * 3.0).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]


def test_leaf_grads_are_independent_arrays():
    a = minigen.tensor([1.0], requires_grad=True)
    b = minigen.tensor([1.0], requires_grad=True)
    (a + b).sum().backward()        # add hands the same array to both sides
    a.grad *= 10                   # e.g. gradient clipping in place
    assert b.grad.tolist() == [1.0]


def test_backward_needs_a_scalar_or_a_gradient(backend):
    x = backend.tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"one element \(a loss\); this one has shape \(2, 3\)"):
        y.backward()
    y.backward(backend.asarray(np.ones((2, 3))))
    np.testing.assert_allclose(backend.numpy(x.grad), np.full((2, 3), 2.0))


def test_backward_checks_the_given_gradient():
    y = minigen.tensor(np.ones(3), requires_grad=True) * 2.0
    with pytest.raises(ValueError, match=r"backward: grad must be of shape \(3,\), got shape \(2,\)"):
        y.backward(np.ones(2))
    with pytest.raises(TypeError, match="backward: grad must be of tensor's dtype float64 .*, got float32"):
        y.backward(np.ones(3, np.float32))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        minigen.tensor([1.0]).sum().backward()


def test_backward_twice_through_the_same_graph():
    """Documented behaviour: the first backward frees the graph; a second one raises,
    unless the first was called with retain_graph=True, in which case gradients add up."""
    x = minigen.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()
    assert x.grad.tolist() == [2.0, 4.0], "the failed call changed nothing"

    x.grad = None
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.tolist() == [4.0, 8.0]


def test_a_second_root_through_a_freed_subgraph_raises():
    x = minigen.tensor([1.0], requires_grad=True)
    h = x.exp()
    (h * 2.0).sum().backward()
    with pytest.raises(RuntimeError, match="second time"):
        (h * 3.0).sum().backward()


def test_backward_on_a_leaf():
    x = minigen.tensor([2.0], requires_grad=True)
    x.backward(np.ones(1, np.float32))
    assert x.grad.tolist() == [1.0]


def test_retain_grad_keeps_intermediate_gradients():
    x = minigen.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3.0).retain_grad()
    (h * h).sum().backward()
    assert h.grad.tolist() == [6.0, 12.0]       # d(h^2)/dh = 2h
    assert x.grad.tolist() == [18.0, 36.0]


def test_unused_outputs_of_split_get_no_gradient_and_no_error():
    x = minigen.tensor(np.arange(6.0), requires_grad=True)
    a, b, c = minigen.split(x, 2)
    (b * 2.0).sum().backward()
    assert x.grad.tolist() == [0, 0, 2, 2, 0, 0]


def test_long_chains_do_not_hit_the_recursion_limit():
    x = minigen.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad, [1.0001 ** 5000], rtol=1e-3)


def test_detach_cuts_the_graph():
    x = minigen.tensor([1.0], requires_grad=True)
    y = (x * 2.0).detach()
    assert not y.requires_grad and y.is_leaf
    z = x * y
    z.sum().backward()
    assert x.grad.tolist() == [2.0]


def test_no_grad_records_nothing():
    x = minigen.tensor([1.0], requires_grad=True)
    with minigen.no_grad():
        y = x * 2.0
        assert not minigen.is_grad_enabled()
        with minigen.enable_grad():
            z = x * 2.0
    assert minigen.is_grad_enabled()
    assert not y.requires_grad and y._ctx is None
    assert z.requires_grad

    @minigen.no_grad()
    def f(t):
        return t * 2.0
    assert not f(x).requires_grad


def test_requires_grad_flag():
    x = minigen.tensor([1.0])
    assert not (x * 2.0).requires_grad
    x.requires_grad_()
    assert (x * 2.0).requires_grad
    with pytest.raises(ValueError, match="floating-point"):
        minigen.tensor(np.arange(2)).requires_grad_()


def test_comparisons_give_masks_without_gradient(backend):
    x = backend.tensor(np.array([-1.0, 0.0, 2.0]), requires_grad=True)
    m = x > 0
    assert not m.requires_grad
    assert B._dtype_name(m.dtype) == "bool"
    assert backend.numpy(m).tolist() == [False, False, True]
    assert backend.numpy(x == x).all()


def test_tensors_hash_by_identity():
    a, b = minigen.tensor([1.0]), minigen.tensor([1.0])
    assert len({a, b}) == 2


def test_numpy_array_on_the_left_dispatches_to_tensor():
    x = minigen.tensor(np.ones(2), requires_grad=True)
    y = np.full(2, 3.0) * x
    assert isinstance(y, minigen.Tensor)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_truth_value_and_numpy_interplay():
    assert bool(minigen.tensor([2.0]) > 1)
    assert float(minigen.tensor(2.5)) == 2.5
    with pytest.raises(ValueError, match="ambiguous"):
        bool(minigen.tensor([1.0, 2.0]) > 0)
    with pytest.raises(TypeError):
        np.exp(minigen.tensor([1.0]))          # no silent conversion to a NumPy array
