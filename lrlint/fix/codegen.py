"""The plain PyTorch a fix writes, as source text shaped like the seed's improved code.

Nothing here imports lrlint into the user's file: the groups name the user's own modules
(`model.bert.embeddings`), the rates are the user's lr (a literal, or their expression divided),
and the number of blocks is computed with `len(...)` rather than assumed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lrlint.fix.parts import ModelParts

MODULE_PLACEHOLDER = "__lrlint_module__"  # replaced before anything is written

# Tiers of the discriminative strategy (../shared/RULES.md): divisors of the base rate.
EMBEDDINGS_DIVISOR, LOWER_DIVISOR, UPPER_DIVISOR = 20, 4, 2


@dataclass(frozen=True)
class Rate:
    """The user's base learning rate: its expression, and its value when written as a literal."""

    expression: str
    literal: float | None = None

    def divided(self, divisor: int) -> str:
        if divisor == 1:
            return self.expression if self.literal is None else number(self.literal)
        if self.literal is not None:
            return number(self.literal / divisor)
        return f"{_atom(self.expression)} / {divisor}"

    def decayed(self, decay: float, exponent: str) -> str:
        return f"{_atom(self.expression)} * {number(decay)} ** ({exponent})"


def number(value: float) -> str:
    """`1e-6` as the seed writes it, `0.9`, `5e-5`: the shortest text that reads back the same."""
    text = repr(float(f"{value:.12g}"))  # 2e-5 / 20 is 1e-6, not 1.0000000000000002e-06
    text = re.sub(r"e([+-])0(\d)", r"e\1\2", text)
    return text.replace("e+", "e")


def _atom(expression: str) -> str:
    simple = re.fullmatch(r"[\w.]+(\[[^\[\]]*\])?", expression.strip())
    return expression if simple else f"({expression})"


@dataclass(frozen=True)
class Style:
    quote: str = "'"
    indent: str = "    "

    def key(self, name: str) -> str:
        return f"{self.quote}{name}{self.quote}"

    def group(self, params: str, lr: str, other_keys: str = "") -> str:
        """`{'params': ..., <other keys>'lr': ...}`"""
        return f"{{{self.key('params')}: {params}, {other_keys}{self.key('lr')}: {lr}}}"


@dataclass
class Names:
    """Names the fix introduces, chosen not to clash with the script's own."""

    taken: set[str]

    def fresh(self, wanted: str) -> str:
        name, counter = wanted, 2
        while name in self.taken:
            name, counter = f"{wanted}_{counter}", counter + 1
        self.taken.add(name)
        return name


@dataclass
class Tiered:
    """A model's modules in depth order, each with the rate expression of its tier."""

    prelude: list[str]  # statements to run first (how many blocks are in each list)
    modules: list[tuple[str, str, str]]  # (module expression, rate expression, tier comment)


def tiers(parts: ModelParts, model: str, rate: Rate, names: Names) -> Tiered:
    """The discriminative tiers: embeddings lr/20, lower half of the blocks lr/4, upper half
    and the pooler/final norm lr/2, new heads lr."""
    tiered = Tiered([], [])
    for path in parts.embeddings:
        tiered.modules.append((_attr(model, path), rate.divided(EMBEDDINGS_DIVISOR), "embeddings"))
    lower, upper = _halves(parts, model, names, tiered.prelude)
    lower_rate = rate.divided(UPPER_DIVISOR if parts.shared_blocks else LOWER_DIVISOR)
    tiered.modules += [(module, lower_rate, "lower blocks") for module in lower]
    tiered.modules += [(module, rate.divided(UPPER_DIVISOR), "upper blocks") for module in upper]
    for path in parts.final:
        tiered.modules.append((_attr(model, path), rate.divided(UPPER_DIVISOR), "final"))
    for path in parts.heads:
        tiered.modules.append((_attr(model, path), rate.divided(1), "heads"))
    return tiered


def _halves(
    parts: ModelParts, model: str, names: Names, prelude: list[str]
) -> tuple[list[str], list[str]]:
    """Module expressions for the lower and the upper half of the blocks."""
    lower: list[str] = []
    upper: list[str] = []
    if parts.shared_blocks:  # one layer serves every depth: it cannot be split by depth
        return [_attr(model, path) for path in parts.stacks], []
    for stack in parts.stacks:
        stem = stack.rsplit(".", 2)[0].split(".")[-1] if len(parts.stacks) > 1 else ""
        half = names.fresh(f"{stem}_lower_blocks" if stem else "lower_blocks")
        blocks = _attr(model, stack)
        prelude.append(f"{half} = len({blocks}) // 2")
        lower.append(f"{blocks}[:{half}]")
        upper.append(f"{blocks}[{half}:]")
    named = sorted(parts.named_blocks)
    cut = len(named) // 2
    lower += [_attr(model, path) for _, path in named[:cut]]
    upper += [_attr(model, path) for _, path in named[cut:]]
    return lower, upper


def _attr(model: str, path: str) -> str:
    return f"{model}.{path}" if path else model


_COMMENTS = {
    "embeddings": "embeddings: the smallest rate",
    "lower blocks": "lower blocks: general features, a small rate",
    "upper blocks": "upper blocks: a medium rate",
    "final": "pooler / final norm: a medium rate",
    "heads": "new heads: the full rate",
}


