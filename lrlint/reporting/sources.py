"""The source lines a report quotes: a file's lines, or a notebook cell's, read once per file.
Also where a notebook cell's line stands in the .ipynb file, for CI annotations (GitHub shows
them on the file's own lines)."""

from __future__ import annotations

from pathlib import Path

from lrlint.diagnostics import Diagnostic
from lrlint.sources import notebook, text


class Sources:
    def __init__(self) -> None:
        self._lines: dict[tuple[str, int | None], list[str] | None] = {}
        self._json_lines: dict[str, dict[int, list[int]]] = {}

    def line(self, diagnostic: Diagnostic) -> str | None:
        """The text of the reported line, or None when it cannot be read."""
        key = (diagnostic.path, diagnostic.cell)
        if key not in self._lines:
            self._lines[key] = self._read(diagnostic.path, diagnostic.cell)
        lines = self._lines[key]
        if lines is None or not 0 < diagnostic.line <= len(lines):
            return None
        return lines[diagnostic.line - 1]

    def _read(self, path: str, cell: int | None) -> list[str] | None:
        try:
            if notebook.is_notebook(path):
                if cell is None:
                    return None  # a notebook that cannot be read: no code to quote
                found = notebook.read(Path(path)).cell(cell)
                return found.source.splitlines() if found else None
            return text.read(Path(path)).text.splitlines()
        except (OSError, text.SourceError):
            return None

    def file_line(self, diagnostic: Diagnostic) -> int:
        """The line in the file itself: for a notebook cell's line, the .ipynb line that holds
        it; else the diagnostic's line."""
        if diagnostic.cell is None:
            return diagnostic.line
        if diagnostic.path not in self._json_lines:
            try:
                raw = Path(diagnostic.path).read_bytes().decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                raw = ""
            self._json_lines[diagnostic.path] = notebook.json_lines(raw) if raw else {}
        lines = self._json_lines[diagnostic.path].get(diagnostic.cell, [])
        if not lines:
            return 1
        return lines[min(diagnostic.line, len(lines)) - 1]
