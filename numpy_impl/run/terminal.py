"""A terminal that fits where it writes: progress bars only on a terminal, help text wrapped
to its width. Pure Python (no torch), so that every CLI can use it before anything heavy loads.
"""

from __future__ import annotations

import re
import shutil
import textwrap
from typing import TextIO

#: The widest help text, even on a wider terminal.
MAX_WIDTH = 80


def draws_bars(stream: TextIO, no_progress: bool = False, force: bool = False) -> bool:
    """Whether a progress bar may be drawn on ``stream``: not with ``--no-progress``, always
    when forced (a test that watches the bar through a pipe), else only on a terminal (a pipe,
    a file or CI would get every frame of the bar)."""
    if no_progress:
        return False
    if force:
        return True
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def help_width() -> int:
    """The width to wrap help at: the terminal's (``COLUMNS``), at most :data:`MAX_WIDTH`."""
    return max(40, min(shutil.get_terminal_size((MAX_WIDTH, 24)).columns - 1, MAX_WIDTH))


_OPTION = re.compile(r"^(\s*\S+(?: [A-Z_.|]+)?\s{2,})\S")


def wrap_lines(text: str, width: int | None = None) -> str:
    """``text`` with every line longer than ``width`` wrapped on word boundaries; a continuation
    is indented under the description of an option line (``  --flag  what it does``), or
    under the line's own indent."""
    width = help_width() if width is None else width
    out = []
    for line in text.splitlines():
        if len(line) <= width:
            out.append(line)
            continue
        indent = len(line) - len(line.lstrip())
        option = _OPTION.match(line)
        hang = len(option.group(1)) if option and len(option.group(1)) <= width // 2 else indent + 4
        out.append(textwrap.fill(line, width, initial_indent="", subsequent_indent=" " * hang,
                                 break_long_words=False, break_on_hyphens=False))
    return "\n".join(out)
