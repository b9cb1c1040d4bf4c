"""Fixing a notebook: its code cells are fixed as one script (as they are checked), and only the
`source` of the cells that change is written back; outputs, metadata and the JSON layout stay
byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, field

from lrlint.fix.fixer import FixOptions, fix_source
from lrlint.sources import notebook


@dataclass
class NotebookFix:
    text: str  # the notebook's new JSON text (the old one when nothing changed)
    fixed: list[tuple[int, int]] = field(default_factory=list)  # (cell, line) of each fix
    refused: list[tuple[int | None, int, str]] = field(default_factory=list)  # (cell, line, why)
    changes: list[notebook.CellChange] = field(default_factory=list)
    strategy: str = "discriminative"

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def fix_text(text: str, options: FixOptions) -> NotebookFix:
    """Fix every LR001 site in a notebook's JSON text. Raises NotebookError."""
    parsed = notebook.parse(text)
    if not parsed.is_python:
        return NotebookFix(text)
    joined = notebook.join(parsed)
    result = fix_source(joined.text, options)
    outcome = NotebookFix(text, strategy=result.strategy)
    for refusal in result.refused:
        cell, line = joined.place(refusal.line)
        outcome.refused.append((cell, line, refusal.reason))
    if not result.changed:
        return outcome
    places = [joined.place(line) for line in result.fixed]
    try:
        changes = notebook.split(joined, result.text)
    except notebook.Unmappable as exc:
        for cell, line in places:
            outcome.refused.append((cell, line, f"{exc}; nothing written"))
        return outcome
    outcome.fixed = [(cell or 0, line) for cell, line in places]
    outcome.changes = changes
    outcome.text = notebook.splice(text, {change.number: change.after for change in changes})
    return outcome
