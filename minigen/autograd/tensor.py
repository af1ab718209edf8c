"""``Tensor``: a backend array plus the bookkeeping that reverse-mode autodiff needs.

A Tensor holds:

- ``data``: the array (NumPy, CuPy, or any array-API array);
- ``grad``: after ``backward()``, the gradient of the loss with respect to it, a
  raw array of the same shape (``None`` before);
- ``requires_grad``: whether operations on it are recorded;
- ``_ctx``: the Function that produced it (``None`` for a leaf).

The operators and the maths methods (``+ - * / ** @``, comparisons, ``x[key]``,
``exp``, ``sum``, ``reshape``, ``to``, ...) are the functions of
``minigen.autograd.ops``, which ``ops/__init__.py`` attaches to the class: the ops
build Tensors, so this module cannot import them back.
"""

from __future__ import annotations

from .. import backend, rules
from .engine import backward as _run_backward


class Tensor:
    """An array that records the operations applied to it, for ``backward()``.

    Build one with ``minigen.tensor``:

    >>> import minigen
    >>> x = minigen.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.tolist()
    [2.0, 4.0, 6.0]
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_idx", "name", "__weakref__")
    # NumPy defers to Tensor's reflected operators (ndarray * Tensor -> Tensor.__rmul__)
    # and never converts a Tensor implicitly (np.exp(tensor) raises TypeError).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            data = data.data
        if not backend.is_array(data):
            rules.fail("Tensor", "data", "a backend array (minigen.tensor takes lists)", type(data).__name__, TypeError)
        if requires_grad:
            _floating_for_grad(data.dtype)
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._idx = 0
        self.name = name

    @staticmethod
    def _make(data, ctx, idx):
        """Fast constructor for op outputs (no validation)."""
        t = object.__new__(Tensor)
        t.data = data
        t.grad = None
        t.requires_grad = ctx is not None
        t._ctx = ctx
        t._idx = idx
        t.name = None
        return t

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def numel(self) -> int:
        n = 1
        for s in self.data.shape:
            n *= s
        return n

    def __len__(self) -> int:
        if self.data.ndim == 0:
            rules.fail("len", "tensor", "of at least one dimension", "a 0-d tensor", TypeError)
        return self.data.shape[0]

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = backend.format_array(self.data)
        return f"tensor({body}, dtype={_dtype_str(self.dtype)}{grad})"

    __hash__ = object.__hash__  # == is elementwise, so hash by identity

    def __bool__(self) -> bool:
        return bool(self.item())                  # item() refuses a tensor of several elements: its truth is ambiguous

    def __float__(self) -> float:
        return float(self.item())

    # ------------------------------------------------------------------ autograd
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Compute the gradient of this tensor with respect to every leaf that requires grad.

        ``grad`` is the upstream gradient, of this tensor's shape; it may be left out
        only for a tensor with one element (a loss), where it defaults to 1. Gradients
        add up in ``leaf.grad`` across calls; zero them between steps.

        The first call frees the arrays the graph saved, so a second ``backward()``
        through the same graph raises ``RuntimeError``; pass ``retain_graph=True`` to
        the first call to be able to go through it again.
        """
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad: no input of the "
                               "computation had requires_grad=True (or it ran under no_grad()).")
        if grad is None:
            if self.numel() != 1:
                raise RuntimeError(f"backward() without a gradient needs a tensor with one element (a loss); "
                                   f"this one has shape {self.shape}. Pass grad= of that shape, or reduce it "
                                   "first, e.g. loss = out.sum().")
            xp = backend.array_namespace(self.data)
            grad = xp.ones(self.data.shape, dtype=self.dtype, device=backend.device_of(self.data))
        else:
            grad = rules.array_of(rules.floating_array("backward", "grad", backend.ensure_array(grad), self.shape))
            rules.same_dtype("backward", tensor=self.data, grad=grad)
        _run_backward(self, grad, retain_graph=retain_graph)

    def retain_grad(self) -> Tensor:
        """Keep ``.grad`` for this non-leaf tensor after ``backward()`` (leaves always keep it)."""
        if self._ctx is not None:
            if self._ctx._retained is None:
                self._ctx._retained = {}
            self._ctx._retained[self._idx] = self
        return self

    def detach(self) -> Tensor:
        """A tensor sharing this one's array, cut from the graph."""
        return Tensor._make(self.data, None, 0)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place (leaves only) and return self."""
        if self._ctx is not None and not requires_grad:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use detach() instead")
        if requires_grad:
            _floating_for_grad(self.dtype)
        self.requires_grad = requires_grad
        return self

    # ------------------------------------------------------------------ host side
    def numpy(self):
        """A NumPy copy of the data on the host (an explicit device-to-host move)."""
        return backend.to_numpy(self.data).copy()

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        if self.numel() != 1:                     # bool() and float() too: reduce first (.sum(), .max(), a comparison)
            rules.fail("item", "the tensor", "of one element (several are ambiguous)", f"shape {self.shape}")
        return backend.to_numpy(self.data).reshape(()).item()

    def tolist(self):
        return backend.to_numpy(self.data).tolist()

    @property
    def T(self):
        """All axes reversed (the matrix transpose for 2-D tensors)."""
        return self.permute(*reversed(range(self.ndim)))

    def float(self):
        return self.to("float32")

    def double(self):
        return self.to("float64")

    def __setitem__(self, key, value):
        raise TypeError("tensors do not support item assignment, which would change values the graph saved; "
                        "build a new tensor with where(), masked_fill() or concat() instead")


def _dtype_str(dtype) -> str:
    return backend._dtype_name(dtype)


def as_tensor(x):
    """A Tensor for a Tensor or a backend array; anything else (a number, None) as it is."""
    return x if isinstance(x, Tensor) or not backend.is_array(x) else Tensor(x)


def _floating_for_grad(dtype) -> None:
    """Only floating-point tensors can require gradients."""
    if not backend.is_floating(dtype):
        rules.fail("Tensor", "requires_grad", f"False for dtype {_dtype_str(dtype)} (not floating-point)", True)


def tensor(data, requires_grad: bool = False, dtype=None, device=None, name: str | None = None) -> Tensor:
    """Build a Tensor.

    - A backend array (NumPy, CuPy, array-api) keeps its dtype and device.
    - Python numbers and (nested) lists become the default dtype, float32.
    - ``dtype`` (a name such as ``"float64"``, or a dtype) casts; ``device`` moves.
    - ``name`` labels it in gradcheck reports.

    >>> import minigen, numpy as np
    >>> minigen.tensor([1, 2]).dtype
    dtype('float32')
    >>> minigen.tensor(np.arange(3)).dtype == np.arange(3).dtype
    True
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_array(data):
        arr = data
        if dtype is not None:
            xp = backend.array_namespace(arr)
            want = backend.resolve_dtype(dtype, xp)
            if arr.dtype != want:
                arr = xp.astype(arr, want)
    else:
        try:
            arr = backend.host_array(data, dtype)
        except (TypeError, ValueError) as e:
            raise TypeError(f"tensor(): cannot make an array from {type(data).__name__} ({e})") from None
    if device is not None:
        arr = backend.to_device(arr, device)
    return Tensor(arr, requires_grad=requires_grad, name=name)

