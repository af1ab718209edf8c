"""``ModuleList``: a list of modules registered by position, as ``torch.nn.ModuleList``."""

from __future__ import annotations

from collections.abc import Iterable

from .. import rules
from .module import Module


class ModuleList(Module):
    """Holds submodules in a list; their parameters appear as ``0.weight``, ``1.weight``, ...

    Indexing, ``append``, ``extend``, ``insert``, assignment and ``del`` work as on a list,
    and the keys follow the positions: after ``insert(0, m)`` the old ``0.weight`` is
    ``1.weight``. A slice is a new ModuleList holding the same modules.

    >>> import minigen
    >>> layers = ModuleList([minigen.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), list(layers.state_dict())[:2]
    (3, ['0.weight', '0.bias'])
    >>> layers.insert(0, minigen.nn.GELU())[1:].__class__.__name__
    'ModuleList'
    """

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _module(self, method: str, module) -> Module:
        return rules.instance(f"ModuleList.{method}", "module", module, Module, "a Module")

    def _index(self, method: str, index) -> int:
        """``index`` as a position in 0..len-1 (negative counts from the end), or an error naming ``method``."""
        n, fn = len(self), f"ModuleList.{method}"
        kinds = "an integer" if method == "__setitem__" else "an integer or a slice"
        rules.require(rules.is_int(index), fn, "index", kinds, type(index).__name__, TypeError)
        rules.require(-n <= index < n, fn, "index", f"in [-{n}, {n}) for {n} modules", index, IndexError)
        return int(index) % n

    def _renumber(self, modules) -> None:
        """Register ``modules`` under the keys "0", "1", ... (after an insertion or deletion)."""
        self._modules.clear()
        for i, m in enumerate(modules):
            self._modules[str(i)] = m

    def append(self, module: Module) -> ModuleList:
        self._modules[str(len(self))] = self._module("append", module)
        return self

    def extend(self, modules) -> ModuleList:
        """Append every module of an iterable (each is checked before any is added)."""
        rules.instance("ModuleList.extend", "modules", modules, Iterable, "an iterable of Modules")
        modules = [self._module("extend", m) for m in modules]
        for m in modules:
            self._modules[str(len(self))] = m
        return self

    def insert(self, index: int, module: Module) -> ModuleList:
        """Insert ``module`` before position ``index``, as ``list.insert`` (an index past the end appends)."""
        rules.require(rules.is_int(index), "ModuleList.insert", "index", "an integer", type(index).__name__, TypeError)
        modules = list(self)
        modules.insert(int(index), self._module("insert", module))
        self._renumber(modules)
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self)[index])
        return self._modules[str(self._index("__getitem__", index))]

    def __setitem__(self, index, module: Module) -> None:
        key = str(self._index("__setitem__", index))
        self._modules[key] = self._module("__setitem__", module)

    def __delitem__(self, index) -> None:
        modules = list(self)
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index("__delitem__", index)]
        self._renumber(modules)
