"""The floors of the house, read from the source (nothing imported): no import circle between
the project's modules, and every dependency pointing one way (docs/layout.md):
numpy_impl.data <- numpy_impl (the maths and the texts' APIs) <- numpy_impl.run <- lightning_ref
<- compare; numpy_impl never imports torch or Lightning."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("numpy_impl", "lightning_ref", "compare", "bench")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            parts = list(path.relative_to(REPO).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports anywhere in its file (lazy imports included: a
    circle through a function's import is still a circle)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # numpy_impl.run.train.x -> ...train
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle() -> None:
    assert _cycles() == []


def _room(module: str) -> str:
    if module.startswith("numpy_impl.data"):
        return "numpy_impl.data"
    if module.startswith("numpy_impl.run") or module == "numpy_impl.__main__":
        return "numpy_impl.run"
    return module.split(".")[0]


#: Which rooms each room may import (its own always).
ALLOWED = {
    "numpy_impl.data": set(),
    "numpy_impl": {"numpy_impl.data"},
    "numpy_impl.run": {"numpy_impl.data", "numpy_impl"},
    "lightning_ref": {"numpy_impl.data", "numpy_impl", "numpy_impl.run"},
    "compare": {"numpy_impl.data", "numpy_impl", "numpy_impl.run", "lightning_ref"},
    "bench": {"numpy_impl.data", "numpy_impl", "numpy_impl.run", "lightning_ref", "compare"},
}


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_dependencies_point_one_way(room: str) -> None:
    wrong = sorted(f"{name} -> {target}" for name, targets in GRAPH.items()
                   if _room(name) == room for target in targets
                   if _room(target) != room and _room(target) not in ALLOWED[room])
    assert wrong == []


def test_numpy_impl_never_imports_torch_or_lightning() -> None:
    heavy = {"torch", "pytorch_lightning", "lightning", "torchmetrics", "torchvision"}
    found = []
    for name, path in MODULES.items():
        if not name.startswith("numpy_impl"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{name}: {n}" for n in names if n.split(".")[0] in heavy]
    assert found == []
