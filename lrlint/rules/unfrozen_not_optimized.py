"""LR008: layers unfrozen after the optimizer was built without them: they never train."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import parts


class UnfrozenNotOptimized(Rule):
    code = "LR008"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        reported: set[int] = set()
        for unfreeze in events.unfreezes:
            if id(unfreeze.node) in reported or not unfreeze.optimizers:
                continue
            later = events.optimizers[len(unfreeze.optimizers) :]
            optimizer = unfreeze.optimizers[-1]
            held = {p for o in (optimizer, *later) for g in [*o.groups, *o.added] for p in g.params}
            missing = unfreeze.params - held
            if not missing:
                continue
            reported.add(id(unfreeze.node))
            skeleton = next(iter(missing)).skeleton
            model = events.model_names.get(id(skeleton), "model")
            yield Finding(
                unfreeze.node,
                f"{parts(missing, model)} unfrozen here but not in the optimizer, which was "
                "built from the parameters trainable then: they will never be trained; build "
                "the optimizer over all parameters from the start or call "
                "optimizer.add_param_group(...) for them",
            )
