"""minigen's imports point one way: no cycles, nothing imported late to dodge one.

The test reads every module's import statements (it does not import anything) and
builds the graph of minigen module -> minigen module. ``from pkg import name`` points
at ``pkg.name`` when that is a module, else at ``pkg``. A package's implicit import
of its parents is not an edge (Python runs a parent's ``__init__`` first, and every
module would otherwise reach ``minigen/__init__``).
"""

from __future__ import annotations

import ast
import os

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "minigen")

# Optional packages that may be imported lazily, inside the function that needs them.
OPTIONAL = {"cupy", "cupyx", "matplotlib", "tqdm", "safetensors", "regex", "landlock", "array_api_strict", "jupytext",
            "ctypes", "types", "resource", "threadpoolctl", "nltk", "mpi4py"}

# The one-way order of the layers: a module may import from its own layer or a lower one.
LAYERS = [
    {"backend", "_dtypes", "_malloc"},
    {"rules"},
    {"kernels", "autograd"},
    {"functional", "gradcheck"},
    {"nn", "optim", "distributed"},
    {"sample", "metrics", "data"},
    {"models", "pretrained", "checkpoint"},
    {"train", "rl", "gan"},
    {"grading"},
    {"cli", "__init__", "__main__"},
]


def module_name(path: str) -> str:
    rel = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
    return rel.removesuffix(".__init__")


def all_modules() -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                found[module_name(path)] = path
    return found


MODULES = all_modules()


def resolve(module: str, path: str, node: ast.ImportFrom) -> str:
    """The absolute name of ``from <node.module> import ...`` inside ``module``."""
    if node.level == 0:
        return node.module or ""
    package = module if path.endswith("__init__.py") else module.rsplit(".", 1)[0]
    for _ in range(node.level - 1):
        package = package.rsplit(".", 1)[0]
    return f"{package}.{node.module}" if node.module else package


def imports(module: str, path: str):
    """(target module, line, top_level) for each import of a minigen module; and every import node with its depth."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = resolve(module, path, node)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        found += [(t, node) for t in targets if t.split(".")[0] == "minigen" and t in MODULES]
    return tree, found


def graph() -> dict[str, set[str]]:
    edges = {}
    for module, path in MODULES.items():
        _, found = imports(module, path)
        edges[module] = {t for t, _ in found if t != module}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in edges}
    stack: list[str] = []

    def visit(m):
        colour[m] = GREY
        stack.append(m)
        for t in sorted(edges.get(m, ())):
            if colour.get(t) == GREY:
                return stack[stack.index(t):] + [t]
            if colour.get(t) == WHITE:
                cycle = visit(t)
                if cycle:
                    return cycle
        stack.pop()
        colour[m] = BLACK
        return None

    for m in sorted(edges):
        if colour[m] == WHITE:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def late_imports(module: str, path: str) -> list[str]:
    """Imports inside a function, or at module level after the first function or class, except optional packages."""
    tree, _ = imports(module, path)
    problems = []
    first_def = min((n.lineno for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))), default=None)

    def optional(node):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            names = [node.module or ""] if node.level == 0 else ["minigen"]
        return all(n.split(".")[0] in OPTIONAL for n in names)

    for node in ast.walk(tree):
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or optional(node):
            continue
        top = node in tree.body or any(node in getattr(n, "body", []) + getattr(n, "orelse", []) +
                                       sum((h.body for h in getattr(n, "handlers", [])), [])
                                       for n in tree.body if isinstance(n, (ast.Try, ast.If)))
        if not top or (first_def is not None and node.lineno > first_def):
            problems.append(f"{os.path.relpath(path, ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return problems


def test_no_late_imports():
    problems = [p for module, path in sorted(MODULES.items()) for p in late_imports(module, path)]
    assert not problems, "imports inside a function or below the first definition:\n" + "\n".join(problems)


def layer_of(module: str) -> int:
    top = module.split(".")[1] if "." in module else "__init__"
    for i, layer in enumerate(LAYERS):
        if top in layer:
            return i
    raise AssertionError(f"{module} is in no layer of tests/test_imports.py's LAYERS")


def test_layers_point_one_way():
    edges = graph()
    upward = [f"{m} -> {t}" for m, targets in sorted(edges.items()) for t in sorted(targets)
              if layer_of(t) > layer_of(m)]
    assert not upward, "imports from a higher layer:\n" + "\n".join(upward)


@pytest.mark.parametrize("module", ["minigen.kernels", "minigen.autograd", "minigen.functional", "minigen.nn"])
def test_array_math_layers_import_no_array_library(module):
    prefix = os.path.join(PACKAGE, *module.split(".")[1:])
    bad = []
    for name, path in MODULES.items():
        if path.startswith(prefix):
            with open(path) as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
                bad += [f"{name}: {n}" for n in names if n.split(".")[0] in ("numpy", "cupy", "array_api_strict")]
    assert not bad, "array-math modules import an array library: " + ", ".join(bad)
