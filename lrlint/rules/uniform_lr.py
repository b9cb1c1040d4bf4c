"""LR001: a pretrained model trained at one learning rate for every layer."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis import catalog, values
from lrlint.analysis.names import last_name
from lrlint.analysis.script import Scope, Script
from lrlint.analysis.uniform import TRAINING_ARGUMENTS_DEFAULT_LR, UniformSite, uniform_sites
from lrlint.rules.base import Finding, Rule, RuleContext

ADVICE = (
    "lower layers should move less: use discriminative learning rates "
    "(lrlint fix --strategy discriminative) or freeze the lower layers"
)


class UniformLR(Rule):
    code = "LR001"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        for uniform in uniform_sites(context.setup):
            yield Finding(uniform.site.node, _message(context, uniform))


def _message(context: RuleContext, uniform: UniformSite) -> str:
    script, site = context.setup.script, uniform.site
    if uniform.lr is not None and _passed_in(script, uniform.lr, site.scope):
        rate = script.code(uniform.lr).strip()  # the callers' rate, not the default
    elif uniform.lr is not None:
        rate = values.describe(script, uniform.lr, site.scope, site.seq)
    elif uniform.kind == "trainer":
        rate = (
            repr(TRAINING_ARGUMENTS_DEFAULT_LR) if uniform.lr_scope_known else "args.learning_rate"
        )
    else:
        rate = None
    if uniform.kind == "trainer":
        return (
            "Trainer builds its default optimizer: every layer of the pretrained model trains "
            f"at learning_rate={rate}; {ADVICE}, and pass the optimizer as "
            "optimizers=(optimizer, None)"
        )
    if rate is not None:
        at = f"lr={rate}"
    elif catalog.is_optimizer_factory(site.qualname):
        at = "the one lr its optimizer config names"
    elif any(arg.star == "**" for arg in site.node.args):
        at = "the one lr given through **keyword arguments"
    else:
        at = f"{last_name(site.node.func)}'s default lr"
    return f"every layer of the pretrained model trains at {at}; {ADVICE}"


def _passed_in(script: Script, lr: cst.BaseExpression, scope: Scope) -> bool:
    """`lr` is a parameter of the function that builds the optimizer and a caller passes it
    (`smart_optimizer(model, name, hyp["lr0"])`): its default is not the rate that trains."""
    if not isinstance(lr, cst.Name) or lr.value not in scope.params:
        return False
    return bool((scope.script or script).passed_for(scope, lr.value))
