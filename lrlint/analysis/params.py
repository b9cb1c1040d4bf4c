"""What an optimizer's `params` argument is: all of one model at one rate, or something else.

Only the shapes that certainly put the whole model at a single rate are `Uniform`; anything we
cannot read is `None`, and the rules stay quiet on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lrlint.analysis import values
from lrlint.analysis.buckets import filled_model
from lrlint.analysis.names import dotted, keyword_arg, last_name, positional_arg
from lrlint.analysis.script import Scope, Script
from lrlint.analysis.values import strings

_PARAM_METHODS = frozenset({"parameters", "named_parameters"})
_SEQUENCE_CALLS = frozenset({"list", "tuple", "iter"})
# Attributes that are the same module, not a part of it (DDP, torch.compile, Lightning wrappers).
_TRANSPARENT_ATTRS = frozenset({"module", "_orig_mod"})
_ENDLESS = float("inf")  # what a function returns: its names as bound at its end


@dataclass(frozen=True)
class Uniform:
    """Every parameter of `model` in the optimizer at the optimizer's one rate."""

    model: cst.BaseExpression
    scope: Scope
    seq: float
    # only these parts of `model` (`list(m.encoder.parameters()) + list(m.decoder.parameters())`)
    parts: tuple[str, ...] = ()
    # other models trained whole beside it, the pretrained one to be picked by the caller:
    # `chain(policy.parameters(), value.parameters())`, `self._policy_model` of a recipe's
    # `chain(self._policy_model.parameters(), self._value_model.parameters())`
    alternatives: tuple[cst.BaseExpression, ...] = ()


def uniform_params(
    script: Script, expr: cst.BaseExpression, scope: Scope, seq: float, default_lr: str | None
) -> Uniform | None:
    return _Reader(script, default_lr).read(expr, scope, seq, depth=0)


# Parts that hold a pretrained model's body, as opposed to the heads and adapters put on it.
_BODY_WORDS = (
    "encoder",
    "decoder",
    "backbone",
    "embed",
    "bert",
    "transformer",
    "model",
    "layer",
    "block",
    "unet",
    "visual",
    "vision",
    "features",
    "body",
    "stem",
    "stage",
    "trunk",
)
_HEAD_WORDS = ("head", "classifier", "pooler", "prompt", "adapter", "lora", "prefix", "proj")


def is_body(part: str) -> bool:
    lowered = part.lower()
    return any(w in lowered for w in _BODY_WORDS) and not any(w in lowered for w in _HEAD_WORDS)


def unwrapped(expr: cst.BaseExpression) -> cst.BaseExpression:
    """`expr` without the `list(...)`, `tuple(...)` or `iter(...)` around it."""
    while isinstance(expr, cst.Call) and last_name(expr.func) in _SEQUENCE_CALLS:
        if len(expr.args) != 1:
            break
        expr = expr.args[0].value
    return expr


def parameters_owner(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """`m.encoder` of `m.encoder.parameters()`, also inside `list(...)`; else None."""
    expr = unwrapped(expr)
    if (
        isinstance(expr, cst.Call)
        and isinstance(expr.func, cst.Attribute)
        and expr.func.attr.value == "parameters"
        and not expr.args
    ):
        return expr.func.value
    return None


def summands(expr: cst.BaseExpression) -> list[cst.BaseExpression]:
    if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
        return summands(expr.left) + summands(expr.right)
    return [expr]


def whole_model(expr: cst.BaseExpression) -> cst.BaseExpression | None:
    """The model behind `model.parameters()`-like receivers, when they name a whole model.

    `model`, `self`, `self.model`, `model.module` are whole; `model.classifier` is a part (an
    optimizer over a part is a deliberate choice, e.g. training only the head).
    """
    node = expr
    while isinstance(node, cst.Attribute) and node.attr.value in _TRANSPARENT_ATTRS:
        node = node.value
    if isinstance(node, cst.Name):
        return expr
    if isinstance(node, cst.Attribute) and dotted(node.value) == "self":
        return expr
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name):
        # `exp.model`, `trainer.net` of an object that holds the model (an experiment, a
        # recipe); `model.classifier`, `model.bert` stay parts
        name = node.attr.value.lower()
        if name in {"model", "net", "network"} or name.endswith("_model"):
            return expr
    return None


