"""Parameter lists filled in a loop over a model (YOLO's `smart_optimizer`):

    g = [], [], []
    for v in model.modules():
        for p_name, p in v.named_parameters(recurse=0):
            if p_name == "bias":
                g[2].append(p)
            elif p_name == "weight" and isinstance(v, bn):
                g[1].append(p)
            else:
                g[0].append(p)
    optimizer = Adam(g[2], lr=lr)
    optimizer.add_param_group({"params": g[0], "weight_decay": decay})
    optimizer.add_param_group({"params": g[1], "weight_decay": 0.0})

Every list is the model's, split by kind for weight decay only, and each is given to the
optimizer at its one rate: the model trains at one rate. A split by any other name (`"head" in
n`) or a list left out of the optimizer is a choice of parts, and is not read here.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lrlint.analysis.names import dotted, keyword_arg, last_name
from lrlint.analysis.script import Scope, Script

_WALKS = frozenset({"modules", "named_modules", "parameters", "named_parameters", "children"})
# the names a weight-decay split tests (`p_name == "bias"`, `"bn" in k`); any other is a part
_DECAY_WORDS = ("bias", "weight", "norm", "bn", "ln", "gain", "scale", "embed")


def filled_model(
    script: Script, expr: cst.BaseExpression, scope: Scope, lr: str | None
) -> cst.BaseExpression | None:
    """The model `m` of `m.modules()` when `expr` (`g[2]`, `pg0`) is one of a family of lists
    filled only in loops over `m`, split by kind, and all given to the optimizer at rate `lr`
    (its `add_param_group` calls name no other rate); else None."""
    family = _family(expr, scope)
    if family is None or not isinstance(scope.node, cst.FunctionDef | cst.Module):
        return None
    finder = _Fills(script, set(family), entered=isinstance(scope.node, cst.Module))
    scope.node.visit(finder)
    if finder.spoiled or set(finder.filled) != set(family) or len(finder.models) != 1:
        return None
    given = {script.code(expr).strip()}
    for added in _added(script, family, scope):
        rate = added.items.get("lr")
        if added.loop is None and rate is not None and script.code(rate).strip() != lr:
            return None  # a group at a rate of its own: not one rate
        given.add(script.code(added.items["params"]).strip())
    if given != set(family):
        return None
    return finder.models[0]


def added_groups(
    script: Script, expr: cst.BaseExpression, scope: Scope, cut: bool = False
) -> list[cst.Call]:
    """The `add_param_group({...})` calls that add the other lists of `expr`'s family, as the
    script writes them (for `lrlint fix` to cut each by depth too); with `cut`, also those
    the fix has cut already."""
    family = _family(expr, scope)
    if family is None:
        return []
    return [a.call for a in _added(script, family, scope) if cut or a.loop is None]


@dataclass(frozen=True)
class _Added:
    call: cst.Call  # `opt.add_param_group(...)`
    items: dict[str, cst.BaseExpression]  # its group's keys
    # the loop it is in when `lrlint fix` has cut the group by depth already:
    # `for group in param_groups_by_depth(model, lr, params=[{"params": g[0]}]):`
    loop: cst.For | None


def _added(script: Script, family: list[str], scope: Scope) -> list[_Added]:
    found = []
    for site in script.calls:
        call = site.node
        if site.scope is not scope or last_name(call.func) != "add_param_group":
            continue
        group = call.args[0].value if len(call.args) == 1 else None
        loop = None
        if isinstance(group, cst.Name):
            loops = script.added_loops.get(id(call), [])
            name = group.value
            loop = next(
                (
                    f
                    for f in reversed(loops)
                    if isinstance(f, cst.For)
                    and isinstance(f.target, cst.Name)
                    and f.target.value == name
                ),
                None,
            )
            cut = loop.iter if loop is not None else None
            inner = keyword_arg(cut, "params") if isinstance(cut, cst.Call) else None
            listed = inner.elements if isinstance(inner, cst.List) else ()
            group = listed[0].value if len(listed) == 1 else None
        items = _items(group) if isinstance(group, cst.Dict) else {}
        params = items.get("params")
        if params is not None and script.code(params).strip() in family:
            found.append(_Added(call, items, loop))
    return found


def _items(group: cst.Dict) -> dict[str, cst.BaseExpression]:
    return {
        str(e.key.evaluated_value): e.value
        for e in group.elements
        if isinstance(e, cst.DictElement) and isinstance(e.key, cst.SimpleString)
    }


def _family(expr: cst.BaseExpression, scope: Scope) -> list[str] | None:
    """The lists bound together with `expr`, by their code: `g[0]`..`g[2]` of `g = [], [], []`,
    or `pg0`, `pg1`, `pg2` of `pg0, pg1, pg2 = [], [], []`."""
    if isinstance(expr, cst.Subscript) and isinstance(expr.value, cst.Name):
        binding = scope.reaching(expr.value.value, float("inf"))
        if binding is None or binding.unpack is not None or not _empty_lists(binding.value):
            return None
        assert isinstance(binding.value, cst.Tuple)
        name = expr.value.value
        return [f"{name}[{i}]" for i in range(len(binding.value.elements))]
    if isinstance(expr, cst.Name):
        binding = scope.reaching(expr.value, float("inf"))
        if binding is None or binding.unpack is None or not _empty_lists(binding.value):
            return None
        return [
            name
            for name, bound in scope.bindings.items()
            if any(b.value is binding.value for b in bound)
        ]
    return None


def _empty_lists(value: cst.BaseExpression | None) -> bool:
    return (
        isinstance(value, cst.Tuple)
        and len(value.elements) > 1
        and all(isinstance(e.value, cst.List) and not e.value.elements for e in value.elements)
    )


class _Fills(cst.CSTVisitor):
    """The `append`s to the family's lists, each inside a loop whose outermost iterable walks
    one model (`model.modules()`), under tests of kind alone."""

    def __init__(self, script: Script, family: set[str], entered: bool) -> None:
        self.script, self.family = script, family
        self.loops: list[cst.For] = []
        self.tests: list[cst.BaseExpression] = []
        self.filled: set[str] = set()
        self.models: list[cst.BaseExpression] = []
        self.spoiled = False
        self.entered = entered  # in the scope's own body: functions met now are nested ones

    def visit_For(self, node: cst.For) -> None:
        self.loops.append(node)

    def leave_For(self, original_node: cst.For) -> None:
        self.loops.pop()

    def visit_If(self, node: cst.If) -> None:
        self.tests.append(node.test)

    def leave_If(self, original_node: cst.If) -> None:
        self.tests.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        entered, self.entered = self.entered, True
        return not entered  # the function itself, not those it nests

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in {"append", "extend"}:
            return
        receiver = self.script.code(func.value).strip()
        if receiver not in self.family:
            return
        model = _walked(self.loops[0].iter) if self.loops else None
        if model is None or func.attr.value == "extend" or not all(map(_by_kind, self.tests)):
            self.spoiled = True
            return
        self.filled.add(receiver)
        code = self.script.code(model).strip()
        if all(self.script.code(m).strip() != code for m in self.models):
            self.models.append(model)


def _walked(iterable: cst.BaseExpression) -> cst.BaseExpression | None:
    """`model` of `model.modules()`, `model.named_parameters()`."""
    if (
        isinstance(iterable, cst.Call)
        and isinstance(iterable.func, cst.Attribute)
        and iterable.func.attr.value in _WALKS
        and dotted(iterable.func.value) is not None
    ):
        return iterable.func.value
    return None


def _by_kind(test: cst.BaseExpression) -> bool:
    """A test of a module's type or attributes, or of a parameter's name against the words of
    a weight-decay split only."""
    return all(
        any(word in str(s.evaluated_value).lower() for word in _DECAY_WORDS) for s in _strings(test)
    )


def _strings(node: cst.CSTNode) -> list[cst.SimpleString]:
    """The strings a test compares names with; those naming an attribute (`hasattr(v, "im")`)
    test the module's kind."""
    if isinstance(node, cst.SimpleString):
        return [node]
    if isinstance(node, cst.Call) and last_name(node.func) in {"hasattr", "getattr", "isinstance"}:
        return []
    return [s for child in node.children for s in _strings(child)]
