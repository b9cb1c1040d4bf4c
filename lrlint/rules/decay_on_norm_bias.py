"""LR006 (opt-in): weight decay on biases and normalisation weights."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from lrlint.analysis import catalog, name_filters, values
from lrlint.analysis.names import checkpoint_arg, keyword_arg, last_name, positional_arg
from lrlint.analysis.origins import Origin
from lrlint.analysis.params import (
    dict_items,
    only_requires_grad,
    parameters_owner,
    summands,
    unwrapped,
    whole_model,
)
from lrlint.analysis.script import CallSite, ClassInfo, Scope, Script
from lrlint.analysis.training import TrainingSetup, frozen_expression
from lrlint.depth import FAMILIES, family_from_name
from lrlint.depth.flat import flat_names
from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import known_number, number, parts


class DecayOnNormBias(Rule):
    code = "LR006"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        reported: set[int] = set()
        script = context.setup.script
        for optimizer in events.optimizers:
            if id(optimizer.node) in reported:
                continue  # built again in a loop
            # frozen parameters get no gradient, so torch never decays them
            decaying = [
                (group, decay, flat)
                for group in optimizer.groups
                for decay in [group.options.get("weight_decay")]
                if known_number(decay) and decay > 0
                for flat in [
                    [
                        p
                        for p in group.params
                        if p.skeleton.is_1d(p.name) and p not in optimizer.frozen
                    ]
                ]
                if flat
            ]
            if not decaying:
                continue
            reported.add(id(optimizer.node))
            # at the optimizer call, as the other group rules; the groups' lines in the message
            flat = [p for _, _, group_flat in decaying for p in group_flat]
            model = events.model_names.get(id(flat[0].skeleton), "model")
            what = (
                "bias or normalisation weight"
                if len(flat) == 1
                else ("biases and normalisation weights")
            )
            where = ""
            if optimizer.explicit_groups:
                lines = sorted({script.position(group.node)[0] for group, _, _ in decaying})
                where = f" in the group{'s' if len(lines) > 1 else ''} at line" + (
                    f"s {', '.join(map(str, lines))}" if len(lines) > 1 else f" {lines[0]}"
                )
            yield Finding(
                optimizer.node,
                f"weight_decay={number(decaying[0][1])}{where} also decays {len(flat)} {what} "
                f"(in {parts(flat, model, limit=3)}); put parameters with p.ndim <= 1 in a "
                "group with weight_decay=0.0",
            )
        built = {id(optimizer.node) for optimizer in events.optimizers}
        for site in context.setup.optimizer_calls:
            if id(site.node) not in built:
                found = list(_whole_model(context, site)) or list(_written_groups(context, site))
                yield from found[:1]


def _whole_model(context: RuleContext, site: CallSite) -> Iterator[Finding]:
    """An optimizer over all of a model's parameters (`model.parameters()`) whose layout the
    interpreter could not build: every torch model with a norm or a bias has 1-d parameters,
    so a weight decay above 0 decays them."""
    script, call = context.setup.script, site.node
    params = script.optimizer_params(call, site.qualname)
    found = _modules(script, params, site) if params is not None else None
    if found is None:
        return
    model, taken = found
    given = keyword_arg(call, "weight_decay")
    if given is not None:
        decay = values.number(script, given, site.scope, site.seq)
        source = ""
    else:
        qualname, name = site.qualname, last_name(call.func)
        factory = catalog.is_optimizer_factory(qualname) and positional_arg(call, 0)
        if factory:  # `instantiate_torch_optimizer("AdamW", params)`: torch's AdamW
            named = values.text(script, factory, site.scope, site.seq)
            qualname = catalog.named_optimizer(qualname, named)
            name = named
        decay = catalog.default_weight_decay(qualname)
        source = f" ({name}'s default)"
    if decay is None or decay <= 0:
        return
    setup = context.setup
    if not _is_model(setup, model, site):
        return
    code = script.code(model).strip()
    what = [f"{code}.{part}" for part in taken] or [code]
    if _may_be_frozen(setup, what):
        return
    yield Finding(
        call,
        f"weight_decay={number(decay)}{source} also decays every bias and normalisation weight "
        f"of {' and '.join(what)}; put parameters with p.ndim <= 1 in a group with "
        "weight_decay=0.0",
    )


def _written_groups(context: RuleContext, site: CallSite) -> Iterator[Finding]:
    """Explicit groups over a model whose layout the interpreter could not build (its
    architecture is named at run time): a decayed group whose name test keeps biases or norm
    weights of every family the model can be (of its family, where the script names it), as a
    `no_decay` list without "LayerNorm.weight", or matched by exact name, does."""
    setup, call = context.setup, site.node
    script = setup.script
    params = script.optimizer_params(call, site.qualname)
    written = _group_dicts(script, params, site) if params is not None else None
    if written is None or not written.groups:
        return
    scope, seq = written.scope, written.seq
    given = keyword_arg(call, "weight_decay")
    if given is not None:
        default = values.number(script, given, site.scope, site.seq)
    else:
        default = catalog.default_weight_decay(site.qualname)
    for node, items in written.groups:
        decay = items.get("weight_decay")
        value = default
        if decay is not None:
            value = values.number(script, *written.at_call(decay, site))
        group = name_filters.kept(script, items["params"], scope, seq)
        if value is None or value <= 0 or group is None:
            continue
        model = written.at_call(group.model, site)[0]
        if not _is_model(setup, model, site):
            continue
        if _may_be_frozen(setup, [script.code(model).strip()]):
            return
        family = _family(setup, model, site)
        decayed = [
            next((n for n in flat_names(f) if group.keeps(n)), None)
            for f in ([family] if family else FAMILIES)
        ]
        if all(decayed):
            # an example in the model's family, or in the first one (bert): every family
            # the model can be has one
            of = f"in {family}: {decayed[0]}" if family else f"whatever the model: {decayed[0]}"
            yield Finding(
                call,
                f"weight_decay={number(value)} in the group at line {script.position(node)[0]} "
                f"also decays biases or normalisation weights its name test lets through "
                f"({of}); put parameters with p.ndim <= 1 in a group with weight_decay=0.0",
            )
            return


def _is_model(setup: TrainingSetup, model: cst.BaseExpression, site: CallSite) -> bool:
    """A model, pretrained or new; not something we cannot tell is one."""
    return setup.is_pretrained(model, site.scope, site.seq) or (
        setup.origin(model, site.scope, site.seq) == Origin.SCRATCH
    )


def _may_be_frozen(setup: TrainingSetup, taken: list[str]) -> bool:
    """Frozen weights get no gradient and no decay: where a freeze may reach all of what the
    optimizer takes (the model or parts `taken`), which 1-d ones train is unknown; a freeze of
    some blocks, or of a part it does not take (SAM's image encoder beside its mask decoder),
    leaves them training."""
    script = setup.script
    if setup.freezes_elsewhere:
        return True
    reached = any(_may_freeze_all_of(script, code) for code in taken)
    return reached and not _only_partial_freezes(script)


def _may_freeze_all_of(script: Script, code: str) -> bool:
    """Whether a freeze of the script may reach all of the model or part `code` (PEFT, a
    helper, it or what holds it); freezing some of its blocks leaves the rest training."""
    for freeze in script.freezes:
        frozen = frozen_expression(script, freeze)
        if frozen is None or frozen == code or code.startswith(frozen + "."):
            return True
        # `self.encoder` frozen in the model's class is `model.encoder` outside it (a method
        # of its own, `self.freeze(...)`, is followed into its body: its freezes are listed)
        if isinstance(freeze, cst.Call) and last_name(freeze.func) != "requires_grad_":
            continue
        inside = frozen.split(".", 1)
        outside = code.split(".", 1)
        if inside[0] == "self" and (len(inside) == 1 or outside[1:] == inside[1:]):
            return True
        if inside[0] == "self" and len(outside) == 2 and outside[1].startswith(inside[1] + "."):
            return True
    return False


@dataclass(frozen=True)
class _Written:
    """Group dicts as written, in the scope they are written in: the optimizer's own, or a
    helper's that returns them (`get_optimizer_params(model, lr, weight_decay=CFG.wd)`),
    with what the call passes for the helper's parameters."""

    groups: list[tuple[cst.CSTNode, dict[str, cst.BaseExpression]]]
    scope: Scope
    seq: float
    given: dict[str, cst.BaseExpression]

    def at_call(
        self, expr: cst.BaseExpression, site: CallSite
    ) -> tuple[cst.BaseExpression, Scope, float]:
        """`expr` of the groups' scope as the optimizer's call sees it: a helper's parameter
        (`model.model`, `weight_decay`) is what the call passes."""
        root = expr
        while isinstance(root, cst.Attribute):
            root = root.value
        if not isinstance(root, cst.Name) or root.value not in self.given:
            return expr, self.scope, self.seq
        passed = self.given[root.value]
        if root is expr:
            return passed, site.scope, site.seq
        return expr.deep_replace(root, passed), site.scope, site.seq  # type: ignore[return-value]


def _group_dicts(script: Script, params: cst.BaseExpression, site: CallSite) -> _Written | None:
    """The group dicts written in the list the optimizer takes (directly, by name, or as a
    local helper returns them; groups appended later are more groups, not fewer)."""
    scope, seq, given = site.scope, float(site.seq), {}
    if isinstance(params, cst.Name):
        binding = site.scope.reaching(params.value, site.seq)
        params = binding.value if binding is not None and binding.unpack is None else None
    if isinstance(params, cst.Call) and isinstance(params.func, cst.Name):
        helper = [f for f in script.functions.get(params.func.value, ()) if f.owner is None]
        returned = helper[-1].returns if helper else []
        if len(returned) != 1:
            return None
        scope, seq = helper[-1], float("inf")
        for index, name in enumerate(scope.params):
            passed = keyword_arg(params, name) or positional_arg(params, index)
            if passed is not None:
                given[name] = passed
        params = returned[0]
        if isinstance(params, cst.Name):
            binding = scope.reaching(params.value, seq)
            params = binding.value if binding is not None and binding.unpack is None else None
    if not isinstance(params, cst.List):
        return None
    found = []
    for element in params.elements:
        items = dict_items(element.value)
        if items is None or "params" not in items:
            return None
        found.append((element.value, items))
    return _Written(found, scope, seq, given)


def _family(setup: TrainingSetup, model: cst.BaseExpression, site: CallSite) -> str | None:
    """The family of the model's architecture where the script names it: a literal or default
    checkpoint, or a family class (`GPT2Model.from_pretrained(...)`)."""
    source = setup.resolver.resolve(model, site.scope, site.seq).source
    if isinstance(source, ClassInfo) and isinstance(model, cst.Attribute):
        # `model.model` of a wrapper whose `self.model = GPT2Model.from_pretrained(...)` (or
        # `GPT2Model(config)` in the other branch): the family its every assignment names
        assigned = source.self_attrs.get(model.attr.value, [])
        found = {_family_of_call(setup, value) for value, _, _ in assigned}
        return found.pop() if len(found) == 1 else None
    return _family_of_call(setup, source) if isinstance(source, cst.Call) else None


def _family_of_call(setup: TrainingSetup, source: cst.BaseExpression) -> str | None:
    if not isinstance(source, cst.Call):
        return None
    script = setup.script
    func = source.func
    if isinstance(func, cst.Attribute) and func.attr.value == "from_pretrained":
        family = family_from_name(last_name(func.value) or "")
        if family is not None:
            return family
    if isinstance(func, cst.Name) and (script.imports.qualify(func) or "").startswith(
        "transformers."
    ):
        return family_from_name(func.value)  # `GPT2Model(config)`
    where = script.call_site(source)
    checkpoint = checkpoint_arg(source)
    if where is None or checkpoint is None:
        return None
    text = values.text(script, checkpoint, where.scope, where.seq)
    return family_from_name(text) if text is not None else None


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
    # `m.decoder`, `m.prompt_encoder.text_encoder_head`: a part of the whole model `m`
    part: list[str] = []
    while isinstance(owner, cst.Attribute):
        part.insert(0, owner.attr.value)
        owner = owner.value
        if whole_model(owner) is not None:
            return owner, (".".join(part),)
    return None