# a helper's parameter -> what its caller passes: the expression, its scope and order there
Given = dict[str, tuple[cst.BaseExpression, Scope, float]]


class _Reader:
    def __init__(self, script: Script, default_lr: str | None, given: Given | None = None) -> None:
        self.script = script
        self.default_lr = default_lr
        self.given = given or {}

    def read(
        self, expr: cst.BaseExpression, scope: Scope, seq: float, depth: int
    ) -> Uniform | None:
        if depth > 8:
            return None
        if isinstance(expr, cst.Call):
            return self._call(expr, scope, seq, depth)
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
            return self._comprehension(expr, scope, seq, depth)
        if isinstance(expr, cst.Name):
            return self._name(expr.value, scope, seq, depth)
        if isinstance(expr, (cst.List, cst.Tuple)):
            return self._groups([element.value for element in expr.elements], scope, seq, depth)
        if isinstance(expr, cst.Dict):
            return self._groups([expr], scope, seq, depth)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return self._parts(summands(expr), scope, seq, depth)
        if isinstance(expr, cst.Subscript):  # `g[2]` of lists filled in a loop over a model
            return self._filled(expr, scope, seq)
        if isinstance(expr, cst.IfExp) and self.script.off_by_default(expr.test):
            # `chain(unet.parameters(), te.parameters()) if args.train_text_encoder else ...`
            return self.read(expr.orelse, scope, seq, depth + 1)
        return None

    def _parts(
        self, operands: list[cst.BaseExpression], scope: Scope, seq: float, depth: int
    ) -> Uniform | None:
        """`list(m.image_encoder.parameters()) + list(m.mask_decoder.parameters())` (or
        `itertools.chain` of them): several parts of one model in one group at one rate. Uniform
        over that model when a part is its body (an encoder, a backbone, its blocks), not when
        every part is a head or an adapter: training only those is the usual, deliberate probe."""
        roots: set[str] = set()
        parts: list[str] = []
        body = False
        model: cst.BaseExpression | None = None
        owners = [parameters_owner(operand) for operand in operands]
        names = [o for o in owners if isinstance(o, cst.Name)]
        if len(names) == len(operands) > 1 and len({n.value for n in names}) == len(names):
            # several whole models at one rate (a policy and its value model)
            return Uniform(names[0], scope, seq, parts=("*",), alternatives=tuple(names[1:]))
        for owner in owners:
            if owner is None:
                return None
            if isinstance(owner, cst.Name):  # the whole model, beside a part of it or a head
                roots.add(owner.value)
                body, model = True, owner
                continue
            if not isinstance(owner, cst.Attribute):
                return None
            root = whole_model(owner.value)
            if root is None:
                return None
            roots.add(self.script.code(root).strip())
            model = root
            parts.append(owner.attr.value)
            body = body or is_body(owner.attr.value)
        if len(operands) < 2 or len(roots) != 1 or model is None:
            return None
        # `self.actor`, `self.critic` of an object that is no model: each may be a whole model
        whole = (
            tuple(o for o in owners if isinstance(o, cst.Attribute)) if roots == {"self"} else ()
        )
        if not body:  # heads or adapters of one model; or several models of a `self`
            if not whole:
                return None
            return Uniform(whole[0], scope, seq, parts=("*",), alternatives=whole[1:])
        return Uniform(model, scope, seq, parts=tuple(parts) or ("*",), alternatives=whole)

    def _call(self, call: cst.Call, scope: Scope, seq: float, depth: int) -> Uniform | None:
        name = last_name(call.func)
        if name in _PARAM_METHODS and isinstance(call.func, cst.Attribute) and not call.args:
            model = whole_model(call.func.value)
            return Uniform(model, scope, seq) if model is not None else None
        builtin = call.func.value if isinstance(call.func, cst.Name) else None
        if builtin in {"list", "tuple", "iter"} and len(call.args) == 1:
            return self.read(call.args[0].value, scope, seq, depth + 1)
        if name == "chain" and call.args and all(arg.star == "" for arg in call.args):
            return self._parts([arg.value for arg in call.args], scope, seq, depth)
        if builtin == "filter" and len(call.args) == 2 and only_requires_grad(call.args[0].value):
            return self.read(call.args[1].value, scope, seq, depth + 1)
        return self._helper(call, scope, seq, depth)

    def _helper(self, call: cst.Call, scope: Scope, seq: float, depth: int) -> Uniform | None:
        """A function of this module or of the project that returns the groups of the model
        it is given (`get_optimizer_grouped_parameters(model, args.weight_decay)`): uniform
        over the model the call passes, when every return is uniform over that parameter."""
        function = self._function(call)
        if function is None or not function.returns or function.owner is not None:
            return None
        script = function.script or self.script
        given: Given = {}
        for index, name in enumerate(function.params):
            value = keyword_arg(call, name) or positional_arg(call, index)
            if value is not None and script is self.script:
                given[name] = (value, scope, seq)
        reader = _Reader(script, None, given)
        parameter: str | None = None
        for value in function.returns:
            found = reader.read(value, function, _ENDLESS, depth + 1)
            if found is None or not isinstance(found.model, cst.Name):
                return None
            name = found.model.value
            if name not in function.params or parameter not in (None, name):
                return None
            parameter = name
        assert parameter is not None
        index = function.params.index(parameter)
        given = keyword_arg(call, parameter) or positional_arg(call, index)
        model = whole_model(given) if given is not None else None
        return Uniform(model, scope, seq) if model is not None else None

    def _function(self, call: cst.Call) -> Scope | None:
        if isinstance(call.func, cst.Name):
            local = [f for f in self.script.functions.get(call.func.value, ()) if f.owner is None]
            if local:
                return local[-1]
        qualname = self.script.imports.qualify(call.func)
        found = self.script.symbol(qualname) if qualname is not None else None
        return found.function if found is not None else None

    def _comprehension(
        self, expr: cst.ListComp | cst.GeneratorExp, scope: Scope, seq: float, depth: int
    ) -> Uniform | None:
        loop = expr.for_in
        if loop.inner_for_in is not None:
            return None
        if (  # `[g for g in groups if g["params"]]`: the same groups, the empty ones dropped
            isinstance(expr.elt, cst.Name)
            and isinstance(loop.target, cst.Name)
            and expr.elt.value == loop.target.value
            and loop.ifs
            and all(_drops_empty_group(c.test, loop.target.value) for c in loop.ifs)
        ):
            return self.read(loop.iter, scope, seq, depth + 1)
        if not all(_keeps_the_model(c.test) for c in loop.ifs):
            return None
        return self._source(loop.iter, scope, seq, depth)

    def _source(
        self, source: cst.BaseExpression, scope: Scope, seq: float, depth: int
    ) -> Uniform | None:
        """What a comprehension iterates: `model.named_parameters()`, or a name bound to it
        (`param_optimizer = list(model.named_parameters())`)."""
        if (
            isinstance(source, cst.Call)
            and last_name(source.func) in _PARAM_METHODS
            and isinstance(source.func, cst.Attribute)
        ):
            model = whole_model(source.func.value)
            return Uniform(model, scope, seq) if model is not None else None
        if isinstance(source, cst.Name):
            return self.read(source, scope, seq, depth + 1)
        return None

    def _name(self, name: str, scope: Scope, seq: float, depth: int) -> Uniform | None:
        binding = scope.reaching(name, seq)
        if (id(scope), name) in self.script.grown_names and _grown_after(
            self.script, name, scope, binding.seq if binding is not None else -1, seq
        ):
            copied = _non_empty_copy(name, scope)
            if copied is None:  # built up with append/extend: only the loop of `buckets`
                return self._filled(cst.Name(name), scope, seq)
            return self.read(copied, scope, seq, depth + 1)
        if binding is None or binding.value is None or binding.unpack is not None:
            return None
        return self.read(binding.value, scope, binding.seq, depth + 1)

    def _filled(self, expr: cst.BaseExpression, scope: Scope, seq: float) -> Uniform | None:
        model = filled_model(self.script, expr, scope, self.default_lr)
        whole = whole_model(model) if model is not None else None
        return Uniform(whole, scope, seq) if whole is not None else None

    def _groups(
        self, elements: list[cst.BaseExpression], scope: Scope, seq: float, depth: int
    ) -> Uniform | None:
        """A list of group dicts at one rate, all drawn from one model's own parameters (the
        classic `no_decay` split). Groups over sub-modules belong to the group analysis."""
        if not elements:
            return None
        rates: set[str | None] = set()
        models: list[Uniform] = []
        for element in elements:
            group = dict_items(element)
            if group is None or "params" not in group:
                return None
            if _adapters_only(self.script, group["params"], scope, seq):
                continue  # LoRA weights the script may add: new parameters, not the model's
            rates.add(self._rate(group.get("lr"), scope, seq))
            source = self._group_source(group["params"], scope, seq)
            if source is None:
                return None
            models.append(source)
        if len(rates) != 1 or not models:
            return None
        codes = [self.script.code(m.model).strip() for m in models]
        if all(code == codes[0] for code in codes):
            return models[0]
        # `model.model`'s groups beside `model`'s (its head, by name): all of `model`
        root = codes[0].split(".")[0]
        whole = [m for m, code in zip(models, codes, strict=True) if code == root]
        if whole and all(code.split(".")[0] == root for code in codes):
            return whole[0]
        return None

    def _rate(self, rate: cst.BaseExpression | None, scope: Scope, seq: float) -> str | None:
        """A group's rate: its value when the script makes it plain (`CFG.encoder_lr` passed
        as a helper's `encoder_lr`), else its code."""
        if rate is None:
            return self.default_lr
        where, when = scope, seq
        if isinstance(rate, cst.Name) and rate.value in self.given:
            rate, where, when = self.given[rate.value]
        value = values.number(self.script, rate, where, when)
        return repr(value) if value is not None else self.script.code(rate).strip()

    def _group_source(self, expr: cst.BaseExpression, scope: Scope, seq: float) -> Uniform | None:
        """The model whose full parameter list a group filters (by name, for weight decay)."""
        if isinstance(expr, (cst.ListComp, cst.GeneratorExp)):
            return self._source(expr.for_in.iter, scope, seq, depth=1)
        return self.read(expr, scope, seq, depth=1)


