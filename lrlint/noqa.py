"""`# noqa` and `# noqa: LR001, LR002` on the reported line, read as flake8 and ruff read them."""

from __future__ import annotations

import re
from collections.abc import Iterable

from lrlint.diagnostics import Diagnostic

# flake8's form: a bare noqa comment silences everything on the line; with a colon, the codes.
_NOQA = re.compile(
    r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def suppressed_codes(line: str) -> frozenset[str] | None:
    """None when the line has no noqa, an empty set for a bare noqa (everything), else the codes."""
    if "#" not in line:
        return None
    match = _NOQA.search(line)
    if match is None:
        return None
    codes = match.group("codes")
    if codes is None:
        return frozenset()
    return frozenset(code.upper() for code in _CODE.findall(codes))


def filter_suppressed(diagnostics: Iterable[Diagnostic], lines: list[str]) -> list[Diagnostic]:
    kept = []
    for diagnostic in diagnostics:
        index = diagnostic.line - 1
        codes = suppressed_codes(lines[index]) if 0 <= index < len(lines) else None
        if codes is None or (codes and diagnostic.code not in codes):
            kept.append(diagnostic)
    return kept
