"""What the runtime checker found: a row per module of the model (depth, parameters, trainable,
rate, weight decay), the findings, and ways to show them. Plain data: no torch needed here."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Row:
    depth: str  # "embeddings", "block 3", "final (pooler/norm)", "head"
    order: tuple[int, int]  # (tier, index): for sorting and plotting
    module: str  # "bert.encoder.layer.3"
    parameters: int  # number of elements
    trainable: int  # of which trainable
    lr: list[float]  # the distinct rates its parameters train at (empty: in no group)
    weight_decay: list[float]
    head: bool = False


@dataclass(frozen=True)
class RuntimeFinding:
    code: str
    message: str


@dataclass
class Report:
    model: str  # the model's class
    family: str  # the model of depth's family ("bert", "generic"...)
    rows: list[Row] = field(default_factory=list)
    findings: list[RuntimeFinding] = field(default_factory=list)
    frozen: list[str] = field(default_factory=list)  # modules whose parameters are all frozen
    groups: list[dict[str, object]] = field(default_factory=list)  # per optimizer group
    scheduler: str | None = None  # the scheduler built right after the optimizer, if any
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def raise_for_findings(self) -> None:
        """For a user's own test suite: fail with every finding listed."""
        if self.findings:
            lines = "\n".join(f"{f.code} {f.message}" for f in self.findings)
            raise AssertionError(f"lrlint found {len(self.findings)} problem(s):\n{lines}")

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def render(self) -> str:
        """The per-depth table, then the findings, as text for a terminal."""
        header = ("depth", "module", "params", "trainable", "lr", "weight decay")
        table = [header] + [
            (
                row.depth,
                row.module,
                _count(row.parameters),
                "all" if row.trainable == row.parameters else _count(row.trainable),
                ", ".join(_rate(v) for v in row.lr) or "-",
                ", ".join(_rate(v) for v in row.weight_decay) or "-",
            )
            for row in self.rows
        ]
        widths = [max(len(line[i]) for line in table) for i in range(len(header))]
        lines = [f"{self.model} ({self.family})"]
        for index, line in enumerate(table):
            lines.append(
                "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
            )
            if index == 0:
                lines.append("  ".join("-" * width for width in widths))
        if self.scheduler:
            lines.append(f"scheduler: {self.scheduler}")
        lines += [f"note: {note}" for note in self.notes]
        lines += [f"{f.code} {f.message}" for f in self.findings]
        count = len(self.findings)
        found = f"Found {count} problem{'s' if count != 1 else ''}."
        lines.append("All checks passed." if self.ok else found)
        return "\n".join(lines) + "\n"


def _count(value: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if value >= size:
            return f"{value / size:.1f}{unit}"
    return str(value)


def _rate(value: float) -> str:
    return f"{value:.3g}"
