"""The primitive differentiable operations, one module per family, and Tensor's operators.

The ops build Tensors, so ``tensor.py`` cannot import them; instead this module
attaches them to the class: ``x + y`` is ``add(x, y)``, ``x.sum(axis=0)`` is
``sum(x, axis=0)``, ``x < y`` is ``compare(x, y, "lt")``.
"""

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


_OPS = globals()      # the ops by name, looked up at each call (as ``ops.add``), so a replaced op is the one called


def _method(name: str):
    """``x.name(...)`` as ``name(x, ...)``."""
    return lambda self, *args, **kwargs: _OPS[name](self, *args, **kwargs)


def _binary(name: str):
    """``x <op> other`` as ``name(x, other)`` (no argument packing: the operators are the hot path)."""
    return lambda self, other: _OPS[name](self, other)


def _reflected(name: str):
    """``other <op> x`` (``2 - x`` calls ``x.__rsub__(2)``) as ``name(other, x)``."""
    return lambda self, other: _OPS[name](other, self)


def _comparison(op: str):
    return lambda self, other: _OPS["compare"](self, other, op)


# operators: x + y, 2 * x, x @ W, -x, x[key]; comparisons give boolean tensors without gradient
for _dunder, _name in (("add", "add"), ("sub", "sub"), ("mul", "mul"), ("truediv", "div"), ("pow", "pow"),
                       ("matmul", "matmul")):
    setattr(Tensor, f"__{_dunder}__", _binary(_name))
    setattr(Tensor, f"__r{_dunder}__", _reflected(_name))
Tensor.__neg__, Tensor.__getitem__ = _method("neg"), _method("getitem")
for _op in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(Tensor, f"__{_op}__", _comparison(_op))

# methods: x.exp(), x.sum(axis=0), x.reshape(2, -1), x.to("float64"), ...
for _name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sum", "mean", "max", "matmul", "transpose", "permute",
              "masked_fill", "clip", "clamp", "split", "reshape", "to"):
    setattr(Tensor, _name, _method(_name))
Tensor.view = Tensor.reshape
