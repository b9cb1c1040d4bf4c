"""LR006 (opt-in): weight decay on biases and normalisation weights."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import known_number, number, parts


class DecayOnNormBias(Rule):
    code = "LR006"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        reported: set[int] = set()
        for optimizer in events.optimizers:
            for group in optimizer.groups:
                decay = group.options.get("weight_decay")
                if not known_number(decay) or decay <= 0:
                    continue
                # frozen parameters get no gradient, so torch never decays them
                flat = [
                    p
                    for p in group.params
                    if p.skeleton.is_1d(p.name) and p not in optimizer.frozen
                ]
                node = group.node if optimizer.explicit_groups else optimizer.node
                if not flat or id(node) in reported:
                    continue
                reported.add(id(node))  # a group written in a loop is reported once
                model = events.model_names.get(id(flat[0].skeleton), "model")
                if len(flat) == 1:
                    what = "bias or normalisation weight"
                else:
                    what = "biases and normalisation weights"
                yield Finding(
                    node,
                    f"weight_decay={number(decay)} also decays {len(flat)} {what} (in "
                    f"{parts(flat, model, limit=3)}); put parameters with p.ndim <= 1 in a "
                    "group with weight_decay=0.0",
                )
