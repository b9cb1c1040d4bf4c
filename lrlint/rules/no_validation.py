"""LR009 (opt-in): a fine-tuning script that never evaluates on held-out data."""

from __future__ import annotations

from collections.abc import Iterator

from lrlint.rules.base import Finding, Rule, RuleContext


class NoValidation(Rule):
    code = "LR009"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        setup = context.setup
        script = setup.script
        if script.has_evaluation or not setup.trains or not setup.resolver.loads_pretrained:
            return
        message = (
            "this fine-tuning never evaluates on held-out data, so overfitting goes unseen: "
            "evaluate on a validation split (model.eval() under torch.no_grad(), eval_dataset=, "
            "or validation_step)"
        )
        for loop in script.training_loops:
            yield Finding(loop, message)
        for site in setup.train_calls:
            yield Finding(site.node, message)
