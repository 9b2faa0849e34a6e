"""The hand-ins of tests/submissions are self-contained: a hand-in's process cannot import the
project's own packages, so none of their files may import them (plain NumPy, the standard
library and the hand-in's own sibling files only)."""

from __future__ import annotations

import ast
from pathlib import Path

SUBMISSIONS = Path(__file__).parent / "submissions"
PROJECT_PACKAGES = {"numpy_impl", "lightning_ref", "compare", "bench"}
# a hand-in with a Python 2 line on purpose (compare.check drops that line, and so does this test)
UNPARSABLE = {"tdt4265/broken/syntax_error/task2a.py"}


def _parse(path: Path, lenient: bool) -> ast.Module:
    """The file's syntax tree; ``lenient``: the lines holding syntax errors blanked out first."""
    lines = path.read_text(encoding="utf-8").splitlines()
    while True:
        try:
            return ast.parse("\n".join(lines), str(path))
        except SyntaxError as e:
            if not lenient or not e.lineno or not lines[e.lineno - 1].strip():
                raise
            lines[e.lineno - 1] = ""


def _imported_packages(tree: ast.AST) -> set[str]:
    """The top-level package of every absolute import anywhere in ``tree``."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_every_submission_file_parses_and_imports_no_project_package() -> None:
    files = {path.relative_to(SUBMISSIONS).as_posix(): path
             for path in sorted(SUBMISSIONS.rglob("*.py"))}
    assert len(files) > 40, f"the hand-ins under {SUBMISSIONS} are missing"
    assert UNPARSABLE <= set(files)
    offenders, unparsable = [], []
    for name, path in files.items():
        try:
            tree = _parse(path, lenient=False)
        except SyntaxError as e:
            if name not in UNPARSABLE:
                unparsable.append(f"{name}: {e}")
                continue
            tree = _parse(path, lenient=True)
        else:
            assert name not in UNPARSABLE, f"{name} parses; it should hold a Python 2 line"
        bad = _imported_packages(tree) & PROJECT_PACKAGES
        if bad:
            offenders.append(f"{name}: {', '.join(sorted(bad))}")
    assert not unparsable, "files that do not parse:\n" + "\n".join(unparsable)
    assert not offenders, "files importing the project's packages:\n" + "\n".join(offenders)