def dict_items(node: cst.BaseExpression) -> dict[str, cst.BaseExpression] | None:
    """`{"params": ..., "lr": ...}` or `dict(params=..., lr=...)` as a mapping of literal keys."""
    items: dict[str, cst.BaseExpression] = {}
    if isinstance(node, cst.Dict):
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                return None
            key = element.key
            if not isinstance(key, cst.SimpleString):
                return None
            items[str(key.evaluated_value)] = element.value
        return items
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == "dict":
        for arg in node.args:
            if arg.keyword is None:
                return None
            items[arg.keyword.value] = arg.value
        return items
    return None


def _grown_after(script: Script, name: str, scope: Scope, bound: float, seq: float) -> bool:
    """Whether `name` may be grown (`append`, `+=`) between its binding at `bound` and `seq`:
    not when it is bound again after its growth (`groups = model.parameters()` after a loop
    that appended layer groups to it)."""
    if (id(scope), name) in script.augmented_names:
        return True
    return any(bound < site.seq < seq for site in script.growth(name, scope))


def _non_empty_copy(name: str, scope: Scope) -> cst.BaseExpression | None:
    """`kept = []; for g in groups: if g["params"]: kept.append(g)`: the groups `kept` copies,
    the empty ones dropped, when that loop is the only thing that grows `kept`."""
    function = scope.node
    if not isinstance(function, cst.FunctionDef) or not isinstance(
        function.body, cst.IndentedBlock
    ):
        return None
    found = None
    for statement in function.body.body:
        if not isinstance(statement, cst.For) or not isinstance(statement.target, cst.Name):
            continue
        body = statement.body.body
        test = body[0] if len(body) == 1 and isinstance(body[0], cst.If) else None
        inner = test.body.body if test is not None and test.orelse is None else ()
        line = inner[0] if len(inner) == 1 else None
        call = line.body[0].value if isinstance(line, cst.SimpleStatementLine) else None
        if (
            test is not None
            and _drops_empty_group(test.test, statement.target.value)
            and isinstance(call, cst.Call)
            and dotted(call.func) == f"{name}.append"
            and len(call.args) == 1
            and dotted(call.args[0].value) == statement.target.value
        ):
            if found is not None:
                return None
            found = statement.iter
    return found


