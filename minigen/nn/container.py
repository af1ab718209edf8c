"""``ModuleList``: a list of modules registered by position, as ``torch.nn.ModuleList``."""

from __future__ import annotations

from .module import Module


class ModuleList(Module):
    """Holds submodules in a list; their parameters appear as ``0.weight``, ``1.weight``, ...

    >>> import minigen
    >>> layers = ModuleList([minigen.nn.Linear(2, 2) for _ in range(3)])
    >>> len(layers), list(layers.state_dict())[:2]
    (3, ['0.weight', '0.bias'])
    """

    def __init__(self, modules=()):
        super().__init__()
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> ModuleList:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        self._modules[str(len(self._modules))] = module
        return self

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]
