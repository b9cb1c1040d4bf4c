"""A rule is a small class: its code and a `check` over one script's training setup.

Its name, summary and defaults live in `lrlint.registry`, which the CLI reads without importing
the static pass (and libcst) at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from lrlint.analysis.training import TrainingSetup


@dataclass(frozen=True)
class Finding:
    node: cst.CSTNode  # reported at its start
    message: str


@dataclass(frozen=True)
class RuleContext:
    setup: TrainingSetup
    num_examples: int | None  # from --num-examples or [tool.lrlint]; None: learn it from the script


class Rule:
    code: ClassVar[str]

    def check(self, context: RuleContext) -> Iterator[Finding]:
        raise NotImplementedError
