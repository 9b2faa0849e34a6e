"""Load a hand-in's files as they are, without running its experiments.

Definitions-only loading (the default): the source is parsed and only imports, function and
class definitions and constant assignments are kept; everything else (loading data from the
student's own paths, training, plotting) is skipped and named. A file that does not parse as a
whole under the running Python is loaded statement by statement: each top-level statement that
does not compile is dropped and named. ``exec_all=True`` runs the module whole (``--exec``).

Each kept statement runs on its own, in order, so that one bad line costs only itself: a
statement that raises (``X_small = X_train[:100]`` where ``X_train`` was set by a skipped line,
an ``import`` of a package that is not installed) is dropped and named. A ``def`` or ``class``
that raises only because of a part evaluated when it is defined is still defined without that
part: a decorator or an annotation is left out, a statement of a class body is dropped, and a
default argument is replaced by a marker: a call that leaves the argument out raises
TypeError ("... its default ... could not be evaluated ..."), a call that passes it runs as
written. The part is found from the position the traceback gives (the innermost frame of the
file whose position lies inside a decorator, default, annotation or class-body statement of
the failing statement). Only an Exception is met this way; SystemExit and the refusal of the
project's own packages (:func:`refuse`) make the file fail to load, as under ``--exec``.

File names: a file is known to the grader by its stem (``assignment1.final`` for
``assignment1.final.py``) and loaded under a valid module name made from it
(``assignment1_final``; an identifier stem keeps its name and wins a clash).

Sibling imports (``from task2a import BinaryModel``, ``import utils``) load the sibling the
checker's way, through a finder placed first on ``sys.meta_path``. The rule is the one of
``python file.py`` for the hand-in's own code and of a clean install for everything else:

* an import made by the hand-in's own code (a module whose ``__file__`` lies in its folder)
  finds the hand-in's file of that name first, as the script's folder on ``sys.path`` would;
* an import made by any other code (the standard library, NumPy, matplotlib) finds the
  hand-in's file only where no other module of that name exists (a pickle naming a hand-in's
  class), because the folder is searched last.

A hand-in's file named like a module that exists otherwise (``random.py``, ``statistics.py``,
``utils.py`` where a package ``utils`` is installed) is therefore registered under a private
name (``_handin_random``) and handed to the hand-in's own imports only (a hook on
``__import__``); NumPy's ``import random`` still gets the standard library's.

This runs in the child process of one submission (see :mod:`compare.check.sandbox`), so a
module name never leaks into another submission. matplotlib is put on the Agg backend and
``plt.show``/``plt.pause`` do nothing.
"""

from __future__ import annotations

import ast
import builtins
import copy
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import keyword
import os
import re
import sys
import traceback
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
    raised: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = []
        if self.skipped:
            out.append(f"{self.path.name}: skipped (not definitions) {'; '.join(self.skipped)}")
        if self.dropped:
            out.append(f"{self.path.name}: dropped (does not compile) {'; '.join(self.dropped)}")
        if self.raised:
            out.append(f"{self.path.name}: raised when run, left out {'; '.join(self.raised)}")
        return out


def refuse(message: str) -> ImportError:
    """The ImportError of an import the sandbox refuses (the checker's own packages): a file
    that makes it fails to load as a whole, whatever statement made it."""
    error = ImportError(message)
    error.refused_by_checker = True  # type: ignore[attr-defined]
    return error


def _refused(error: BaseException) -> bool:
    return getattr(error, "refused_by_checker", False) is True


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


def exec_file(path: Path, module_name: str, exec_all: bool = False,
              module: types.ModuleType | None = None) -> LoadedModule:
    """Load ``path`` as the module ``module_name`` (into ``module`` when given, else a fresh
    module registered in ``sys.modules``); see the module doc."""
    source = path.read_text(encoding="utf-8", errors="replace")
    tree, dropped = parse_leniently(source, str(path))
    if module is None:
        module = types.ModuleType(module_name)
        sys.modules[module_name] = module
    module.__file__ = str(path)
    loaded = LoadedModule(path, module, dropped=dropped)
    if exec_all:
        exec(compile(tree, str(path), "exec"), module.__dict__)
        return loaded
    lines = source.splitlines()
    modules = _imported_names(tree)
    futures = [n for n in tree.body if isinstance(n, ast.ImportFrom)
               and n.module == "__future__" and _compiles(n, str(path))]
    for node in tree.body:
        if _is_definition(node, modules):
            _run_statement(node, module, str(path), lines, futures, loaded)
        elif not _is_main_guard(node):
            loaded.skipped.append(_first_line(lines, node))
    return loaded


