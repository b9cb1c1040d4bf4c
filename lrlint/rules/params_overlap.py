"""LR005: two parameter groups share parameters (torch raises at run time)."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import parts


class ParamsOverlap(Rule):
    code = "LR005"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        script = context.setup.script
        for optimizer in events.optimizers:
            groups = list(enumerate(optimizer.groups, 1))
            for i, first in groups:
                clashes = [(j, first.params & other.params) for j, other in groups[i:]]
                clashes = [(j, shared) for j, shared in clashes if shared]
                if not clashes:
                    continue
                shared_all = frozenset().union(*(shared for _, shared in clashes))
                skeleton = next(iter(shared_all)).skeleton
                model = events.model_names.get(id(skeleton), "model")
                others = ", ".join(str(j) for j, _ in clashes)
                noun = "group" if len(clashes) == 1 else "groups"
                yield Finding(
                    optimizer.node,
                    f"parameter group {i} (line {script.position(first.node)[0]}) shares "
                    f"{parts(shared_all, model)} ({len(shared_all)} parameter tensors) with "
                    f"{noun} {others}: torch raises 'some parameters appear in more than one "
                    "parameter group'; give each parameter to exactly one group",
                )
                break  # one finding per optimizer: the first clash is enough to fix
