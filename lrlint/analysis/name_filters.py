"""What a parameter group keeps of a model's parameters, read from how it is written:
`[p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)]` is the model
and a test on parameter names, which the rules can run on the real names of each family
without knowing the model's size or building it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from lrlint.analysis import values
from lrlint.analysis.params import only_requires_grad, unwrapped
from lrlint.analysis.script import Scope, Script

Test = Callable[[str], bool]


@dataclass(frozen=True)
class Kept:
    model: cst.BaseExpression  # whose parameters the group draws from
    keeps: Test  # which of them (by name) are in the group


def kept(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> Kept | None:
    """The model and the name test of a group's `params`, or None when it is written another
    way: `m.parameters()`, `[p for n, p in m.named_parameters() if TEST]` (also over a name
    bound to `list(m.named_parameters())`)."""
    expr = unwrapped(expr)
    if isinstance(expr, cst.Call) and _method(expr) == "parameters" and not expr.args:
        assert isinstance(expr.func, cst.Attribute)
        return Kept(expr.func.value, lambda name: True)
    if not isinstance(expr, cst.ListComp | cst.GeneratorExp) or expr.for_in.inner_for_in:
        return None
    target = expr.for_in.target
    if not (isinstance(target, cst.Tuple) and len(target.elements) == 2):
        return None
    name, param = (element.value for element in target.elements)
    if not (
        isinstance(name, cst.Name)
        and isinstance(param, cst.Name)
        and isinstance(expr.elt, cst.Name)
        and expr.elt.value == param.value
    ):
        return None
    model = _named_parameters_of(script, expr.for_in.iter, scope, seq)
    if model is None:
        return None
    tests = [_test(script, c.test, name.value, scope, seq) for c in expr.for_in.ifs]
    if any(t is None for t in tests):
        return None
    known = [t for t in tests if t is not None]
    return Kept(model, lambda n: all(t(n) for t in known))


def _method(call: cst.Call) -> str | None:
    return call.func.attr.value if isinstance(call.func, cst.Attribute) else None


def _named_parameters_of(
    script: Script, expr: cst.BaseExpression, scope: Scope, seq: float
) -> cst.BaseExpression | None:
    for _ in range(3):
        expr = unwrapped(expr)
        if isinstance(expr, cst.Call) and _method(expr) == "named_parameters" and not expr.args:
            assert isinstance(expr.func, cst.Attribute)
            return expr.func.value
        if not isinstance(expr, cst.Name):
            return None
        binding = scope.reaching(expr.value, seq)
        if binding is None or binding.value is None or binding.unpack is not None:
            return None
        expr = binding.value
    return None


def _test(
    script: Script, test: cst.BaseExpression, name: str, scope: Scope, seq: float
) -> Test | None:
    """A condition on the parameter's name `name`, as a function of it."""
    if only_requires_grad(test):
        # `p.requires_grad`: trainable ones, whatever their name (what a freeze leaves
        # training is the freeze checks' question)
        return lambda n: True
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        inner = _test(script, test.expression, name, scope, seq)
        return (lambda n: not inner(n)) if inner is not None else None
    if isinstance(test, cst.BooleanOperation):
        left = _test(script, test.left, name, scope, seq)
        right = _test(script, test.right, name, scope, seq)
        if left is None or right is None:
            return None
        if isinstance(test.operator, cst.And):
            return lambda n: left(n) and right(n)
        return lambda n: left(n) or right(n)
    if isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and test.func.value == "any":
        return _any_in(script, test, name, scope, seq)
    if isinstance(test, cst.Comparison) and len(test.comparisons) == 1:
        operator = test.comparisons[0].operator
        negated = isinstance(operator, cst.NotIn)
        if not isinstance(operator, cst.In | cst.NotIn):
            return None
        right = test.comparisons[0].comparator
        if isinstance(test.left, cst.Name) and test.left.value == name:  # `n in no_decay`
            entries = strings(script, right, scope, seq)
            if entries is None:
                return None
            return lambda n: (n in entries) != negated
        if isinstance(right, cst.Name) and right.value == name:  # `"bias" in n`
            entry = values.text(script, test.left, scope, seq)
            if entry is None:
                return None
            return lambda n: (entry in n) != negated
    return None


def _any_in(script: Script, call: cst.Call, name: str, scope: Scope, seq: float) -> Test | None:
    """`any(nd in n for nd in no_decay)`."""
    if len(call.args) != 1 or not isinstance(call.args[0].value, cst.GeneratorExp):
        return None
    generator = call.args[0].value
    item, element = generator.for_in.target, generator.elt
    if not (
        isinstance(item, cst.Name)
        and isinstance(element, cst.Comparison)
        and len(element.comparisons) == 1
        and isinstance(element.comparisons[0].operator, cst.In)
        and isinstance(element.left, cst.Name)
        and element.left.value == item.value
        and isinstance(element.comparisons[0].comparator, cst.Name)
        and element.comparisons[0].comparator.value == name
        and not generator.for_in.ifs
    ):
        return None
    entries = strings(script, generator.for_in.iter, scope, seq)
    if entries is None:
        return None
    return lambda n: any(entry in n for entry in entries)


def strings(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> list[str] | None:
    """A list of strings the script makes plain, also lower- or upper-cased by a comprehension
    (`[nd.lower() for nd in ["bias", "LayerNorm.weight"]]`)."""
    if isinstance(expr, cst.Name):
        binding = scope.reaching(expr.value, seq) or script.module_scope.reaching(
            expr.value, float("inf")
        )
        if binding is not None and isinstance(binding.value, cst.ListComp):
            expr = binding.value
    if isinstance(expr, cst.ListComp) and not expr.for_in.ifs and not expr.for_in.inner_for_in:
        element, item = expr.elt, expr.for_in.target
        if (
            isinstance(element, cst.Call)
            and not element.args
            and isinstance(element.func, cst.Attribute)
            and element.func.attr.value in {"lower", "upper"}
            and isinstance(element.func.value, cst.Name)
            and isinstance(item, cst.Name)
            and element.func.value.value == item.value
        ):
            found = values.strings(script, expr.for_in.iter, scope, seq)
            if found is None:
                return None
            lower = element.func.attr.value == "lower"
            return [s.lower() if lower else s.upper() for s in found]
        return None
    return values.strings(script, expr, scope, seq)
