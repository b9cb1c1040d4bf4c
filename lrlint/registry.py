"""Every finished rule: code, name, default, fix. A rule that is not finished is not listed here.

Kept free of heavy imports: `lrlint rules`, option parsing and noqa handling read it without
loading libcst; `RuleInfo.load()` imports a rule's implementation only when a file is checked.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lrlint.rules.base import Rule


@dataclass(frozen=True)
class RuleInfo:
    code: str
    name: str
    summary: str
    default_enabled: bool
    fixable: bool
    implementation: str | None  # "module:Class"; None for diagnostics the engine itself emits

    def load(self) -> type[Rule] | None:
        if self.implementation is None:
            return None
        module, _, attribute = self.implementation.partition(":")
        return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


RULES: tuple[RuleInfo, ...] = (
    RuleInfo(
        "LR001",
        "uniform-lr",
        "a pretrained model is fine-tuned with one learning rate for every layer",
        default_enabled=True,
        fixable=True,
        implementation="lrlint.rules.uniform_lr:UniformLR",
    ),
    RuleInfo(
        "LR002",
        "missing-freeze",
        "a pretrained model is fine-tuned on fewer than 100 examples and nothing is frozen",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.missing_freeze:MissingFreeze",
    ),
    RuleInfo(
        "LR003",
        "lr-not-monotonic",
        "explicit groups whose learning rates fall as depth rises",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.lr_not_monotonic:LrNotMonotonic",
    ),
    RuleInfo(
        "LR004",
        "params-not-covered",
        "explicit groups leave a trainable module out: its parameters never train",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.params_not_covered:ParamsNotCovered",
    ),
    RuleInfo(
        "LR005",
        "params-overlap",
        "two parameter groups share parameters (torch raises at run time)",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.params_overlap:ParamsOverlap",
    ),
    RuleInfo(
        "LR006",
        "decay-on-norm-bias",
        "weight decay on biases or normalisation weights (opt-in)",
        default_enabled=False,
        fixable=False,
        implementation="lrlint.rules.decay_on_norm_bias:DecayOnNormBias",
    ),
    RuleInfo(
        "LR007",
        "lr-flattened",
        "a scheduler or an assignment overwrites the per-group rates with one value",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.lr_flattened:LrFlattened",
    ),
    RuleInfo(
        "LR008",
        "unfrozen-not-optimized",
        "layers unfrozen after the optimizer was built without them never train",
        default_enabled=True,
        fixable=False,
        implementation="lrlint.rules.unfrozen_not_optimized:UnfrozenNotOptimized",
    ),
    RuleInfo(
        "LR009",
        "no-validation",
        "a fine-tuning script never evaluates on held-out data (opt-in)",
        default_enabled=False,
        fixable=False,
        implementation="lrlint.rules.no_validation:NoValidation",
    ),
    RuleInfo(
        "LR900",
        "parse-error",
        "the file does not parse or cannot be decoded, so nothing else in it can be checked",
        default_enabled=True,
        fixable=False,
        implementation=None,
    ),
)
BY_CODE: dict[str, RuleInfo] = {rule.code: rule for rule in RULES}
PARSE_ERROR = "LR900"


class SelectorError(ValueError):
    """A --select/--ignore entry that names no rule."""


def expand(selector: str) -> set[str]:
    """`ALL`, a code (`LR001`) or a prefix (`LR`, `LR00`) -> the codes it names."""
    selector = selector.strip().upper()
    if selector == "ALL":
        return set(BY_CODE)
    codes = {code for code in BY_CODE if code.startswith(selector)}
    if not codes:
        known = ", ".join(BY_CODE)
        raise SelectorError(f"unknown rule selector {selector!r} (known rules: {known})")
    return codes


def enabled_codes(
    select: tuple[str, ...] | None, extend_select: tuple[str, ...], ignore: tuple[str, ...]
) -> frozenset[str]:
    """ruff's model: `select` replaces the defaults, `extend-select` adds, `ignore` removes."""
    if select is None:
        codes = {rule.code for rule in RULES if rule.default_enabled}
    else:
        codes = set().union(*(expand(s) for s in select)) if select else set()
    for selector in extend_select:
        codes |= expand(selector)
    for selector in ignore:
        codes -= expand(selector)
    return frozenset(codes)
