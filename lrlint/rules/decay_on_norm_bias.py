"""LR006 (opt-in): weight decay on biases and normalisation weights."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis import catalog, values
from lrlint.analysis.names import keyword_arg, last_name, positional_arg
from lrlint.analysis.origins import Origin
from lrlint.analysis.params import whole_model
from lrlint.analysis.script import CallSite, Script
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
        built = {id(optimizer.node) for optimizer in events.optimizers}
        for site in context.setup.optimizer_calls:
            if id(site.node) not in built:
                yield from _whole_model(context, site)


def _whole_model(context: RuleContext, site: CallSite) -> Iterator[Finding]:
    """An optimizer over all of a model's parameters (`model.parameters()`) whose layout the
    interpreter could not build: every torch model with a norm or a bias has 1-d parameters,
    so a weight decay above 0 decays them."""
    script, call = context.setup.script, site.node
    params = keyword_arg(call, "params") or positional_arg(call, 0)
    if params is None or not _all_parameters(script, params, site):
        return
    given = keyword_arg(call, "weight_decay")
    if given is not None:
        decay = values.number(script, given, site.scope, site.seq)
        source = ""
    else:
        decay = catalog.default_weight_decay(site.qualname)
        source = f" ({last_name(call.func)}'s default)"
    if decay is None or decay <= 0:
        return
    model = params.func.value if isinstance(params, cst.Call) else params
    setup = context.setup
    if not setup.is_pretrained(model, site.scope, site.seq) and (
        setup.resolver.origin(model, site.scope, site.seq) != Origin.SCRATCH
    ):
        return  # a model, pretrained or new; not something we cannot tell is one
    if setup.freezes_model(call):
        return  # frozen weights get no gradient and no decay: which 1-d ones train is unknown
    yield Finding(
        call,
        f"weight_decay={number(decay)}{source} also decays every bias and normalisation weight "
        f"of {script.code(model).strip()}; put parameters with p.ndim <= 1 in a group with "
        "weight_decay=0.0",
    )


def _all_parameters(script: Script, params: cst.BaseExpression, site: CallSite) -> bool:
    """`model.parameters()` (the whole model, one group), written in the call."""
    return (
        isinstance(params, cst.Call)
        and isinstance(params.func, cst.Attribute)
        and params.func.attr.value == "parameters"
        and not params.args
        and whole_model(params.func.value) is not None
    )
