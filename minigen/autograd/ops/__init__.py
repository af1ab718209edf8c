"""The primitive differentiable operations, one module per family, and Tensor's operators.

The ops build Tensors, so ``tensor.py`` cannot import them; instead this module
attaches them to the class: ``x + y`` is ``add(x, y)``, ``x.sum(axis=0)`` is
``sum(x, axis=0)``, ``x < y`` is ``compare(x, y, "lt")``.
"""

from functools import partialmethod

from ..tensor import Tensor
from .arithmetic import add, broadcast_shapes, div, matmul, mul, neg, pow, sub
from .elementwise import clip, exp, log, relu, sigmoid, sqrt, tanh
from .indexing import compare, getitem, masked_fill, where
from .reduce import max, mean, sum
from .shape import cat, concat, permute, reshape, split, stack, to, transpose

clamp = clip

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "broadcast_shapes",
    "exp", "log", "sqrt", "tanh", "sigmoid", "relu", "clip", "clamp",
    "sum", "mean", "max",
    "reshape", "permute", "transpose", "concat", "cat", "stack", "split", "to",
    "getitem", "where", "masked_fill", "compare",
]


def _reflected(op):
    """``other <op> tensor`` (``2 - x`` calls ``x.__rsub__(2)``) as ``op(other, tensor)``."""
    return lambda self, other: op(other, self)


# operators: x + y, 2 * x, x @ W, -x, x[key]; comparisons give boolean tensors without gradient
Tensor.__add__, Tensor.__radd__ = add, _reflected(add)
Tensor.__sub__, Tensor.__rsub__ = sub, _reflected(sub)
Tensor.__mul__, Tensor.__rmul__ = mul, _reflected(mul)
Tensor.__truediv__, Tensor.__rtruediv__ = div, _reflected(div)
Tensor.__pow__, Tensor.__rpow__ = pow, _reflected(pow)
Tensor.__matmul__, Tensor.__rmatmul__ = matmul, _reflected(matmul)
Tensor.__neg__, Tensor.__getitem__ = neg, getitem
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(Tensor, f"__{_name}__", partialmethod(compare, op=_name))

# methods: x.exp(), x.sum(axis=0), x.reshape(2, -1), x.to("float64"), ...
for _op in (exp, log, sqrt, tanh, sigmoid, relu, sum, mean, max, matmul, transpose, permute, masked_fill, clip,
            split, reshape, to):
    setattr(Tensor, _op.__name__, _op)
Tensor.clamp = Tensor.clip
Tensor.view = Tensor.reshape
