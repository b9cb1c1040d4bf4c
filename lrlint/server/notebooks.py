"""LSP 3.17 notebook documents (as VS Code sends them: one text document per cell) as the
.ipynb JSON that lrlint checks and fixes, and fixed JSON back into edits of the cells.

A cell here is (kind, text): "code" for a Python code cell, "markdown", or "raw" for a code
cell in another language. Every cell is kept, markdown included, so cell N of lrlint's
findings (1-based over all cells, as ruff counts) is the notebook's Nth cell.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from lrlint.fix.fixer import FixOptions
from lrlint.fix.notebooks import fix_text
from lrlint.sources import notebook

Cell = tuple[str, str]  # (kind, text)
PYTHON_LANGUAGES = frozenset({"python", "python3", "ipython"})


def cell_kind(is_code: bool, language: str | None) -> str:
    if not is_code:
        return "markdown"
    return "code" if (language or "python").lower() in PYTHON_LANGUAGES else "raw"


def to_json(cells: Sequence[Cell]) -> str:
    """An nbformat 4 notebook with these cells (no outputs: lrlint reads only sources)."""
    rendered = []
    for kind, text in cells:
        item: dict[str, object] = {"cell_type": kind, "metadata": {}, "source": text}
        if kind == "code":
            item.update(execution_count=None, outputs=[])
        rendered.append(item)
    data = {
        "cells": rendered,
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(data, indent=1) + "\n"


@dataclass
class CellFix:
    """`lrlint fix` on a notebook: the new text of each changed cell (0-based index)."""

    changed: dict[int, str] = field(default_factory=dict)
    fixed: list[tuple[int, int]] = field(default_factory=list)  # (cell, line), cells 1-based
    refused: list[tuple[int | None, int, str]] = field(default_factory=list)


def fix(cells: Sequence[Cell], strategy: str, num_examples: int | None = None) -> CellFix:
    result = fix_text(to_json(cells), FixOptions(strategy, num_examples=num_examples))
    changed = {change.number - 1: change.after for change in result.changes}
    return CellFix(changed, list(result.fixed), list(result.refused))


def cells_of(text: str) -> list[Cell]:
    """The cells of a notebook's JSON (for tests and for a notebook opened as plain JSON)."""
    parsed = notebook.parse(text)
    return [(cell.kind, cell.source) for cell in parsed.cells]
