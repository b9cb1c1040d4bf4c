"""LR002: a pretrained model fine-tuned on very little data with nothing frozen."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.rules.base import Finding, Rule, RuleContext

SMALL_DATA = 100  # the seed's table: below this, freeze the bottom 9 of 12 layers


class MissingFreeze(Rule):
    code = "LR002"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        setup = context.setup
        if not setup.trains or setup.freezes_model():
            return
        script = setup.script
        if context.num_examples is not None:
            size, source = context.num_examples, "as configured"
        elif sizes := [
            data for data in script.data_sizes if not (data.literal and script.reads_external_data)
        ]:
            largest = max(sizes, key=lambda data: data.count)
            size = largest.count
            source = f"from line {script.position(largest.node)[0]}"
        else:
            return  # the size is unknown: say nothing rather than guess
        if size >= SMALL_DATA:
            return
        for site in setup.resolver.pretrained_loads:
            yield Finding(
                site.node,
                f"the pretrained model is fine-tuned on {size} labelled examples ({source}) and "
                f"nothing is frozen; with fewer than {SMALL_DATA} examples freeze the embeddings "
                "and the lower layers (the bottom 9 of 12 blocks) and train only the top",
            )