def group_list(
    tiered: Tiered, style: Style, indent: str, split: list[tuple[str, str]] | None = None
) -> str:
    """`[ {'params': ..., 'lr': ...}, ... ]`, one group per module and a comment per tier.

    With `split`, the user's weight-decay split is kept inside every tier: one group per
    original group, each given as (its comprehension with MODULE_PLACEHOLDER for the source,
    its other keys)."""
    inner = indent + style.indent
    lines = ["["]
    previous = None
    for module, lr, tier in tiered.modules:
        if tier != previous:
            lines.append(f"{inner}# {_COMMENTS[tier]}")
            previous = tier
        if split is None:
            lines.append(f"{inner}{style.group(f'{module}.parameters()', lr)},")
            continue
        for comprehension, keys in split:
            source = comprehension.replace(MODULE_PLACEHOLDER, module)
            lines.append(f"{inner}{style.group(source, lr, keys)},")
    lines.append(f"{indent}]")
    return "\n".join(lines)


def decay_groups(
    parts: ModelParts, model: str, rate: Rate, decay: float, style: Style, names: Names
) -> tuple[list[str], str]:
    """Per-layer geometric decay: block i of L at lr * decay**(L - i), the embeddings at
    lr * decay**(L + 1), the pooler/final norm and the heads at lr. Returns the statements
    that build the group list and the name of that list."""
    groups = names.fresh("param_groups")
    count = names.fresh("num_blocks")
    block = names.fresh("block")
    index = names.fresh("i")
    stacks = [_attr(model, s) for s in parts.stacks]
    stacks += [_attr(model, path) for _, path in sorted(parts.named_blocks)]
    if len(parts.stacks) == 1 and not parts.named_blocks:
        every_block = stacks[0]
    else:
        every_block = (
            "["
            + ", ".join(
                f"*{s}" if s in [_attr(model, p) for p in parts.stacks] else s for s in stacks
            )
            + "]"
        )
    lines = [f"{count} = len({every_block})", f"{groups} = ["]
    for path in parts.embeddings:
        lr = rate.decayed(decay, f"{count} + 1")
        lines.append(f"{style.indent}{style.group(f'{_attr(model, path)}.parameters()', lr)},")
    lines.append("]")
    lines.append(f"for {index}, {block} in enumerate({every_block}):")
    lr = rate.decayed(decay, f"{count} - {index}")
    lines.append(f"{style.indent}{groups}.append({style.group(f'{block}.parameters()', lr)})")
    tail = [*parts.final, *parts.heads]
    if tail:
        lines.append(f"{groups} += [")
        for path in tail:
            group = style.group(f"{_attr(model, path)}.parameters()", rate.divided(1))
            lines.append(f"{style.indent}{group},")
        lines.append("]")
    return lines, groups


def freeze_statements(parts: ModelParts, model: str, layers: int | None, names: Names) -> list[str]:
    """Freeze the embeddings and the bottom blocks (`layers`, or three quarters of them: the
    bottom 9 of 12 that the seed's table gives for under 100 examples)."""
    lines = [
        "# Freeze the embeddings and the lower blocks: they keep their pretrained features.",
    ]
    lines += [f"{_attr(model, path)}.requires_grad_(False)" for path in parts.embeddings]
    if parts.shared_blocks:
        lines.append("# (this model shares one layer across all depths: only the embeddings)")
        return lines
    for stack in parts.stacks:
        blocks = _attr(model, stack)
        bottom = str(layers) if layers is not None else f"len({blocks}) * 3 // 4"
        lines.append(f"{blocks}[:{bottom}].requires_grad_(False)")
    named = sorted(parts.named_blocks)
    count = layers if layers is not None else len(named) * 3 // 4
    lines += [f"{_attr(model, path)}.requires_grad_(False)" for _, path in named[:count]]
    return lines


def gradual_statements(tiered: Tiered, names: Names) -> tuple[list[str], str]:
    """A function that unfreezes top-down by epoch (heads and final parts, then the upper
    blocks, then everything), and the call that freezes the lower tiers before training."""
    stages = names.fresh("unfreeze_stages")
    function = names.fresh("unfreeze_for_epoch")
    by_tier: dict[str, list[str]] = {}
    for module, _, tier in tiered.modules:
        by_tier.setdefault(tier, []).append(module)
    heads = by_tier.get("heads", []) + by_tier.get("final", [])
    upper = by_tier.get("upper blocks", [])
    rest = by_tier.get("embeddings", []) + by_tier.get("lower blocks", [])
    lines = [
        "# Gradual unfreezing: every group is in the optimizer from the start; the lower tiers",
        "# start frozen and thaw top-down (heads, then the upper blocks, then everything).",
        f"{stages} = [",
        f"    [{', '.join(heads)}],",
        f"    [{', '.join(upper)}],",
        f"    [{', '.join(rest)}],",
        "]",
        f"def {function}(epoch, epochs_per_stage=2):",
        f"    for stage, modules in enumerate({stages}):",
        "        for module in modules:",
        "            module.requires_grad_(epoch >= stage * epochs_per_stage)",
        f"{function}(0)",
    ]
    return lines, function
