"""The forms a hand-in comes in, made into a folder of .py files for the worker: on the grader's
side, reading and writing files only (nothing of the hand-in is run, imported or evaluated).

* a folder: copied (by :func:`compare.check.sandbox.copy_submission`; links are not followed);
* a single ``.py`` file: copied;
* a Jupyter notebook (``.ipynb``): its code cells, in order, written to a ``.py`` file of the
  same stem (``# %% code cell N`` before each); IPython's own lines, which are not Python, are
  commented out and named in a note: shell escapes (``!pip install ...``, ``x = !ls``), line
  magics (``%matplotlib inline``), help (``np.sum?``) and cell magics (``%%time`` keeps its
  cell; ``%%bash``, ``%%writefile`` ... comment out the whole cell). Read with ``nbformat``
  where it is installed, else as JSON (formats 3 and 4);
* a ``.zip`` of any of these: extracted into the scratch copy with no absolute path, no ``..``,
  no link and no special file (each one skipped is named), at most :data:`MAX_MEMBERS`
  members and :data:`MAX_UNPACKED` bytes declared and written (a zip whose headers promise
  more, or whose members unpack to more than they declare, is refused: a zip bomb), a member
  that unpacks to more than :data:`BOMB_RATIO` times its compressed size (past 16 MiB)
  skipped; ``__MACOSX/`` and ``.DS_Store`` are left out.

Then, in any form: a copy that holds no ``.py`` or ``.ipynb`` at its top but a single folder
(``handin.zip`` holding ``handin/``) is unwrapped; every notebook at its top becomes a ``.py``
of its stem, unless that ``.py`` exists. A copy left with no ``.py`` file raises
:class:`Unusable`, whose message says why; every check of the hand-in is then an ``error``
saying it.
"""

from __future__ import annotations

import json
import re
import shutil
import stat
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

MAX_UNPACKED = 512 << 20  # bytes a zip may unpack to (the cap of a copied folder)
MAX_MEMBERS = 10_000
BOMB_RATIO = 100
BOMB_MIN = 16 << 20  # a member this large or larger may not unpack BOMB_RATIO times its size
JUNK = ("__MACOSX", ".DS_Store", ".ipynb_checkpoints", "__pycache__")
# cell magics whose cell is Python (the magic line alone is left out)
PYTHON_CELL_MAGICS = ("time", "timeit", "capture", "prun", "debug")


class Unusable(OSError):  # noqa: N818 (an OSError, as the failure to copy a hand-in is)
    """The hand-in holds nothing to grade, or cannot be unpacked; the message says why."""


def prepare(src: Path, dst: Path, copy_folder: Callable[[Path, Path], list[str]],
            limit: int = MAX_UNPACKED) -> list[str]:
    """Make ``dst`` (created here) the folder of ``.py`` files of the hand-in ``src`` (see the
    module doc); ``copy_folder(src, dst)`` copies a folder. Returns the notes (what was left out
    or converted); raises :class:`Unusable`."""
    dst.mkdir(parents=True)
    notes: list[str] = []
    suffix = src.suffix.lower()
    if src.is_dir():
        notes += copy_folder(src, dst)
    elif not src.is_file():
        raise Unusable(f"{src.name} is not a file or a folder")
    elif suffix == ".py":
        shutil.copyfile(src, dst / f"{src.stem}.py")
    elif suffix == ".ipynb":
        if src.stat().st_size > limit:
            raise Unusable(f"{src.name} is over {limit >> 20} MB")
        notes += convert_notebook(src, dst / f"{src.stem}.py")
    elif suffix == ".zip":
        notes += extract_zip(src, dst, limit)
    else:
        raise Unusable(f"{src.name} is not a .py file, a notebook (.ipynb), a .zip or a folder")
    notes += unwrap(dst, src.name)
    for notebook in sorted(dst.glob("*.ipynb")):
        target = notebook.with_suffix(".py")
        if target.exists():
            notes.append(f"{notebook.name}: not converted, {target.name} is there")
        elif notebook.is_file() and not notebook.is_symlink():
            try:
                notes += convert_notebook(notebook, target)
            except Unusable as e:
                notes.append(str(e))
    if not any(p.is_file() for p in dst.glob("*.py")):
        raise Unusable(why_nothing(dst, src))
    return notes


