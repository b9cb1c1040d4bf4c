"""A JSON array of findings, shaped like ruff's JSON output so that tools can share parsers
(`cell` is the notebook cell, 1-based, or null, as in ruff)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from lrlint.diagnostics import Diagnostic
from lrlint.registry import BY_CODE


def render(diagnostics: Sequence[Diagnostic]) -> str:
    records = [
        {
            "cell": d.cell,
            "code": d.code,
            "name": BY_CODE[d.code].name if d.code in BY_CODE else None,
            "message": d.message,
            "filename": d.path,
            "location": {"row": d.line, "column": d.col},
            "noqa_row": d.line,
            "fix": None,
        }
        for d in diagnostics
    ]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
