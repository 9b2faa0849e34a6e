"""Where runs are saved, and saving them so that nothing is lost.

Every CLI saves under one layout, ``runs/<side>/<experiment>/version_N/`` (``<side>`` is
``numpy``, ``lightning`` or ``compare``), numbered as Lightning's loggers number theirs, so a
rerun never overwrites an earlier run. Every file is written atomically (a temporary file in
the same folder, then a rename), so a crash or an interruption never leaves half a file, and
JSON is always valid JSON: a non-finite number (a diverged loss) is written as null.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

RUNS_DIR = Path("runs")
#: Finished runs of ``python -m compare.report``, kept under a hash of their definition.
_VERSION = re.compile(r"version_(\d+)")


def new_version_dir(parent: str | Path) -> Path:
    """A new, empty ``parent/version_N`` with N one more than the largest there (0 if none)."""
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    taken = [int(m.group(1)) for p in parent.iterdir() if (m := _VERSION.fullmatch(p.name))]
    version = max(taken, default=-1) + 1
    while True:  # another process may take the same number: mkdir decides
        path = parent / f"version_{version}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            version += 1


def latest_version(parent: str | Path, holding: str,
                   keep: Callable[[Path], bool] = lambda run: True) -> Path | None:
    """The newest ``parent/version_N`` that holds the file ``holding`` (a path inside it) and
    that ``keep`` accepts; None if there is none (``--resume`` on every CLI)."""
    runs = {int(m.group(1)): p for p in Path(parent).glob("version_*")
            if (m := _VERSION.fullmatch(p.name)) and (p / holding).is_file() and keep(p)}
    return runs[max(runs)] if runs else None


def tensorboard_command(log_dir: str | Path) -> str:
    """A command that starts TensorBoard on ``log_dir`` with this very Python (so it works
    outside an activated virtual environment too)."""
    return f"{shlex.quote(sys.executable)} -m tensorboard.main --logdir {shlex.quote(str(log_dir))}"


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically: readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode())


def write_json(path: str | Path, obj: Any) -> Path:
    """``obj`` as JSON (NumPy scalars and arrays as numbers and lists; nan and infinities as
    null, which strict JSON readers accept), atomically."""
    return write_text(path, json.dumps(plain(obj), indent=1, allow_nan=False) + "\n")


def write_npz(path: str | Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """``np.savez`` of ``arrays``, atomically."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return write_bytes(path, buffer.getvalue())


def plain(obj: Any, non_finite: Callable[[float], Any] = lambda value: None) -> Any:
    """``obj`` in JSON's types: mappings as dicts with text keys, sequences and arrays as
    lists, NumPy scalars as numbers, a nan or infinity as ``non_finite`` of it."""
    if isinstance(obj, Mapping):
        return {str(k): plain(v, non_finite) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [plain(v, non_finite) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return non_finite(obj)
    return obj
