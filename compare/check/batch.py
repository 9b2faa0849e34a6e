"""A batch of hand-ins that survives any one of them and the grader's own interruption.

Each submission's result is written to ``<out>.d/<name>.json`` the moment it is decided, whole
or not at all (a temporary file renamed over it), with a key: the checker's version (a hash of
its code and of the reference's), the options and the submission's own bytes. A rerun reuses a
result whose key matches and checks the rest, so a grader killed halfway loses no finished
grade; the summary tables are rebuilt from those files. Only the grader writes there: no hand-in
can reach the folder (see :mod:`.sandbox`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

from compare.check.result import CheckResult, SubmissionResult
from numpy_impl.run.runfiles import write_text

_CODE = ("compare/check", "numpy_impl", "lightning_ref")


@functools.cache
def checker_version() -> str:
    """A hash of the checker's and the reference's source files."""
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for folder in _CODE:
        for path in sorted((root / folder).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def content_hash(path: Path) -> str:
    """A hash of a submission's files (names and bytes; links by their target's name)."""
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*"))
    for p in files:
        digest.update(str(p.relative_to(path.parent if path.is_file() else path)).encode())
        if p.is_symlink():
            digest.update(b"->" + os.readlink(p).encode())
        elif p.is_file():
            digest.update(p.read_bytes())
    return digest.hexdigest()


def key(path: Path, options: dict) -> dict:
    return {"checker": checker_version(), "options": options, "submission": content_hash(path)}


class Store:
    """``<out>.d/``: one JSON file per submission."""

    def __init__(self, stem: Path) -> None:
        self.folder = stem.parent / f"{stem.name}.d"

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.json"

    def load(self, name: str, want: dict) -> SubmissionResult | None:
        """The stored result of ``name`` if its key is ``want``; None otherwise (or when the
        file is not one the checker wrote)."""
        try:
            payload = json.loads(self.path(name).read_text())
            if payload.get("key") != json.loads(json.dumps(want)):
                return None
            return from_dict(payload["result"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def save(self, name: str, want: dict, result: SubmissionResult) -> None:
        """Write ``name``'s result atomically."""
        write_text(self.path(name), json.dumps({"key": want, "result": result.to_dict()},
                                               indent=2))


def from_dict(d: dict) -> SubmissionResult:
    """The inverse of :meth:`SubmissionResult.to_dict` (raises on anything else)."""
    checks = [CheckResult(str(c["id"]), c["status"], str(c["message"])) for c in d["checks"]]
    return SubmissionResult(str(d["assignment"]), str(d["submission"]), checks,
                            [str(n) for n in d["notes"]], str(d.get("sandbox", "")))