def _compiles(node: ast.stmt, filename: str) -> bool:
    try:
        compile(ast.Module([node], []), filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


UNEVALUATED = "__checker_unevaluated__"  # the module global holding the markers of defaults


class Unevaluated:
    """The marker put in place of a default argument that could not be evaluated; the guard
    put first in the function's body raises when the argument was left out."""

    def __init__(self, function: str, parameter: str, expression: str, error: str) -> None:
        self.message = (f"{function}() was called without {parameter}, and its default "
                        f"`{expression}` could not be evaluated when the file was loaded: "
                        f"{error}")
        self.error = error

    def check(self, value: object) -> None:
        if value is self:
            raise TypeError(self.message)

    def __repr__(self) -> str:
        return f"<default not evaluated: {self.error}>"


def _describe_error(error: BaseException) -> str:
    try:
        lines = str(error).splitlines()
    except Exception:  # noqa: BLE001 (a hand-in's exception whose __str__ raises)
        lines = []
    name = type(error).__name__
    return f"{name}: {lines[0][:100]}" if lines else name


def _run_statement(node: ast.stmt, module: types.ModuleType, filename: str, lines: list[str],
                   futures: list[ast.stmt], loaded: LoadedModule) -> None:
    """Run one top-level statement (after the file's ``from __future__`` imports, which must
    hold for it too); when it raises, leave out the part of it that raised and run it again,
    or drop it (see the module doc). What was left out goes to ``loaded.raised``."""
    what = _first_line(lines, node)
    left_out: list[str] = []
    for _ in range(64):
        try:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            head = [] if docstring else [f for f in futures if f is not node]
            code = compile(ast.Module([*head, node], []), filename, "exec", dont_inherit=True)
            exec(code, module.__dict__)
        except Exception as error:  # noqa: BLE001 (the hand-in's: reported in the notes)
            if _refused(error):
                raise
            fixed = _leave_out(node, error, filename, module)
            if fixed is None:
                loaded.raised.append(f"{what} ({_describe_error(error)})")
                return
            node, part = fixed
            left_out.append(f"{part} ({_describe_error(error)})")
            continue
        break
    else:
        loaded.raised.append(f"{what} (raised again after 64 parts left out)")
        return
    if left_out:
        loaded.raised.append(f"{what} defined without {', '.join(left_out)}")


def _positions(error: BaseException, filename: str) -> list[tuple]:
    """(lineno, end_lineno, colno, end_colno) of each frame of ``error``'s traceback in
    ``filename``, outermost first."""
    return [(f.lineno, f.end_lineno or f.lineno, f.colno, f.end_colno)
            for f in traceback.extract_tb(error.__traceback__) if f.filename == filename]


def _contains(part: ast.AST, position: tuple) -> bool:
    line, end_line, col, end_col = position
    if line is None:
        return False
    if col is None or end_col is None:  # no column positions (-X no_debug_ranges)
        return part.lineno <= line and end_line <= part.end_lineno
    return ((part.lineno, part.col_offset) <= (line, col)
            and (end_line, end_col) <= (part.end_lineno, part.end_col_offset))


def _leave_out(node: ast.stmt, error: Exception, filename: str, module: types.ModuleType
               ) -> tuple[ast.stmt, str] | None:
    """A copy of ``node`` without the part whose evaluation raised ``error``, and that part in
    words; None when the error lies in no part that can be left out."""
    node = copy.deepcopy(node)
    parts = list(_parts(node))
    chosen = None
    for position in _positions(error, filename):
        inside = [p for p in parts if _contains(p[0], position)]
        if inside:
            chosen = inside[0]
    if chosen is None:
        return None
    _, apply, words = chosen
    apply(module, _describe_error(error))
    ast.fix_missing_locations(node)
    return node, words


def _parts(node: ast.stmt, owner: str = ""):  # noqa: ANN202 (a generator of tuples)
    """(part, leave it out, words) for each part of a def or class evaluated when it is defined:
    decorators, defaults, annotations, and the statements of a class body."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        name = f"{owner}{node.name}"
        for decorator in node.decorator_list:
            yield (decorator, _remover(node.decorator_list, decorator),
                   f"the decorator @{ast.unparse(decorator)[:40]} of {name}")
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults,
                         strict=True))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
                  if d is not None]
        for arg, default in pairs:
            yield (default, _marker(node, name, arg.arg, default),
                   f"the default of {arg.arg} in {name}")
        every = [*positional, *args.kwonlyargs, args.vararg, args.kwarg]
        for arg in every:
            if arg is not None and arg.annotation is not None:
                yield (arg.annotation, _unannotate(arg, "annotation"),
                       f"the annotation of {arg.arg} in {name}")
        if node.returns is not None:
            yield node.returns, _unannotate(node, "returns"), f"the return annotation of {name}"
    elif isinstance(node, ast.ClassDef):
        for statement in node.body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                yield from _parts(statement, f"{name}.")
            else:
                text = ast.unparse(statement).splitlines()[0][:60]
                yield (statement, _remover(node.body, statement, ast.Pass()),
                       f"line {statement.lineno} `{text}` of class {name}")


def _remover(container: list, item: ast.AST, last: ast.stmt | None = None):  # noqa: ANN202
    def apply(module: types.ModuleType, error: str) -> None:
        container.remove(item)
        if last is not None and not container:
            container.append(ast.copy_location(last, item))
    return apply


def _unannotate(owner: ast.AST, attribute: str):  # noqa: ANN202
    def apply(module: types.ModuleType, error: str) -> None:
        setattr(owner, attribute, None)
    return apply


def _marker(function: ast.FunctionDef | ast.AsyncFunctionDef, name: str, parameter: str,
            default: ast.expr):  # noqa: ANN202
    """Replace ``default`` by an :class:`Unevaluated` marker and, where the body reads the
    parameter, put a guard first in the body: a call that leaves the argument out raises."""
    def apply(module: types.ModuleType, error: str) -> None:
        markers = module.__dict__.setdefault(UNEVALUATED, [])
        markers.append(Unevaluated(name, parameter, ast.unparse(default)[:60], error))
        index = len(markers) - 1

        def marker() -> ast.expr:
            return ast.Subscript(ast.Name(UNEVALUATED, ast.Load()), ast.Constant(index),
                                 ast.Load())

        for field_name in ("defaults", "kw_defaults"):
            values = getattr(function.args, field_name)
            for i, value in enumerate(values):
                if value is default:
                    values[i] = ast.copy_location(marker(), default)
        body = function.body
        if not any(isinstance(n, ast.Name) and n.id == parameter
                   for statement in body for n in ast.walk(statement)):
            return  # the body never reads it: leaving it out is harmless
        guard = ast.Expr(ast.Call(ast.Attribute(marker(), "check", ast.Load()),
                                  [ast.Name(parameter, ast.Load())], []))
        first = body[0]
        docstring = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
            and isinstance(first.value.value, str)
        body.insert(1 if docstring else 0, ast.copy_location(guard, default))
    return apply


def module_names(stems: list[str]) -> dict[str, str]:
    """A valid module name for each file stem: the stem itself where it is an identifier, else
    its other characters replaced by ``_`` (``assignment1.final`` -> ``assignment1_final``,
    ``2-layer`` -> ``_2_layer``), made unique; identifier stems are served first."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for stem in sorted(stems, key=lambda s: (not s.isidentifier(), s)):
        name = stem if stem.isidentifier() and not keyword.iskeyword(stem) else \
            re.sub(r"\W", "_", stem)
        if not name or not name.isidentifier() or keyword.iskeyword(name):
            name = f"_{name}"
        while name in taken:
            name += "_"
        names[stem] = name
        taken.add(name)
    return names


def exists_elsewhere(name: str) -> bool:
    """Whether an import of ``name`` finds a module other than the hand-in's (one loaded
    already, a built-in, the standard library's or an installed package's)."""
    if name in sys.modules or name in sys.builtin_module_names or name in sys.stdlib_module_names:
        return True
    try:
        return importlib.machinery.PathFinder.find_spec(name) is not None
    except (ImportError, ValueError, OSError):
        return False


class SiblingFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a sibling file of the submission load it the checker's way (see the module
    doc for which imports find it); every load is remembered in ``loaded``, by file stem."""

    def __init__(self, folder: Path, exec_all: bool) -> None:
        self.folder = folder
        self.files = {p.stem: p for p in sorted(folder.glob("*.py"))}  # by stem: the grader's
        self.exec_all = exec_all
        self.loaded: dict[str, LoadedModule] = {}
        self.names: dict[str, str] = {}  # stem -> the module name it is loaded under
        self.shadowing: dict[str, str] = {}  # a name that exists elsewhere -> its stem here
        for stem, name in module_names(list(self.files)).items():
            if exists_elsewhere(name):
                self.shadowing[name] = stem
                name = f"_handin_{name}"
            self.names[stem] = name
        self.stems = {name: stem for stem, name in self.names.items()}
        self.original_import = builtins.__import__

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001 (importlib's API)
        if fullname in self.stems:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):  # noqa: ANN001
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        stem = self.stems[module.__name__]
        self.loaded[stem] = exec_file(self.files[stem], module.__name__, self.exec_all, module)

    def load(self, stem: str) -> LoadedModule:
        """The file ``stem`` (``stem.py``), loaded once."""
        if stem not in self.loaded:
            importlib.import_module(self.names[stem])
        return self.loaded[stem]

    def from_handin(self, globals: dict | None) -> bool:  # noqa: A002 (__import__'s name)
        file = (globals or {}).get("__file__")
        return isinstance(file, str) and file.startswith(str(self.folder) + os.sep)

    def import_hook(self, name, globals=None, locals=None, fromlist=(), level=0):  # noqa: A002, ANN001, ANN201 (__import__'s signature)
        """``__import__``: the hand-in's own code importing ``random`` gets its ``random.py``."""
        if level == 0 and name in self.shadowing and self.from_handin(globals):
            return importlib.import_module(self.names[self.shadowing[name]])
        return self.original_import(name, globals, locals, fromlist, level)


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
    sys.meta_path.insert(0, finder)
    sys.path.append(str(folder))  # last: no file of the hand-in's hides a library's module
    if finder.shadowing:
        builtins.__import__ = finder.import_hook
    return finder
