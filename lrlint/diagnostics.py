"""The one record every part of lrlint passes around: a finding at a place in a file."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class Diagnostic:
    path: str
    line: int  # 1-based
    col: int  # 1-based, as ruff and flake8 print it
    code: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return asdict(self)
