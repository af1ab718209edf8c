"""Reverse-mode automatic differentiation: Tensor, Function, the graph, and the primitive ops."""

from .tensor import Tensor, as_tensor, tensor
from .function import Function, unbroadcast
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from . import ops

__all__ = ["Tensor", "tensor", "as_tensor", "Function", "unbroadcast", "no_grad", "enable_grad", "is_grad_enabled",
           "ops"]
