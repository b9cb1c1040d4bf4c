"""Source readers: what the static pass reads from a file, and how its lines map back.

A `.py` file is its decoded text (`text`: encoding cookies, BOMs, CRLF kept); a notebook is its
code cells joined into one script (`notebook`), with cells that do not parse set aside. Both
become a `Unit`, so the engine and the fixer have one path from source to findings. Nothing here
imports the static pass, the engine or the fixer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lrlint.sources import notebook
from lrlint.sources.text import SourceError, SourceText, decode


@dataclass(frozen=True)
class BrokenCell:
    """A notebook cell that does not parse: reported (LR900) and left out of the script."""

    cell: int
    line: int
    col: int
    message: str


@dataclass
class Unit:
    path: str
    text: str  # the Python the static pass reads
    joined: notebook.Joined | None = None  # a notebook: how script lines map to cells
    broken: list[BrokenCell] = field(default_factory=list)
    # all the code a notebook holds, broken cells included (what the prefilter looks at)
    everything: str = ""

    def place(self, line: int) -> tuple[int | None, int] | None:
        """(cell, line) of a line of `text`; None for a line that is in no cell."""
        if self.joined is None:
            return None, line
        found = self.joined.locate(line)
        return (found[0].number, found[1]) if found else None


def is_notebook(path: str | Path) -> bool:
    return notebook.is_notebook(path)


def read(path: str) -> Unit:
    """Raises SourceError (unreadable=True when the bytes cannot be read) or NotebookError."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}", unreadable=True) from None
    if is_notebook(path):
        try:
            return from_text(raw.decode("utf-8-sig"), path)
        except UnicodeDecodeError as exc:
            raise SourceError(f"cannot decode as utf-8 at byte {exc.start}: {exc.reason}") from None
    return from_text(decode(raw).text, path)


def from_text(text: str, path: str) -> Unit:
    """A unit from text already decoded: a script's source, or a notebook's JSON (by `path`).
    Raises NotebookError for JSON that is not a notebook."""
    if not is_notebook(path):
        return Unit(path, text, everything=text)
    parsed = notebook.parse(text)
    if not parsed.is_python:  # an R or Julia notebook: nothing in it is Python
        return Unit(path, "", notebook.join(notebook.Notebook(text, parsed.data, [])))
    joined = notebook.join(parsed)
    broken = [
        BrokenCell(cell.number, error.lineno or 1, error.offset or 1, f"cannot parse: {error.msg}")
        for cell, error in joined.broken
    ]
    everything = joined.text + "".join(cell.text for cell, _ in joined.broken)
    return Unit(path, joined.text, joined, broken, everything)


__all__ = [
    "BrokenCell",
    "SourceError",
    "SourceText",
    "Unit",
    "decode",
    "from_text",
    "is_notebook",
    "read",
]