def why_nothing(dst: Path, src: Path) -> str:
    """Why the copy ``dst`` of ``src`` holds nothing to check."""
    kind = "zip" if src.suffix.lower() == ".zip" else "folder"
    entries = sorted(p for p in dst.rglob("*") if not any(j in p.parts for j in JUNK))
    if not entries:
        return f"{src.name} is an empty {kind}"
    deeper = [p.relative_to(dst) for p in entries if p.suffix in (".py", ".ipynb")]
    if deeper:
        return (f"{src.name} holds no .py or .ipynb file at its top, only in folders "
                f"({', '.join(map(str, deeper[:5]))}); check the folder that holds them")
    names = [str(p.relative_to(dst)) for p in entries if p.is_file()][:8]
    return f"{src.name} holds no .py or .ipynb file ({', '.join(names) or 'only folders'})"


def unwrap(dst: Path, name: str) -> list[str]:
    """Move the contents of a single top folder up, while there is no .py or .ipynb at the top
    (a zip of a folder, a folder inside a folder)."""
    notes = []
    for _ in range(4):
        top = [p for p in dst.iterdir() if p.name not in JUNK and not p.name.startswith(".")]
        if any(p.suffix in (".py", ".ipynb") for p in top) or len(top) != 1 \
                or not top[0].is_dir() or top[0].is_symlink():
            break
        inner = top[0]
        held = dst / f".unwrap-{inner.name}"
        inner.rename(held)
        for p in list(held.iterdir()):
            if not (dst / p.name).exists():
                p.rename(dst / p.name)
        shutil.rmtree(held, ignore_errors=True)
        notes.append(f"{name}: its files are in the folder {inner.name}/, checked there")
    return notes


# ------------------------------------------------------------------------------- zip


def extract_zip(src: Path, dst: Path, limit: int = MAX_UNPACKED) -> list[str]:
    """Extract ``src`` into ``dst`` safely (see the module doc); returns the notes."""
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as e:
        raise Unusable(f"{src.name} is not a readable zip file ({e})") from None
    notes: list[str] = []
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise Unusable(f"{src.name} holds {len(infos)} members, over the cap of "
                           f"{MAX_MEMBERS}")
        declared = sum(i.file_size for i in infos)
        if declared > limit:
            raise Unusable(f"{src.name} unpacks to {declared >> 20} MB, over the cap of "
                           f"{limit >> 20} MB (a zip bomb?)")
        written = 0
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            if not parts or any(p in JUNK or p.startswith("._") for p in parts):
                continue
            mode = info.external_attr >> 16
            why = _unsafe(name, parts, mode)
            if why:
                notes.append(f"{src.name}: {name[:100]}: {why}, not extracted")
                continue
            target = dst.joinpath(*parts)
            if info.is_dir():
                _mkdir(target, dst)
                continue
            if info.file_size >= BOMB_MIN and info.file_size > BOMB_RATIO * info.compress_size:
                notes.append(f"{src.name}: {name[:100]}: unpacks to {info.file_size >> 20} MB "
                             f"from {info.compress_size >> 10} KB (a zip bomb?), not extracted")
                continue
            if info.flag_bits & 0x1:
                raise Unusable(f"{src.name} is encrypted ({name[:100]})")
            try:
                _mkdir(target.parent, dst)
                if target.exists():
                    notes.append(f"{src.name}: {name[:100]}: twice, the first one kept")
                    continue
                written += _copy_member(archive, info, target, limit - written)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError,
                    ValueError) as e:
                raise Unusable(f"{src.name}: {name[:100]} cannot be unpacked ({e})") from None
    return notes


def _unsafe(name: str, parts: list[str], mode: int) -> str:
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in parts:
        return "a path out of its folder (..)"
    if stat.S_ISLNK(mode):
        return "a link"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):  # 0: no Unix type recorded
        return "a special file"
    return ""


def _mkdir(folder: Path, dst: Path) -> None:
    """``folder`` and its parents inside ``dst``; raises Unusable where a file is in the way."""
    if not folder.resolve().is_relative_to(dst.resolve()):
        raise Unusable(f"{folder} lies outside the copy")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as e:
        raise Unusable(f"a folder and a file of the same name ({e})") from None


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                 room: int) -> int:
    """Write one member, counting the bytes it really unpacks to; raises Unusable past its
    declared size or ``room``."""
    size = 0
    with archive.open(info) as source, target.open("xb") as out:
        while chunk := source.read(1 << 20):
            size += len(chunk)
            if size > info.file_size or size > room:
                raise Unusable(f"{info.filename[:100]} unpacks to more than it declares or "
                               f"than the cap (a zip bomb?)")
            out.write(chunk)
    return size


# ------------------------------------------------------------------------------- notebooks


