"""The one record every part of lrlint passes around: a finding at a place in a file."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import total_ordering


@total_ordering
@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int  # 1-based; in a notebook, the line within the cell
    col: int  # 1-based, as ruff and flake8 print it
    code: str
    message: str
    cell: int | None = None  # a notebook's cell, 1-based over all cells as ruff counts them

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @property
    def location(self) -> str:
        """`path:line:col`, or `notebook.ipynb:cell 3:line:col` (ruff's form)."""
        cell = f"cell {self.cell}:" if self.cell is not None else ""
        return f"{self.path}:{cell}{self.line}:{self.col}"

    def _key(self) -> tuple[str, int, int, int, str, str]:
        return (self.path, self.cell or 0, self.line, self.col, self.code, self.message)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Diagnostic):
            return NotImplemented
        return self._key() < other._key()
