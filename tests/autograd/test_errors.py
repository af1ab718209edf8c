"""Bad input gets a clear message that names the op and what it was given."""

import numpy as np
import pytest

import minigen


def t(*shape, dtype=np.float64):
    return minigen.tensor(np.ones(shape, dtype=dtype))


@pytest.mark.parametrize("op,fn", [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                                   ("mul", lambda a, b: a * b), ("div", lambda a, b: a / b),
                                   ("pow", lambda a, b: a ** b)])
def test_broadcast_mismatch_names_op_and_shapes(op, fn):
    with pytest.raises(ValueError, match=rf"{op}: b must be of a shape that broadcasts with a's \(2, 3\), got \(4,\)"):
        fn(t(2, 3), t(4))


def test_broadcast_mismatch_on_the_strict_device(backend):
    a, b = backend.tensor(np.ones((2, 3))), backend.tensor(np.ones((2,)))
    with pytest.raises(ValueError, match=r"mul: b must be of a shape that broadcasts with a's \(2, 3\), got \(2,\)"):
        a * b


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: b must be \(\.\.\., k, m\) or \(k,\) with k = a's last dimension, .* a \(2, 3\), got \(4, 5\)"):
        t(2, 3) @ t(4, 5)
    with pytest.raises(ValueError, match=r"matmul: b must be .* broadcasting with a \(2, 2, 3\), got \(3, 3, 1\)"):
        t(2, 2, 3) @ t(3, 3, 1)
    with pytest.raises(ValueError, match=r"matmul: b must be .* with a \(\), got \(2,\)"):
        minigen.matmul(t(), t(2))


@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a @ b, lambda a, b: minigen.where(a > 0, a, b),
                                lambda a, b: minigen.concat([a, b])])
def test_mixed_dtypes_are_never_upcast(fn):
    with pytest.raises(TypeError, match="must be of (a|tensor 0)'s dtype float32 .*, got float64"):
        fn(t(2, 2, dtype=np.float32), t(2, 2))


def test_mixed_dtypes_on_the_strict_device(backend):
    a = minigen.tensor(backend.asarray(np.ones(2, np.float32)))
    b = minigen.tensor(backend.asarray(np.ones(2, np.float64)))
    with pytest.raises(TypeError, match="add: b must be of a's dtype float32 .*, got float64"):
        a + b


def test_python_numbers_keep_the_tensor_dtype():
    assert (t(2, dtype=np.float32) * 2.5).dtype == np.float32
    assert (3 - t(2, dtype=np.float32)).dtype == np.float32


def test_reduction_axis_errors():
    with pytest.raises(ValueError, match=r"sum: axis must be an integer in \[-2, 1\], got 2"):
        t(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match=r"mean: axis must be distinct axes, got \(0, 0\)"):
        t(2, 3).mean(axis=(0, 0))
    with pytest.raises(ValueError, match="max: axis must be an integer .*, got 1.0"):
        t(2, 3).max(axis=1.0)
    with pytest.raises(ValueError, match=r"max: axis must be an axis of size > 0, got 0 of shape \(0, 3\)"):
        t(0, 3).max(axis=0)


def test_shape_op_errors():
    with pytest.raises(ValueError, match=r"reshape: shape must be a shape of 6 elements, like \(2, 3\), got \(4, 2\)"):
        t(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        t(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=r"permute: axes must be a permutation of the 2 axes of shape \(2, 3\), got \(0, 0\)"):
        t(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match=r"transpose: axis must be an integer in \[-2, 1\], got 2"):
        t(2, 3).transpose(0, 2)
    with pytest.raises(ValueError, match=r"concat: tensor 1 must be of tensor 0's shape except on axis 0 \(2, 3\), got shape \(2, 4\)"):
        minigen.concat([t(2, 3), t(2, 4)])
    with pytest.raises(ValueError, match="stack: tensor 1 must be of tensor 0's shape"):
        minigen.stack([t(2, 3), t(3, 3)])
    with pytest.raises(ValueError, match=r"concat: tensors must be a list of at least one tensor, got \[\]"):
        minigen.concat([])
    with pytest.raises(ValueError, match=r"split: sections must be non-negative sizes adding up to 3, the size of axis 0, got \[1, 1\]"):
        minigen.split(t(3), [1, 1])
    with pytest.raises(ValueError, match="split: split_size must be a positive integer, got 0"):
        minigen.split(t(3), 0)


def test_index_errors():
    x = t(4, 3)
    with pytest.raises(IndexError, match=r"indexing: index must be in \[-4, 4\) for axis 0, got 7"):
        x[np.array([0, 7])]
    with pytest.raises(IndexError, match="indexing: index must be an integer array .*, got float64"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(IndexError, match="indexing: key must be integer-array indices first"):
        x[:, np.array([0, 1])]
    with pytest.raises(IndexError, match=r"^indexing: key must be index arrays that broadcast, "
                                         r"got \[\(2,\), \(3,\)\]$"):
        x[np.array([0, 1]), np.array([0, 1, 2])]
    with pytest.raises(TypeError, match="^len: tensor must be of at least one dimension, got a 0-d tensor$"):
        len(t())


def test_embedding_errors(backend):
    W = backend.tensor(np.ones((5, 2)))
    with pytest.raises(IndexError, match=r"embedding: input must be ids in \[0, 5\), got id 9"):
        minigen.embedding(backend.asarray(np.array([1, 9])), W)
    with pytest.raises(IndexError, match=r"embedding: input must be ids in \[0, 5\), got id -1"):
        minigen.embedding(backend.asarray(np.array([-1])), W)
    with pytest.raises(TypeError, match="integer array of token ids, got float64"):
        minigen.embedding(backend.asarray(np.array([1.0])), W)
    with pytest.raises(ValueError, match="weight must be of shape"):
        minigen.embedding(backend.asarray(np.array([1])), backend.tensor(np.ones(5)))


def test_mask_errors():
    x = t(2, 3)
    with pytest.raises(TypeError, match="masked_fill: mask must be a boolean array, got .*dtype float64"):
        x.masked_fill(np.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask must be of a shape that broadcasts to the tensor's \(2, 3\), got \(4,\)"):
        x.masked_fill(np.ones(4, bool), 0.0)
    with pytest.raises(ValueError, match="where: condition, x and y must be of shapes that broadcast together"):
        minigen.where(np.ones((5,), bool), x, x)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        minigen.dropout(t(2), p=1.5)
    with pytest.raises(ValueError, match="gelu: approximate must be one of 'none', 'tanh', got 'fast'"):
        minigen.gelu(t(2), approximate="fast")
    with pytest.raises(ValueError, match="clip: min must be <= max"):
        minigen.clip(t(2), 1.0, 0.0)
    with pytest.raises(TypeError, match="^an operand must be a Tensor, an array or a number, got str$"):
        t(2) + "a"
