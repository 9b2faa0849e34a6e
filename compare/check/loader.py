"""Load a hand-in's files as they are, without running its experiments.

Definitions-only loading (the default): the source is parsed and only imports, function and
class definitions and constant assignments run; everything else (loading data from the
student's own paths, training, plotting) is skipped and named. A file that does not parse as a
whole under the running Python is loaded statement by statement: each top-level statement that
does not compile is dropped and named. ``exec_all=True`` runs the module whole (``--exec``).

Sibling imports (``from task2a import BinaryModel``, ``import utils``) load the sibling the same
way, through a finder placed first on ``sys.meta_path``. This runs in the child process of one
submission (see :mod:`compare.check.sandbox`), so a module name never leaks into another
submission. matplotlib is put on the Agg backend and ``plt.show``/``plt.pause`` do nothing.
"""

from __future__ import annotations

import ast
import importlib.abc
import importlib.util
import os
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

# Calls a constant assignment may make: module functions such as np.random.default_rng(42) or
# np.arange(10); none whose name suggests reading files, plotting or training.
_UNSAFE_CALL_WORDS = ("load", "read", "open", "save", "show", "plot", "fig", "train", "fit",
                      "download", "input", "system", "exit")


@dataclass
class LoadedModule:
    """A loaded file: the module, and what was not run of it."""

    path: Path
    module: types.ModuleType
    skipped: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.skipped:
            out.append(f"{self.path.name}: skipped (not definitions) {'; '.join(self.skipped)}")
        if self.dropped:
            out.append(f"{self.path.name}: dropped (does not compile) {'; '.join(self.dropped)}")
        return out


def _first_line(source_lines: list[str], node: ast.stmt) -> str:
    text = source_lines[node.lineno - 1].strip()
    end = getattr(node, "end_lineno", node.lineno)
    span = f"line {node.lineno}" if end == node.lineno else f"lines {node.lineno}-{end}"
    return f"{span} `{text[:60]}`"


def _imported_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            names |= {a.asname or a.name for a in node.names}
    return names


def _safe_value(node: ast.AST, modules: set[str]) -> bool:
    """A value a constant assignment may compute: literals, names, arithmetic, and calls of an
    imported module's functions whose names do not suggest I/O or training."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            parts = []
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if not isinstance(func, ast.Name) or func.id not in modules or not parts:
                return False
            if any(w in p.lower() for p in parts for w in _UNSAFE_CALL_WORDS):
                return False
        elif isinstance(sub, ast.Lambda | ast.Await | ast.Yield | ast.YieldFrom | ast.NamedExpr):
            return False
    return True


def _is_definition(node: ast.stmt, modules: set[str]) -> bool:
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef
                  | ast.ClassDef | ast.Pass):
        return True
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
        return True  # a docstring
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        simple = all(isinstance(t, ast.Name | ast.Tuple) for t in targets)
        return simple and (node.value is None or _safe_value(node.value, modules))
    if isinstance(node, ast.Try):  # try: import x / except ImportError: ...
        return all(_is_definition(s, modules) for s in node.body)
    return False


def _is_main_guard(node: ast.stmt) -> bool:
    test = getattr(node, "test", None)
    return (isinstance(node, ast.If) and isinstance(test, ast.Compare)
            and isinstance(test.left, ast.Name) and test.left.id == "__name__")


def _top_level_block(lines: list[str], lineno: int) -> tuple[int, int]:
    """The 1-based line range of the top-level statement holding ``lineno``: from the last
    unindented line at or before it to the line before the next unindented one."""
    def top(i: int) -> bool:
        s = lines[i]
        return bool(s.strip()) and not s[0].isspace() and not s.lstrip().startswith("#") \
            and not s.startswith((")", "]", "}"))

    i = min(max(lineno - 1, 0), len(lines) - 1)
    start = next((j for j in range(i, -1, -1) if top(j)), 0)
    end = next((j for j in range(i + 1, len(lines)) if top(j)), len(lines))
    return start + 1, end


def parse_leniently(source: str, filename: str) -> tuple[ast.Module, list[str]]:
    """Parse ``source``; when it does not parse, blank out the top-level statement holding each
    syntax error until it does. Returns the tree and one line per dropped statement."""
    lines = source.splitlines()
    dropped = []
    for _ in range(len(lines) + 1):
        try:
            return ast.parse("\n".join(lines), filename), dropped
        except SyntaxError as e:
            start, end = _top_level_block(lines, e.lineno or 1)
            first = lines[start - 1].strip()[:60]
            span = f"line {start}" if end == start else f"lines {start}-{end}"
            dropped.append(f"{span} `{first}` ({e.msg})")
            lines[start - 1:end] = [""] * (end - start + 1)
    raise SyntaxError(f"{filename} does not parse")


def exec_file(path: Path, module_name: str, exec_all: bool = False) -> LoadedModule:
    """Load ``path`` as a fresh module registered as ``module_name`` (see the module doc)."""
    source = path.read_text(encoding="utf-8", errors="replace")
    tree, dropped = parse_leniently(source, str(path))
    module = types.ModuleType(module_name)
    module.__file__ = str(path)
    loaded = LoadedModule(path, module, dropped=dropped)
    sys.modules[module_name] = module
    if not exec_all:
        lines = source.splitlines()
        modules = _imported_names(tree)
        kept = []
        for node in tree.body:
            if _is_definition(node, modules):
                kept.append(node)
            elif not _is_main_guard(node):
                loaded.skipped.append(_first_line(lines, node))
        tree.body = kept
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return loaded


class SiblingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a sibling file of the submission (by its plain name) load it the checker's
    way; every load is remembered in ``loaded``."""

    def __init__(self, folder: Path, exec_all: bool) -> None:
        self.files = {p.stem: p for p in sorted(folder.glob("*.py"))}
        self.exec_all = exec_all
        self.loaded: dict[str, LoadedModule] = {}

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib's API)
        if fullname in self.files:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):  # noqa: ANN001
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        loaded = exec_file(self.files[module.__name__], module.__name__, self.exec_all)
        module.__dict__.update(loaded.module.__dict__)
        sys.modules[module.__name__] = module
        loaded.module = module
        self.loaded[module.__name__] = loaded

    def load(self, name: str) -> LoadedModule:
        """The sibling ``name``, loaded once."""
        if name not in self.loaded:
            __import__(name)
        return self.loaded[name]


def quiet_matplotlib() -> None:
    """Agg backend; show and pause return at once. Only when matplotlib is installed."""
    os.environ["MPLBACKEND"] = "Agg"
    if importlib.util.find_spec("matplotlib") is None:
        return
    import matplotlib.pyplot as plt

    plt.show = lambda *a, **k: None
    plt.pause = lambda *a, **k: None


def install(folder: Path, exec_all: bool = False) -> SiblingFinder:
    """Make ``folder``'s files importable the checker's way (this process only)."""
    finder = SiblingFinder(folder, exec_all)
    for name in finder.files:  # a same-named module imported earlier must not answer for it
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, finder)
    sys.path.insert(0, str(folder))
    return finder