def _adapters_only(script: Script, params: cst.BaseExpression, scope: Scope, seq: float) -> bool:
    """A group that takes only parameters named as LoRA's (`if any(nd in n for nd in
    lora_names)`, `if "lora_" in n`): empty until the script adds adapters, and never a part
    of the pretrained model."""
    if not isinstance(params, (cst.ListComp, cst.GeneratorExp)):
        return False
    for condition in params.for_in.ifs:
        todo = [condition.test]
        while todo:
            test = todo.pop()
            if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
                todo += [test.left, test.right]
            elif _names_lora(script, test, scope, seq):
                return True
    return False


def _names_lora(script: Script, test: cst.BaseExpression, scope: Scope, seq: float) -> bool:
    names: list[str] | None = None
    if (  # `any(nd in n for nd in lora_names)`
        isinstance(test, cst.Call)
        and dotted(test.func) == "any"
        and len(test.args) == 1
        and isinstance(test.args[0].value, cst.GeneratorExp)
    ):
        generator = test.args[0].value
        element = generator.elt
        if isinstance(element, cst.Comparison) and all(
            isinstance(c.operator, cst.In) for c in element.comparisons
        ):
            names = strings(script, generator.for_in.iter, scope, seq)
    elif (  # `"lora_" in n`
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.In)
        and isinstance(test.left, cst.SimpleString)
    ):
        value = test.left.evaluated_value
        names = [value] if isinstance(value, str) else None
    return bool(names) and all("lora" in name.lower() for name in names or ())


