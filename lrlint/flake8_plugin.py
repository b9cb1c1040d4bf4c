"""lrlint as a flake8 plugin, for teams that keep flake8: `flake8 --select LR` runs the static
rules on each file flake8 checks (notebooks are lrlint's own business: `lrlint check`).

flake8 reports what the plugin yields and applies its own `--select`/`--ignore`/`noqa`, with
lrlint's meaning: plain `flake8` runs the rules that are on by default (the opt-in LR006 and
LR009 are in flake8's default ignore list; `--extend-select LR009` adds one), and an explicit
`--select LR` selects every LR rule, as `lrlint check --select LR` does. LR900 is not reported:
flake8 says E999 itself and runs no plugin on a file that does not parse.
`--lrlint-num-examples N` (or `lrlint-num-examples` in flake8's config) is lrlint's
`--num-examples`, for LR002.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from lrlint import __version__
from lrlint.registry import PARSE_ERROR, RULES

OPT_IN = [rule.code for rule in RULES if not rule.default_enabled]


class LrlintChecker:
    name = "lrlint"
    version = __version__
    num_examples: ClassVar[int | None] = None

    def __init__(self, tree: ast.AST, filename: str, lines: Sequence[str]) -> None:
        # flake8 has parsed the file (tree); lrlint parses it again with LibCST, only when
        # the text prefilter says it could build an optimizer.
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, manager: Any) -> None:
        manager.add_option(
            "--lrlint-num-examples",
            type=int,
            default=None,
            parse_from_config=True,
            help="How many labelled examples the fine-tuning uses (lrlint's LR002).",
        )
        manager.extend_default_ignore(OPT_IN)

    @classmethod
    def parse_options(cls, options: Any) -> None:
        cls.num_examples = getattr(options, "lrlint_num_examples", None)

    def run(self) -> Iterator[tuple[int, int, str, type[LrlintChecker]]]:
        from lrlint.engine import CheckOptions, check_source

        enabled = frozenset(rule.code for rule in RULES if rule.code != PARSE_ERROR)
        text = "".join(self.lines)
        if text.startswith("\ufeff"):
            text = text[1:]
        options = CheckOptions(enabled, self.num_examples)
        for d in check_source(text, self.filename, options):
            yield d.line, d.col - 1, f"{d.code} {d.message}", type(self)
