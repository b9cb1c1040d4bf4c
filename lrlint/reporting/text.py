"""`path:line:col: CODE message`, then a summary line, as flake8 and ruff print them; in a
notebook, `notebook.ipynb:cell 3:line:col: CODE message`."""

from __future__ import annotations

from collections.abc import Sequence

from lrlint.diagnostics import Diagnostic


def render(diagnostics: Sequence[Diagnostic]) -> str:
    lines = [f"{d.location}: {d.code} {d.message}" for d in diagnostics]
    lines.append(summary(diagnostics))
    return "\n".join(lines) + "\n"


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    if not diagnostics:
        return "All checks passed."
    files = len({d.path for d in diagnostics})
    problems = "problem" if len(diagnostics) == 1 else "problems"
    in_files = "file" if files == 1 else "files"
    return f"Found {len(diagnostics)} {problems} in {files} {in_files}."
