"""``Module`` and ``Parameter``: containers of trainable state, as in ``torch.nn``.

A Module registers the Parameters and sub-Modules assigned to its attributes,
so that ``parameters()``, ``state_dict()`` and ``load_state_dict()`` can walk
them by name. Names match PyTorch's, so a state dict exported from a torch
module loads here:

    lstm.load_state_dict({k: v.numpy() for k, v in torch_lstm.state_dict().items()})
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple
from collections.abc import Mapping

from .. import backend, rules
from ..autograd import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Parameter(Tensor):
    """A Tensor that a Module trains: ``requires_grad`` is True by default."""

    def __init__(self, data, requires_grad: bool = True):
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()``, assign Parameters and Modules as
    attributes, and define ``forward``. Calling the module calls ``forward``.
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        for d in (self._parameters, self._buffers, self._modules):
            d.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif value is None and name in self.__dict__.get("_none_params", ()):
            self._parameters[name] = None
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def register_parameter(self, name: str, param) -> None:
        """Register ``param`` (a Parameter, or None for an absent optional one, like ``bias=False``)."""
        fn = self._name_rule("register_parameter", name)
        rules.instance(fn, name, param, (Parameter, type(None)), "a Parameter or None")
        if param is None:
            self.__dict__.setdefault("_none_params", set()).add(name)
            self._parameters[name] = None
            self.__dict__.pop(name, None)
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, array) -> None:
        """Register non-trained state (an array) that ``state_dict`` saves and ``.to()`` moves."""
        fn = self._name_rule("register_buffer", name)
        ok = array is None or backend.is_array(array)
        rules.require(ok, fn, name, "an array or None", type(array).__name__, TypeError)
        self.__dict__.pop(name, None)
        self._buffers[name] = array

    def _name_rule(self, method: str, name) -> str:
        """The rule of a parameter or buffer name: a non-empty string without dots (dots join names in
        ``state_dict``). Returns the method's name for the next rules, ``Linear.register_buffer``."""
        fn = f"{type(self).__name__}.{method}"
        if not rules.instance(fn, "name", name, str, "a string") or "." in name:
            rules.fail(fn, "name", "non-empty and without '.'", repr(name))
        return fn

    # ------------------------------------------------------------------ walking
    def named_children(self):
        yield from self._modules.items()

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, prefix: str = ""):
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(name, Parameter) pairs; a parameter shared by two modules (weight tying) appears once."""
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, p in mod._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for mod_prefix, mod in self.named_modules(prefix):
            for name, b in mod._buffers.items():
                if b is not None:
                    yield (f"{mod_prefix}.{name}" if mod_prefix else name), b

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict:
        """Every parameter and buffer by dotted name, as backend arrays (shared, not copied)."""
        out = OrderedDict()
        for mod_prefix, mod in self.named_modules():
            for name, p in mod._parameters.items():
                if p is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = p.data
            for name, b in mod._buffers.items():
                if b is not None:
                    out[f"{mod_prefix}.{name}" if mod_prefix else name] = b
        return out

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy arrays into this module's parameters and buffers, by name.

        Values may be NumPy arrays, backend arrays or Tensors; each is cast to the
        parameter's dtype and moved to its device, as torch does. Shape mismatches are
        always an error; missing and unexpected keys are errors when ``strict``. One
        error lists every problem at once.
        """
        cls = type(self).__name__
        fn = f"{cls}.load_state_dict"
        rules.instance(fn, "state_dict", state_dict, Mapping, "a mapping (module.state_dict())")
        targets = {}
        for mod_prefix, mod in self.named_modules():
            for store, d in (("param", mod._parameters), ("buffer", mod._buffers)):
                for name, v in d.items():
                    if v is not None:
                        array = v.data if store == "param" else v
                        targets[f"{mod_prefix}.{name}" if mod_prefix else name] = (mod, store, name, array)
        bad = [f"{_kind(value)} for {key!r}" for key, value in state_dict.items()
               if key in targets and not _is_numeric_array(value)]
        rules.require(not bad, fn, "values", "numeric arrays or Tensors", "; ".join(bad), TypeError)
        missing = [k for k in targets if k not in state_dict]
        unexpected = [str(k) for k in state_dict if k not in targets]
        problems = []
        for key, value in state_dict.items():
            if key not in targets:
                continue
            mod, store, name, current = targets[key]
            data = value.data if isinstance(value, Tensor) else value
            have = tuple(current.shape)
            if tuple(data.shape) != have:
                problems.append(f"size mismatch for {key}: copying a param with shape {tuple(data.shape)} "
                                f"from the state dict, the shape in the current model is {have}")
        if strict:
            problems += [f'Missing key(s): {", ".join(missing)}'] if missing else []
            problems += [f'Unexpected key(s): {", ".join(unexpected)}'] if unexpected else []
        if problems:
            raise RuntimeError(f"Error(s) in loading state_dict for {cls}:\n\t" + "\n\t".join(problems))
        for key, value in state_dict.items():
            if key not in targets:
                continue
            mod, store, name, current = targets[key]
            data = value.data if isinstance(value, Tensor) else value
            new = _like(data, current)
            if store == "param":
                mod._parameters[name].data = new
            else:
                mod._buffers[name] = new
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes, grads, conversion
    def train(self, mode: bool = True):
        """Set training mode (dropout active) on this module and all sub-modules; returns self."""
        mode = rules.flag(f"{type(self).__name__}.train", "mode", mode)
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's ``.grad`` (to None, or to zeros)."""
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad = p.grad * 0

    def to(self, target):
        """Cast floating parameters and buffers to a dtype (``"float64"``) or move them to a device, in place.

        Only floating dtypes are accepted, as in torch: an integer or bool dtype would
        truncate the weights. Integer buffers keep their dtype.
        """
        fn = f"{type(self).__name__}.to"
        if backend.is_dtype(target) and not backend.is_floating(target):
            rules.fail(fn, "dtype", "floating (others truncate the weights)", backend._dtype_name(target), TypeError)
        for p in self.parameters():
            p.data = _convert(p.data, target)
            if p.grad is not None:
                p.grad = _convert(p.grad, target)
        for m in self.modules():
            for name, b in m._buffers.items():
                if b is not None:
                    m._buffers[name] = _convert(b, target)
        return self

    def double(self):
        """Convert floating parameters to float64."""
        return self.to("float64")

    def float(self):
        """Convert floating parameters to float32."""
        return self.to("float32")

    # ------------------------------------------------------------------ calling and printing
    def forward(self, *args, **kwargs):  # pragma: no cover - interface
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): " + repr(m).replace("\n", "\n  ") for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"


def _like(data, current):
    """``data`` with ``current``'s dtype, on ``current``'s device, as a fresh array."""
    host = backend.to_numpy(data).astype(backend._dtype_name(current.dtype), copy=True)
    return backend.asarray_like(host, current)


def _is_numeric_array(value) -> bool:
    """A Tensor or backend array of a floating, integer or bool dtype: what ``_like`` can cast."""
    data = value.data if isinstance(value, Tensor) else value
    if not backend.is_array(data):
        return False
    return backend.is_floating(data.dtype) or backend.is_integer(data.dtype) or backend._dtype_name(data.dtype) == "bool"


def _kind(value) -> str:
    """What a state-dict value is, for an error message: ``list``, or ``ndarray of dtype str32``."""
    data = value.data if isinstance(value, Tensor) else value
    if backend.is_array(data):
        return f"{type(value).__name__} of dtype {backend._dtype_name(data.dtype)}"
    return type(value).__name__


def _convert(x, target):
    if backend.is_dtype(target):
        if not backend.is_floating(x.dtype):
            return x
        xp = backend.array_namespace(x)
        return xp.astype(x, backend.resolve_dtype(target, xp))
    return backend.to_device(x, target)
