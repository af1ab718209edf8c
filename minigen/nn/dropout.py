"""``Dropout``: inverted dropout in training mode, the identity in evaluation mode, as ``torch.nn.Dropout``."""

from __future__ import annotations

from .. import functional as F
from .. import rules
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by ``1 / (1 - p)`` while ``self.training``.

    ``model.eval()`` turns it into the identity. Masks come from minigen's seeded
    generator (``minigen.manual_seed``). ``inplace`` is accepted for torch's signature,
    but the result is always a new tensor: writing into an input that autograd may
    still need would corrupt its backward, and minigen never mutates inputs.

    >>> import minigen
    >>> drop = minigen.nn.Dropout(0.5).eval()
    >>> drop(minigen.tensor([1.0, 2.0])).tolist()
    [1.0, 2.0]
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p, self.inplace = rules.probability("Dropout", "p", p), rules.flag("Dropout", "inplace", inplace)

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
