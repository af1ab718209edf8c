"""Reverse-mode automatic differentiation: Tensor, Function, the graph, and the primitive ops."""

from .tensor import Tensor, tensor  # first: tensor.py loads the ops, which need Function and Tensor
from .function import Function, unbroadcast
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from . import ops

__all__ = ["Tensor", "tensor", "Function", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled", "ops"]
