"""Code actions on lrlint's findings: for an LR001, one quick fix per strategy (what `lrlint
fix --strategy S` would write, as minimal edits), or, where the fixer refuses, a disabled action
that says why; "suppress with `# noqa: LR001`" for any finding; and a source action that fixes
every LR001 of the file (the default strategy, as `lrlint fix` with no options)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from lsprotocol import types

from lrlint.noqa import suppressed_codes
from lrlint.server import checking, notebooks
from lrlint.server.conversion import Units, split_lines, utf16_units
from lrlint.server.documents import Snapshot
from lrlint.server.edits import minimal_edits

FIX_ALL_KIND = f"{types.CodeActionKind.SourceFixAll.value}.lrlint"
DEFAULT_STRATEGY = "discriminative"
DESCRIPTIONS = {
    "discriminative": "rates rising with depth",
    "freeze": "freeze the lower layers",
    "gradual": "unfreeze top-down by epoch",
}
Place = checking.Place
# the list of codes after a noqa comment's colon, as lrlint.noqa reads it
_NOQA_CODES = re.compile(r"#\s*noqa:\s*[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*", re.IGNORECASE)


@dataclass
class FileFix:
    """One strategy applied to a whole document."""

    strategy: str
    edits: dict[str, list[types.TextEdit]] = field(default_factory=dict)  # uri -> edits
    fixed: set[Place] = field(default_factory=set)
    refused: dict[Place, str] = field(default_factory=dict)
    unparsable: str | None = None


@dataclass(frozen=True)
class Site:
    """A finding as the client sees it: where (`uri` of the script or cell) and the LSP value."""

    uri: str
    place: Place
    code: str
    diagnostic: types.Diagnostic


def fix_document(
    snapshot: Snapshot, strategy: str, num_examples: int | None, units: Units = utf16_units
) -> FileFix:
    """Blocking (the fixer parses and verifies): run it in a worker thread."""
    outcome = FileFix(strategy)
    if snapshot.cells is None:
        result = checking.fix(snapshot.text, strategy, num_examples)
        outcome.unparsable = result.unparsable
        outcome.fixed = {(None, line) for line in result.fixed}
        outcome.refused = {(None, r.line): r.reason for r in result.refused}
        if result.changed:
            outcome.edits[snapshot.key] = minimal_edits(snapshot.text, result.text, units)
        return outcome
    cells = [(cell.kind, cell.text) for cell in snapshot.cells]
    fixed = notebooks.fix(cells, strategy, num_examples)
    outcome.fixed = set(fixed.fixed)
    outcome.refused = {(cell, line): why for cell, line, why in fixed.refused}
    for index, text in fixed.changed.items():
        cell = snapshot.cells[index]
        outcome.edits[cell.uri] = minimal_edits(cell.text, text, units)
    return outcome


def quick_fixes(
    site: Site, fixes: Sequence[FileFix], disabled_support: bool
) -> list[types.CodeAction]:
    actions = []
    for fix in fixes:
        label = f"lrlint: fix LR001 with {fix.strategy} ({DESCRIPTIONS.get(fix.strategy, '')})"
        if site.place in fix.fixed and fix.edits:
            if len(fix.fixed) > 1:
                label += f", and the other {len(fix.fixed) - 1} LR001 in this file"
            actions.append(
                types.CodeAction(
                    title=label,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[site.diagnostic],
                    edit=types.WorkspaceEdit(changes=fix.edits),
                    is_preferred=fix.strategy == DEFAULT_STRATEGY,
                )
            )
        elif disabled_support:
            why = fix.refused.get(site.place) or fix.unparsable or "the fixer changes nothing here"
            actions.append(
                types.CodeAction(
                    title=label,
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[site.diagnostic],
                    disabled=types.CodeActionDisabled(reason=why),
                )
            )
    return actions


def suppress(site: Site, line_text: str, units: Units = utf16_units) -> types.CodeAction | None:
    """`# noqa: CODE` at the end of the finding's line, or CODE added to the list of a noqa
    already there; None under a bare `# noqa` (it silences everything already)."""
    body = line_text.rstrip("\r\n")
    codes = suppressed_codes(body)
    if codes is not None and not codes:
        return None
    listed = _NOQA_CODES.search(body) if codes else None
    if listed is not None:  # a list of codes gets one more: LR002 -> LR002, LR001
        addition, at = f", {site.code}", listed.end()
    else:
        addition, at = f"  # noqa: {site.code}", len(body.rstrip())
    line = site.diagnostic.range.start.line
    position = types.Position(line, units(body[:at]))
    return types.CodeAction(
        title=f"lrlint: suppress with # noqa: {site.code}",
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[site.diagnostic],
        edit=types.WorkspaceEdit(
            changes={site.uri: [types.TextEdit(types.Range(position, position), addition)]}
        ),
    )


def fix_all(fix: FileFix) -> types.CodeAction | None:
    if not fix.edits:
        return None
    return types.CodeAction(
        title="lrlint: fix all lrlint findings in this file",
        kind=FIX_ALL_KIND,
        edit=types.WorkspaceEdit(changes=fix.edits),
    )


def line_of(text: str, index: int) -> str:
    lines = split_lines(text)
    return lines[index] if 0 <= index < len(lines) else ""
