"""The smallest line edits that turn one text into another, as LSP TextEdits: a fix touches
the lines it changes, never the whole document, so the editor keeps cursors, marks and undo
history everywhere else."""

from __future__ import annotations

import difflib

from lsprotocol import types

from lrlint.server.conversion import Units, split_lines, utf16_units


def minimal_edits(old: str, new: str, units: Units = utf16_units) -> list[types.TextEdit]:
    """Line-level edits from `old` to `new` (difflib's opcodes), in document order."""
    if old == new:
        return []
    before = split_lines(old)
    after = split_lines(new)
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    edits = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        edits.append(
            types.TextEdit(
                types.Range(_position(before, i1, units), _position(before, i2, units)),
                "".join(after[j1:j2]),
            )
        )
    return edits


def _position(lines: list[str], index: int, units: Units) -> types.Position:
    """The start of line `index`; past a last line without a newline, that line's end (LSP
    has no position after the document's last character)."""
    if index < len(lines) or not lines or lines[-1].endswith(("\n", "\r")):
        return types.Position(index, 0)
    last = lines[-1]
    return types.Position(len(lines) - 1, units(last))


def apply(text: str, edits: list[types.TextEdit], units: Units = utf16_units) -> str:
    """The text after the edits (non-overlapping, as `minimal_edits` makes them): what a client
    does with them, for tests and for checking an action before offering it."""
    lines = split_lines(text)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(position: types.Position) -> int:
        if position.line >= len(lines):
            return len(text)
        line = lines[position.line]
        count = 0
        for index, char in enumerate(line):
            if count >= position.character:
                return starts[position.line] + index
            count += units(char)
        return starts[position.line] + len(line)

    out = text
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character))[::-1]:
        start, end = offset(edit.range.start), offset(edit.range.end)
        out = out[:start] + edit.new_text + out[end:]
    return out
