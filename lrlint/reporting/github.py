"""GitHub Actions workflow commands: one `::error` annotation per finding (`::warning` for the
opt-in rules), shown on the pull request's diff (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).

A notebook finding is annotated on the .ipynb line that holds the code, with the cell, line and
column at the start of its message."""

from __future__ import annotations

from collections.abc import Sequence

from lrlint.diagnostics import Diagnostic
from lrlint.reporting import severity
from lrlint.reporting.sources import Sources


def render(diagnostics: Sequence[Diagnostic], sources: Sources | None = None) -> str:
    sources = sources or Sources()
    lines = []
    for d in diagnostics:
        properties = [f"file={_property(d.path)}", f"line={sources.file_line(d)}"]
        message = d.message
        if d.cell is None:
            properties.append(f"col={d.col}")
        else:
            message = f"cell {d.cell}:{d.line}:{d.col}: {d.message}"
        properties.append(f"title={_property(d.code)}")
        lines.append(f"::{severity(d.code)} {','.join(properties)}::{_data(message)}")
    return "".join(line + "\n" for line in lines)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
