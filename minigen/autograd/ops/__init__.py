"""The primitive differentiable operations, one module per family."""

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
