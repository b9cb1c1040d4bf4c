"""The value an expression has when the script runs as it comes: its flags at their defaults.

Only what the script makes plain is evaluated (literals, names bound once before, flag defaults,
`len`, `range`, indexing, comparisons, conditional expressions and comprehensions); anything
else is `UNKNOWN`. YOLO's freeze list is the case this serves:

    freeze = [f"model.{x}." for x in (freeze if len(freeze) > 1 else range(freeze[0]))]

is empty with `--freeze` at its default `[0]`, so `if any(x in k for x in freeze):` never
freezes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import libcst as cst

from lrlint.analysis.names import dotted

if TYPE_CHECKING:
    from lrlint.analysis.script import Scope, Script

UNKNOWN: Any = object()
_MAX_DEPTH = 12
_MAX_ITEMS = 10_000  # a `range` longer than this is not evaluated (`--freeze 300000000`)
# the comparisons of values (script's flag tests add `is` / `is not` of constants)
COMPARE = {
    cst.GreaterThan: lambda a, b: a > b,
    cst.GreaterThanEqual: lambda a, b: a >= b,
    cst.LessThan: lambda a, b: a < b,
    cst.LessThanEqual: lambda a, b: a <= b,
    cst.Equal: lambda a, b: a == b,
    cst.NotEqual: lambda a, b: a != b,
}


def never_true(script: Script, test: cst.BaseExpression, scope: Scope, seq: float) -> bool:
    """A test that is false by default: `any(... for x in names)` over a list that is empty
    by default, `len(trainable) > 0` of a list only grown behind flags that are off."""
    found = value(script, test, scope, seq)
    return found is not UNKNOWN and not found


def value(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> Any:
    return _eval(script, expr, scope, seq, 0)


def _eval(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        return UNKNOWN
    down = depth + 1
    if isinstance(expr, cst.Integer | cst.Float | cst.SimpleString):
        return expr.evaluated_value
    if isinstance(expr, cst.Name) and expr.value in {"None", "True", "False"}:
        return {"None": None, "True": True, "False": False}[expr.value]
    if isinstance(expr, cst.List | cst.Tuple):
        items = [_eval(script, e.value, scope, seq, down) for e in expr.elements]
        if any(isinstance(e, cst.StarredElement) for e in expr.elements):
            return UNKNOWN
        return items
    if isinstance(expr, cst.Name):
        return _name(script, expr.value, scope, seq, down)
    if isinstance(expr, cst.Attribute):
        receiver = dotted(expr.value)
        if receiver is None or receiver == "self":
            return UNKNOWN
        found = [
            _eval(script, default, script.module_scope, float("inf"), down)
            for default in script.flag_defaults(receiver, expr.attr.value)
        ]
        if not found or UNKNOWN in found or any(f != found[0] for f in found):
            return UNKNOWN  # no default, or classes that disagree
        return found[0]
    if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
        index = expr.slice[0].slice
        base = _eval(script, expr.value, scope, seq, down)
        at = _eval(script, index.value, scope, seq, down) if isinstance(index, cst.Index) else None
        if isinstance(base, list) and isinstance(at, int) and -len(base) <= at < len(base):
            return base[at]
        return UNKNOWN
    if isinstance(expr, cst.Call):
        return _call(script, expr, scope, seq, down)
    if isinstance(expr, cst.Comparison) and len(expr.comparisons) == 1:
        compare = COMPARE.get(type(expr.comparisons[0].operator))
        left = _eval(script, expr.left, scope, seq, down)
        right = _eval(script, expr.comparisons[0].comparator, scope, seq, down)
        if compare is None or UNKNOWN in (left, right):
            return UNKNOWN
        try:
            return bool(compare(left, right))
        except TypeError:
            return UNKNOWN
    if isinstance(expr, cst.IfExp):
        test = _eval(script, expr.test, scope, seq, down)
        if test is UNKNOWN:
            return UNKNOWN
        return _eval(script, expr.body if test else expr.orelse, scope, seq, down)
    if isinstance(expr, cst.ListComp | cst.GeneratorExp) and expr.for_in.inner_for_in is None:
        items = _eval(script, expr.for_in.iter, scope, seq, down)
        if not isinstance(items, list):
            return UNKNOWN
        # the items themselves are not evaluated: only how many there are can matter here
        return [UNKNOWN for _ in items] if not expr.for_in.ifs or not items else UNKNOWN
    return UNKNOWN


def _name(script: Script, name: str, scope: Scope, seq: float, depth: int) -> Any:
    current: Scope | None = scope
    while current is not None:
        binding = current.reaching(name, seq)
        if binding is not None:
            if binding.value is None or current.alternatives(name, binding, seq):
                return UNKNOWN  # not evaluated, or another branch binds it otherwise
            bound = binding.value
            key = (id(current), name)
            if any(k[1] == name and k[0] != id(current) for k in script.grown_names):
                return UNKNOWN  # grown in another scope too (a global filled by a function)
            if key in script.grown_names:
                if key in script.evaluating or key in script.augmented_names:
                    return UNKNOWN
                script.evaluating.add(key)
                try:
                    off = _grown_only_when_off(script, name, current)
                finally:
                    script.evaluating.discard(key)
                if not off:
                    return UNKNOWN
            if binding.unpack is not None:  # `a, b, freeze = opt.a, opt.b, opt.freeze`
                if not isinstance(bound, cst.Tuple) or binding.unpack >= len(bound.elements):
                    return UNKNOWN
                bound = bound.elements[binding.unpack].value
            return _eval(script, bound, current, binding.seq, depth)
        if current.kind == "function":
            return UNKNOWN  # a parameter, or a name of an enclosing scope we do not follow
        current = current.parent
        seq = float("inf")
    return UNKNOWN


def _call(script: Script, call: cst.Call, scope: Scope, seq: float, depth: int) -> Any:
    name = dotted(call.func)
    generator = call.args[0].value if len(call.args) == 1 else None
    if name == "any" and isinstance(generator, cst.GeneratorExp | cst.ListComp):
        # `any(x in k for x in names)`: false over no names, else not known here
        items = _eval(script, generator.for_in.iter, scope, seq, depth)
        return False if isinstance(items, list) and not items else UNKNOWN
    if name not in {"len", "range", "list", "tuple"} or any(a.keyword for a in call.args):
        return UNKNOWN
    args = [_eval(script, a.value, scope, seq, depth) for a in call.args]
    if UNKNOWN in args or any(a.star for a in call.args):
        return UNKNOWN
    try:
        if name == "len" and len(args) == 1 and isinstance(args[0], list | str):
            return len(args[0])
        if name == "range" and 1 <= len(args) <= 3 and all(isinstance(a, int) for a in args):
            span = range(*args)
            return list(span) if len(span) <= _MAX_ITEMS else UNKNOWN
        if name in {"list", "tuple"} and len(args) == 1 and isinstance(args[0], list):
            return list(args[0])
    except (TypeError, ValueError):
        pass
    return UNKNOWN


def _grown_only_when_off(script: Script, name: str, scope: Scope) -> bool:
    """Every `name.append(...)` of the scope is behind a test that is off by default."""
    growth = script.growth(name, scope)
    return bool(growth) and all(script.dead(site.node) for site in growth)
