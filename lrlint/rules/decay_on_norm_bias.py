"""LR006 (opt-in): weight decay on biases and normalisation weights."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis import catalog, values
from lrlint.analysis.names import keyword_arg, last_name, positional_arg
from lrlint.analysis.origins import Origin
from lrlint.analysis.params import (
    only_requires_grad,
    parameters_owner,
    summands,
    unwrapped,
    whole_model,
)
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
    found = _modules(script, params, site) if params is not None else None
    if found is None:
        return
    model, taken = found
    given = keyword_arg(call, "weight_decay")
    if given is not None:
        decay = values.number(script, given, site.scope, site.seq)
        source = ""
    else:
        decay = catalog.default_weight_decay(site.qualname)
        source = f" ({last_name(call.func)}'s default)"
    if decay is None or decay <= 0:
        return
    setup = context.setup
    if not setup.is_pretrained(model, site.scope, site.seq) and (
        setup.resolver.origin(model, site.scope, site.seq) != Origin.SCRATCH
    ):
        return  # a model, pretrained or new; not something we cannot tell is one
    if setup.freezes_model(call, model, taken) and not _only_partial_freezes(script):
        return  # frozen weights get no gradient and no decay: which 1-d ones train is unknown
    code = script.code(model).strip()
    what = [f"{code}.{part}" for part in taken] or [code]
    yield Finding(
        call,
        f"weight_decay={number(decay)}{source} also decays every bias and normalisation weight "
        f"of {' and '.join(what)}; put parameters with p.ndim <= 1 in a group with "
        "weight_decay=0.0",
    )


# transformers' methods that freeze one stack of a model and leave the rest, with its norms and
# biases, training (wav2vec2's CNN feature encoder, Whisper's encoder)
_PARTIAL_FREEZERS = frozenset(
    {"freeze_feature_encoder", "freeze_feature_extractor", "freeze_encoder"}
)


def _only_partial_freezes(script: Script) -> bool:
    return all(
        isinstance(freeze, cst.Call) and last_name(freeze.func) in _PARTIAL_FREEZERS
        for freeze in script.freezes
    )


def _modules(
    script: Script, params: cst.BaseExpression, site: CallSite, depth: int = 0
) -> tuple[cst.BaseExpression, tuple[str, ...]] | None:
    """The model whose parameters the call takes whole, and the parts of it taken (none: all
    of it): `model.parameters()`, `model.decoder.parameters()`, `list(...) + list(...)` or
    `itertools.chain(...)` of parts of one model, or a name bound to one of those."""
    if depth > 4:
        return None
    params = unwrapped(params)
    # `filter(lambda p: p.requires_grad, m.parameters())`, `[p for p in m.parameters() if
    # p.requires_grad]`: what trains of those parameters, all of it where nothing is frozen
    if (
        isinstance(params, cst.Call)
        and isinstance(params.func, cst.Name)
        and params.func.value == "filter"
        and len(params.args) == 2
        and only_requires_grad(params.args[0].value)
    ):
        return _modules(script, params.args[1].value, site, depth + 1)
    if (
        isinstance(params, cst.ListComp | cst.GeneratorExp)
        and params.for_in.inner_for_in is None
        and isinstance(params.elt, cst.Name)
        and isinstance(params.for_in.target, cst.Name)
        and params.elt.value == params.for_in.target.value
        and params.for_in.ifs
        and all(only_requires_grad(condition.test) for condition in params.for_in.ifs)
    ):
        return _modules(script, params.for_in.iter, site, depth + 1)
    if isinstance(params, cst.IfExp) and script.off_by_default(params.test):
        return _modules(script, params.orelse, site, depth + 1)
    if isinstance(params, cst.Name):
        binding = site.scope.reaching(params.value, site.seq)
        if binding is None or binding.value is None or binding.unpack is not None:
            return None
        if (id(site.scope), params.value) in script.grown_names:
            return None  # built up with append/extend
        return _modules(script, binding.value, site, depth + 1)
    operands = summands(params)
    if len(operands) == 1 and isinstance(params, cst.Call) and last_name(params.func) == "chain":
        operands = [arg.value for arg in params.args if arg.star == ""]
    if len(operands) > 1:
        found = [_modules(script, s, site, depth + 1) for s in operands]
        if any(f is None for f in found):
            return None
        roots = {script.code(f[0]).strip() for f in found if f is not None}
        if len(roots) != 1:
            return None
        taken = [f for f in found if f is not None]
        if any(not f[1] for f in taken):
            return taken[0][0], ()  # the whole model is among them
        return taken[0][0], tuple(part for f in taken for part in f[1])
    owner = parameters_owner(params)
    if owner is None:
        return None
    if whole_model(owner) is not None:
        return owner, ()
    if isinstance(owner, cst.Attribute):
        root = whole_model(owner.value)
        if root is not None:
            return root, (owner.attr.value,)
    return None
