"""``minigen.nn``: layers with the names, arguments and state-dict keys of ``torch.nn``."""

from . import init
from .linear import Linear
from .module import Module, Parameter

__all__ = ["Module", "Parameter", "Linear", "init"]
