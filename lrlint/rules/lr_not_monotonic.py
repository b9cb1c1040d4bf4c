"""LR003: learning rates that fall as depth rises (a lower layer faster than one above it, or a
new head slower than the backbone)."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.analysis.setup_events import Group
from lrlint.depth import Tier
from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import known_number, number, parts, skeleton_of


class LrNotMonotonic(Rule):
    code = "LR003"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        script = context.setup.script
        for optimizer in events.optimizers:
            skeleton = skeleton_of(optimizer)
            if skeleton is None or not skeleton.pretrained or not optimizer.explicit_groups:
                continue
            groups = [g for g in optimizer.groups if g.params and known_number(g.options.get("lr"))]
            clash = _first_clash(groups, skeleton.depth)
            if clash is None:
                continue
            lower, upper = clash
            model = events.model_names.get(id(skeleton), "model")
            head = all(skeleton.depth(p.name).tier == Tier.HEAD for p in upper.params)
            what = (
                "the new head learns slower than" if head else "a deeper group learns slower than"
            )
            yield Finding(
                optimizer.node,
                f"{what} the layers below it: {parts(upper.params, model)} (line "
                f"{script.position(upper.node)[0]}) at lr={number(upper.options['lr'])} < "
                f"{parts(lower.params, model)} (line {script.position(lower.node)[0]}) at "
                f"lr={number(lower.options['lr'])}; rates should rise with depth, the new "
                "head highest",
            )


def _first_clash(groups: list[Group], depth: object) -> tuple[Group, Group] | None:
    """A pair (lower, upper) where all of `lower` sits below all of `upper` while `lower` has
    the higher rate. Groups whose depths interleave (a weights/biases split across the whole
    model) are not ordered by depth, so they cannot break the order."""
    spans = []
    for group in groups:
        depths = [depth(p.name) for p in group.params]  # type: ignore[operator]
        spans.append((min(depths), max(depths), group))
    for _, low_max, lower in spans:
        for up_min, _, upper in spans:
            if low_max < up_min and lower.options["lr"] > upper.options["lr"]:
                return lower, upper
    return None
