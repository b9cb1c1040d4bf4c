"""`path:line:col: CODE message`, then a summary line, as flake8 and ruff print them; in a
notebook, `notebook.ipynb:cell 3:line:col: CODE message`.

On a terminal each finding also gets a short frame: the reported line with a caret under the
place, and colour (both off when piped, so scripts and editors get the plain lines)."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence

from lrlint.diagnostics import Diagnostic
from lrlint.registry import BY_CODE
from lrlint.reporting.sources import Sources
from lrlint.reporting.style import PLAIN, Style

_TOKEN = re.compile(r"[\w.]+")
_TAB = 4


def render(
    diagnostics: Sequence[Diagnostic],
    style: Style = PLAIN,
    show_source: bool = False,
    sources: Sources | None = None,
) -> str:
    sources = sources or Sources()
    blocks = []
    for d in diagnostics:
        head = f"{style.path(d.location)}: {style.code(d.code)} {d.message}"
        frame = _frame(d, sources, style) if show_source else ""
        blocks.append(head + ("\n" + frame if frame else ""))
    separator = "\n\n" if show_source else "\n"
    lines = [separator.join(blocks)] if blocks else []
    if show_source and blocks:
        lines.append("")
    lines.append(style.bold(summary(diagnostics)))
    return "\n".join(lines) + "\n"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    if not diagnostics:
        return "All checks passed."
    files = len({d.path for d in diagnostics})
    problems = "problem" if len(diagnostics) == 1 else "problems"
    in_files = "file" if files == 1 else "files"
    return f"Found {len(diagnostics)} {problems} in {files} {in_files}."


def statistics(diagnostics: Sequence[Diagnostic], style: Style = PLAIN) -> str:
    """One line per code, most frequent first: count, code, name, and whether `lrlint fix`
    fixes it; then the summary."""
    counts = Counter(d.code for d in diagnostics)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    width = len(str(max(counts.values()))) if counts else 1
    names = {code: BY_CODE[code].name if code in BY_CODE else "" for code in counts}
    name_width = max((len(name) for name in names.values()), default=0)
    lines = []
    for code, count in rows:
        fixable = code in BY_CODE and BY_CODE[code].fixable
        name = names[code].ljust(name_width) if fixable else names[code]
        tail = "  " + style.dim("fixable: lrlint fix") if fixable else ""
        lines.append(f"{count:>{width}}  {style.code(code)}  {name}{tail}")
    lines.append(style.bold(summary(diagnostics)))
    return "\n".join(lines) + "\n"


def _frame(d: Diagnostic, sources: Sources, style: Style) -> str:
    """
       |
    45 |     optimizer = AdamW(model.parameters(), lr=2e-5)
       |                 ^^^^^
    """
    text = sources.line(d)
    if text is None:
        return ""
    text = text.rstrip()
    number = str(d.line)
    pad = " " * len(number)
    shown = text.expandtabs(_TAB)
    before = text[: max(d.col - 1, 0)].expandtabs(_TAB)
    token = _TOKEN.match(text, max(d.col - 1, 0))
    length = _width(token.group()) if token else 1
    caret = " " * _width(before) + "^" * max(length, 1)
    bar = style.gutter("|")
    return "\n".join(
        [
            f"{pad} {bar}",
            f"{style.gutter(number)} {bar} {shown}",
            f"{pad} {bar} {style.caret(caret)}",
        ]
    )


def _width(text: str) -> int:
    """Terminal columns: wide (CJK) characters take two, combining marks none."""
    total = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        total += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return total
