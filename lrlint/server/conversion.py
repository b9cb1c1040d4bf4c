"""lrlint's findings as LSP diagnostics: 1-based lines and columns (in characters) to 0-based
positions in the client's units, the rule code with a link to its page, the severity that
`--format github` gives (error for the rules on by default, warning for the opt-in ones), and
why a fix strategy would refuse the site, as related information."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from lsprotocol import types

from lrlint import registry
from lrlint.diagnostics import Diagnostic
from lrlint.docs import pages_dir
from lrlint.reporting import severity

SOURCE = "lrlint"
# How many code units of the client's position encoding a string takes (UTF-16 by default).
Units = Callable[[str], int]
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split only where LSP (and Python's tokenizer) ends a line:
    at \\n, \\r\\n and \\r; `str.splitlines` also splits at form feeds and U+2028."""
    return _LINE.findall(text) if text else []


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def rule_url(code: str) -> str:
    """The rule's page as shipped with lrlint (rules/LR001.md, in the wheel as
    lrlint/rule_docs): a file the editor can open with no network."""
    return (pages_dir() / f"{code}.md").resolve().as_uri()


def finding_range(lines: Sequence[str], line: int, col: int, units: Units) -> types.Range:
    """From the finding's column to the end of the code on its line (editors underline it)."""
    index = min(max(line - 1, 0), max(len(lines) - 1, 0))
    text = lines[index].rstrip("\r\n") if lines else ""
    start = min(max(col - 1, 0), len(text))
    end = len(text.rstrip())
    if end <= start:
        end = len(text)
    return types.Range(
        types.Position(index, units(text[:start])), types.Position(index, units(text[:end]))
    )


def to_lsp(
    diagnostic: Diagnostic,
    lines: Sequence[str],
    units: Units = utf16_units,
    refused: dict[str, str] | None = None,
    uri: str | None = None,
) -> types.Diagnostic:
    """`lines` are the lines of the text the finding is in (a notebook cell's, for a cell);
    `refused` maps a fix strategy to why it leaves this site alone; `uri` is where it is."""
    where = finding_range(lines, diagnostic.line, diagnostic.col, units)
    info = registry.BY_CODE.get(diagnostic.code)
    related = None
    if refused and uri is not None:
        related = [
            types.DiagnosticRelatedInformation(
                types.Location(uri, where), f"lrlint fix --strategy {strategy}: not offered: {why}"
            )
            for strategy, why in sorted(refused.items())
        ]
    return types.Diagnostic(
        range=where,
        message=diagnostic.message,
        severity=_SEVERITY[severity(diagnostic.code)],
        code=diagnostic.code,
        code_description=types.CodeDescription(href=rule_url(diagnostic.code)),
        source=SOURCE,
        related_information=related,
        data={"name": info.name} if info else None,
    )
