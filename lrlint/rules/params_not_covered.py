"""LR004: explicit parameter groups that leave a trainable module out: it never trains."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis.setup_events import Param
from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import parts, skeleton_of


class ParamsNotCovered(Rule):
    code = "LR004"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        setup = context.setup
        if not setup.freezing_fully_seen:  # what is frozen (and so rightly left out) is unsure
            return
        events, script = setup.events, setup.script
        for optimizer in events.optimizers:
            skeleton = skeleton_of(optimizer)
            if not optimizer.explicit_groups or skeleton is None:
                continue
            covered = {p for g in [*optimizer.groups, *optimizer.added] for p in g.params}
            left_out = [
                Param(skeleton, name)
                for name in skeleton.names
                if Param(skeleton, name) not in covered
                and Param(skeleton, name) not in optimizer.frozen
            ]
            if not left_out:
                continue
            model = events.model_names.get(id(skeleton), "model")
            where = parts(left_out, model)
            count = len(left_out)
            tensors = "parameter tensor" if count == 1 else "parameter tensors"
            written = [g.node for g in [*optimizer.groups, *optimizer.added]]
            spent = sorted(
                {
                    script.code(n).strip()
                    for n in events.spent
                    if any(_inside(n, group) for group in written)
                }
            )
            why = (
                f" ({', '.join(f'`{name}`' for name in spent)} is a generator, spent by the "
                "first comprehension over it: make it a list)"
                if spent
                else ""
            )
            yield Finding(
                optimizer.node,
                f"parameter groups leave out {where} ({count} trainable {tensors}): "
                f"they will never be trained{why}; add a group for them or freeze them on purpose",
            )


def _inside(node: cst.CSTNode, tree: cst.CSTNode) -> bool:
    """`node` is `tree` or one of its descendants (a spent name read in this optimizer's
    groups, not in a loop elsewhere)."""
    return tree is node or any(_inside(node, child) for child in tree.children)
