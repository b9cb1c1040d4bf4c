"""The rule pages in `rules/`: shipped in the wheel as `lrlint/rule_docs`, read from the source
tree in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def pages_dir() -> Path:
    installed = _PACKAGE / "rule_docs"
    return installed if installed.is_dir() else _PACKAGE.parent / "rules"


def page(code: str) -> str | None:
    path = pages_dir() / f"{code.upper()}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