def _drops_empty_group(test: cst.BaseExpression, group: str) -> bool:
    """`g["params"]` or `len(g["params"]) > 0`: a filter that only drops empty groups."""
    if (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.GreaterThan)
        and isinstance(test.comparisons[0].comparator, cst.Integer)
        and test.comparisons[0].comparator.value == "0"
        and isinstance(test.left, cst.Call)
        and last_name(test.left.func) == "len"
        and len(test.left.args) == 1
    ):
        test = test.left.args[0].value
    return (
        isinstance(test, cst.Subscript)
        and dotted(test.value) == group
        and len(test.slice) == 1
        and isinstance(test.slice[0].slice, cst.Index)
        and isinstance(test.slice[0].slice.value, cst.SimpleString)
        and test.slice[0].slice.value.evaluated_value == "params"
    )


def _keeps_the_model(test: cst.BaseExpression) -> bool:
    """A comprehension's filter that keeps the model: trainable parameters, or all but a few
    named ones (`if "pooler" not in n`, `if not any(nd in n for nd in skip)`); a filter that
    selects by name (`if "classifier" in n`) takes a part."""
    if only_requires_grad(test):
        return True
    if isinstance(test, cst.Comparison):
        return all(isinstance(c.operator, cst.NotIn) for c in test.comparisons)
    return isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not)


def only_requires_grad(test: cst.BaseExpression) -> bool:
    """`p.requires_grad` (in a comprehension's `if` or a `filter` lambda) selects trainable
    parameters, not a part of the model."""
    if isinstance(test, cst.Lambda):
        test = test.body
    return isinstance(test, cst.Attribute) and test.attr.value == "requires_grad"
