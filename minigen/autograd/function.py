"""``Function``: one differentiable operation, and the node that records it in the graph.

A Function is a thin adapter. ``forward`` gets raw arrays (and plain Python
parameters), computes the output, and keeps on ``self`` whatever ``backward``
will need. ``backward`` gets the gradient of the loss with respect to each
output, as raw arrays, and returns one gradient per positional input (``None``
where there is none)::

    class Mul(Function):
        def forward(self, a, b):
            self.a, self.b = a, b
            return a * b

        def backward(self, dout):
            return dout * self.b, dout * self.a   # d(a*b)/da = b, d(a*b)/db = a

    def mul(a, b):
        return Mul.apply(a, b)

Rules a backward must keep: never write into ``dout`` (it may be shared), and
return gradients with the shapes of the inputs (``unbroadcast`` helps).
"""

from __future__ import annotations

from ..backend import HOST_SCALAR_TYPES, ensure_array, sum_to
from .engine import next_sequence_number
from .grad_mode import _GradMode
from .tensor import Tensor


class Function:
    """Base class of every differentiable operation (see the module docstring)."""

    #: output tensors whose gradient was asked for with ``Tensor.retain_grad()``
    _retained = None
    #: set once ``backward`` has run through this node and freed what it saved
    _released = False
    #: number of outputs (Split has several)
    n_out = 1

    def forward(self, *args, **params):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, *douts):  # pragma: no cover - interface
        raise NotImplementedError

    @classmethod
    def apply(cls, *args, **params):
        """Run ``forward`` on the inputs' arrays and, when gradients are needed, record the node.

        Positional arguments that are Tensors are differentiable inputs; anything else
        (Python numbers, integer index arrays) is passed through to ``forward`` as is.
        Keyword arguments are non-differentiable parameters (an axis, a probability).
        """
        ctx = cls()
        out = ctx.forward(*[a.data if isinstance(a, Tensor) else a for a in args], **params)
        node = None
        if _GradMode.enabled:
            needs = tuple([isinstance(a, Tensor) and a.requires_grad for a in args])
            if True in needs:                       # record the node: the outputs point back at it
                ctx.needs_input_grad = needs
                ctx.inputs = args
                ctx.seq = next_sequence_number()
                node = ctx
        if type(out) is tuple:
            if node is not None:
                node.n_out = len(out)
            return tuple(Tensor._make(ensure_array(o), node, i) for i, o in enumerate(out))
        if isinstance(out, HOST_SCALAR_TYPES):
            out = ensure_array(out)
        return Tensor._make(out, node, 0)

    def release(self) -> None:
        """Free what forward saved; a second backward through this node then raises."""
        self.__dict__.clear()
        self._released = True
        self.inputs = ()


#: the backward of broadcasting (``minigen.backend.sum_to``), under its autograd name
unbroadcast = sum_to
