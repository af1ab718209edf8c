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
    with pytest.raises(ValueError, match=rf"{op}: shapes \(2, 3\) and \(4,\) cannot be broadcast together"):
        fn(t(2, 3), t(4))


def test_broadcast_mismatch_on_the_strict_device(backend):
    a, b = backend.tensor(np.ones((2, 3))), backend.tensor(np.ones((2,)))
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2,\)"):
        a * b


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not align.*got 3 and 4"):
        t(2, 3) @ t(4, 5)
    with pytest.raises(ValueError, match=r"matmul: batch dimensions of shapes \(2, 2, 3\) and \(3, 3, 1\)"):
        t(2, 2, 3) @ t(3, 3, 1)
    with pytest.raises(ValueError, match="at least 1 dimension"):
        minigen.matmul(t(), t(2))


@pytest.mark.parametrize("fn", [lambda a, b: a + b, lambda a, b: a @ b, lambda a, b: minigen.where(a > 0, a, b),
                                lambda a, b: minigen.concat([a, b])])
def test_mixed_dtypes_are_never_upcast(fn):
    with pytest.raises(TypeError, match="float32 and float64|float64 but tensor 0 has float32|dtypes differ"):
        fn(t(2, 2, dtype=np.float32), t(2, 2))


def test_mixed_dtypes_on_the_strict_device(backend):
    a = minigen.tensor(backend.asarray(np.ones(2, np.float32)))
    b = minigen.tensor(backend.asarray(np.ones(2, np.float64)))
    with pytest.raises(TypeError, match="dtypes differ, float32 and float64"):
        a + b


def test_python_numbers_keep_the_tensor_dtype():
    assert (t(2, dtype=np.float32) * 2.5).dtype == np.float32
    assert (3 - t(2, dtype=np.float32)).dtype == np.float32


def test_reduction_axis_errors():
    with pytest.raises(ValueError, match="sum: axis 2 is out of range for a tensor with 2 dimensions"):
        t(2, 3).sum(axis=2)
    with pytest.raises(ValueError, match="repeated axis"):
        t(2, 3).mean(axis=(0, 0))
    with pytest.raises(TypeError, match="axis must be an int"):
        t(2, 3).max(axis=1.0)
    with pytest.raises(ValueError, match="size 0"):
        t(0, 3).max(axis=0)


def test_shape_op_errors():
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)"):
        t(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match="reshape"):
        t(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match="not a permutation"):
        t(2, 3).permute(0, 0)
    with pytest.raises(ValueError, match="transpose: axis 2"):
        t(2, 3).transpose(0, 2)
    with pytest.raises(ValueError, match=r"concat: shapes must match except on axis 0; tensor 0 has shape \(2, 3\), tensor 1 has shape \(2, 4\)"):
        minigen.concat([t(2, 3), t(2, 4)])
    with pytest.raises(ValueError, match="stack: all shapes must be equal"):
        minigen.stack([t(2, 3), t(3, 3)])
    with pytest.raises(ValueError, match="at least one tensor"):
        minigen.concat([])
    with pytest.raises(ValueError, match=r"split: sections \[1, 1\] must be non-negative and add up to 3"):
        minigen.split(t(3), [1, 1])
    with pytest.raises(ValueError, match="split_size must be a positive integer"):
        minigen.split(t(3), 0)


def test_index_errors():
    x = t(4, 3)
    with pytest.raises(IndexError, match="index 7 is out of range for axis 0 of size 4"):
        x[np.array([0, 7])]
    with pytest.raises(IndexError, match="must hold integers"):
        x[np.array([0.0, 1.0])]
    with pytest.raises(IndexError, match="integer-array indices must come first"):
        x[:, np.array([0, 1])]


def test_embedding_errors(backend):
    W = backend.tensor(np.ones((5, 2)))
    with pytest.raises(IndexError, match=r"embedding: id 9 is out of range for 5 embeddings \(expected 0 <= id < 5\)"):
        minigen.embedding(backend.asarray(np.array([1, 9])), W)
    with pytest.raises(IndexError, match=r"embedding: id -1 is out of range for 5 embeddings"):
        minigen.embedding(backend.asarray(np.array([-1])), W)
    with pytest.raises(TypeError, match="integer array of token ids, got float64"):
        minigen.embedding(backend.asarray(np.array([1.0])), W)
    with pytest.raises(ValueError, match="weight must have shape"):
        minigen.embedding(backend.asarray(np.array([1])), backend.tensor(np.ones(5)))


def test_mask_errors():
    x = t(2, 3)
    with pytest.raises(TypeError, match="masked_fill: the condition/mask must be a boolean array, got float64"):
        x.masked_fill(np.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"mask of shape \(4,\) does not broadcast to the tensor's shape \(2, 3\)"):
        x.masked_fill(np.ones(4, bool), 0.0)
    with pytest.raises(ValueError, match="where: shapes"):
        minigen.where(np.ones((5,), bool), x, x)


def test_argument_errors():
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        minigen.dropout(t(2), p=1.5)
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh', got 'fast'"):
        minigen.gelu(t(2), approximate="fast")
    with pytest.raises(ValueError, match="min must be <= max"):
        minigen.clip(t(2), 1.0, 0.0)
    with pytest.raises(TypeError, match="expected a Tensor, an array or a number, got str"):
        t(2) + "a"