def read_cells(path: Path) -> list[str]:
    """The sources of ``path``'s code cells, in order (nbformat where installed, else JSON)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        import nbformat
    except ImportError:
        nbformat = None
    if nbformat is not None:
        try:
            with warnings.catch_warnings():  # a missing cell id and the like: not the grader's
                warnings.simplefilter("ignore")
                notebook = nbformat.reads(text, as_version=4)
        except Exception as e:  # noqa: BLE001 (whatever nbformat raises on a bad file)
            raise Unusable(f"{path.name} is not a notebook nbformat can read ({str(e)[:200]})"
                           ) from None
        return [str(c.get("source", "")) for c in notebook.get("cells", [])
                if c.get("cell_type") == "code"]
    try:
        data = json.loads(text)
    except ValueError as e:
        raise Unusable(f"{path.name} is not a notebook (not JSON: {e})") from None
    if not isinstance(data, dict):
        raise Unusable(f"{path.name} is not a notebook (no cells)")
    cells = data.get("cells")
    if cells is None:  # format 3: worksheets of cells, the source under "input"
        cells = [c for w in data.get("worksheets", []) if isinstance(w, dict)
                 for c in w.get("cells", [])]
    if not isinstance(cells, list):
        raise Unusable(f"{path.name} is not a notebook (no cells)")
    sources = []
    for cell in cells:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", cell.get("input", ""))
            sources.append("".join(map(str, source)) if isinstance(source, list)
                           else str(source))
    return sources


def convert_notebook(path: Path, target: Path) -> list[str]:
    """Write ``path``'s code cells to ``target`` (see the module doc); the note that says so
    and names the IPython lines left out."""
    cells = read_cells(path)
    out = [f"# The code cells of {path.name}, in order, as compare.check read them (IPython's "
           "own lines commented out)."]
    dropped: list[str] = []
    for number, source in enumerate(cells, start=1):
        out.append(f"# %% code cell {number}")
        lines, left_out = ipython_lines(source.splitlines())
        out += lines
        dropped += [f"code cell {number} {what}" for what in left_out]
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    note = f"{path.name}: converted to {target.name} ({len(cells)} code cells)"
    if dropped:
        note += f"; IPython lines left out: {'; '.join(dropped)}"
    return [note]


_HELP = re.compile(r"^\s*(\?{1,2}[\w.]+|[\w.]+\?{1,2})\s*$")
_ASSIGNED = re.compile(r"^\s*[A-Za-z_][\w.,\s]*=\s*[!%]")


def ipython_lines(lines: list[str]) -> tuple[list[str], list[str]]:
    """A cell's lines with IPython's own commented out, and those lines in words."""
    left_out: list[str] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()
        name = magic[2:].split()[0] if magic[2:].split() else ""
        if name not in PYTHON_CELL_MAGICS:
            left_out.append(f"`{magic[:60]}` (the whole cell)")
            return [f"# (IPython) {line}" for line in lines], left_out
        left_out.append(f"line {first + 1} `{magic[:60]}`")
        lines = [*lines[:first], f"# (IPython) {lines[first]}", *lines[first + 1:]]
    out = []
    starts = logical_starts(lines)
    continued = False
    for number, (line, start) in enumerate(zip(lines, starts, strict=True), start=1):
        stripped = line.strip()
        magic = start and (stripped.startswith(("!", "%")) or _HELP.match(line)
                           or _ASSIGNED.match(line))
        if magic or continued:
            if magic:
                left_out.append(f"line {number} `{stripped[:60]}`")
            indent = line[:len(line) - len(line.lstrip())]
            out.append(f"{indent}pass  # (IPython) {stripped}" if indent and not continued
                       else f"# (IPython) {line}")
            continued = line.rstrip().endswith("\\")
        else:
            out.append(line)
    return out, left_out


def logical_starts(lines: list[str]) -> list[bool]:
    """For each line, whether a logical line of Python starts there (not inside brackets, a
    string or after a backslash): only there can an IPython line start."""
    starts = []
    depth, quote, backslash = 0, "", False
    for line in lines:
        starts.append(depth == 0 and not quote and not backslash)
        comment = False
        i = 0
        while i < len(line):
            c = line[i]
            if quote:
                if c == "\\":
                    i += 2
                    continue
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
                i += 1
                continue
            if c == "#":
                comment = True
                break
            if c in "\"'":
                quote = line[i:i + 3] if line[i:i + 3] in ('"""', "'''") else c
                i += len(quote)
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth = max(depth - 1, 0)
            i += 1
        if quote in ('"', "'"):
            quote = ""  # a one-quote string ends with its line (or the line is not Python)
        backslash = line.rstrip().endswith("\\") and not quote and not comment
    return starts
