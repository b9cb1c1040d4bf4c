"""A JSON array of findings, shaped like ruff's JSON output so that tools can share parsers
(`cell` is the notebook cell, 1-based, or null, as in ruff)."""

from __future__ import annotations

import json
from collections import Counter
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


def statistics(diagnostics: Sequence[Diagnostic]) -> str:
    """`--statistics --format json`: one record per code, most frequent first."""
    counts = Counter(d.code for d in diagnostics)
    records = [
        {
            "code": code,
            "name": BY_CODE[code].name if code in BY_CODE else None,
            "count": count,
            "fixable": bool(code in BY_CODE and BY_CODE[code].fixable),
        }
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    return json.dumps(records, indent=2, ensure_ascii=False) + "\n"
