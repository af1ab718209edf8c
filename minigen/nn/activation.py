"""Activation modules: ``GELU``, as ``torch.nn.GELU``."""

from __future__ import annotations

from .. import functional as F
from .. import rules
from .module import Module


class GELU(Module):
    """y = x * Phi(x) (``approximate="none"``), or its tanh approximation (``"tanh"``, as in GPT-2).

    >>> import minigen
    >>> round(minigen.nn.GELU()(minigen.tensor([1.0], dtype="float64")).item(), 6)
    0.841345
    """

    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = rules.choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"
