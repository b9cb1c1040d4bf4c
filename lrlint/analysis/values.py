"""Numbers a script makes plain: literals, constants, argparse defaults, simple config dicts."""

from __future__ import annotations

import libcst as cst

from lrlint.analysis.names import dotted, keyword_arg, last_name, positional_arg
from lrlint.analysis.script import Scope, Script


def number(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> float | None:
    """The value of a numeric expression when the script makes it plain, else None."""
    return _Evaluator(script).eval(expr, scope, seq, depth=0)


def text(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> str | None:
    """The value of a string expression when the script makes it plain: a literal, a constant,
    a function parameter's default, an argparse default (`args.model_name`)."""
    for _ in range(8):
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return value if isinstance(value, str) else None
        if isinstance(expr, cst.Attribute):
            default = script.argparse_defaults.get(expr.attr.value)
            receiver = dotted(expr.value)
            if default is None and receiver is not None:
                # a settings class's default (Tap, a dataclass), when the classes agree
                found = script.flag_defaults(receiver, expr.attr.value)
                texts = {text(script, value, script.module_scope, float("inf")) for value in found}
                return texts.pop() if len(texts) == 1 else None
            if default is None:
                return None
            expr, scope, seq = default, script.module_scope, float("inf")
        elif isinstance(expr, cst.Name):
            found = _binding_or_default(expr.value, scope, seq)
            if found is None:
                return _passed_text(script, expr.value, scope)
            expr, scope, seq = found
        else:
            return None
    return None


def _passed_text(script: Script, name: str, scope: Scope) -> str | None:
    """A parameter with no default of a function of this module: what its callers pass, when
    they agree (`main(optimizer=optimizer)` from a `setup(optimizer="AdamW")`, also through
    `fabric.launch(main, ..., optimizer=optimizer)`)."""
    function = scope.node
    if scope.kind != "function" or not isinstance(function, cst.FunctionDef):
        return None
    if name not in scope.params or scope.parent is not script.module_scope:
        return None
    index = scope.params.index(name)
    found: set[str | None] = set()
    for site in script.calls:
        call = site.node
        direct = isinstance(call.func, cst.Name) and call.func.value == scope.name
        handed = any(
            isinstance(a.value, cst.Name) and a.value.value == scope.name for a in call.args
        )
        if not (direct or handed) or site.scope is scope:
            continue
        # Fabric's `launch(main, *args)` calls `main(fabric, *args)`: `main`'s parameter i is
        # the call's argument i (the function itself is argument 0)
        launched = handed and last_name(call.func) == "launch" and index > 0
        positional = positional_arg(call, index) if direct or launched else None
        value = keyword_arg(call, name) or positional
        if value is None:
            return None
        found.add(text(script, value, site.scope, site.seq))
    return found.pop() if len(found) == 1 else None


def strings(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> list[str] | None:
    """The strings of a list, tuple or set of string literals, or of a name bound to one (a
    constant, a function parameter's default), else None."""
    if isinstance(expr, cst.Name):
        found = _binding_or_default(expr.value, scope, seq)
        if found is None:
            return None
        expr = found[0]
    if not isinstance(expr, (cst.List, cst.Tuple, cst.Set)):
        return None
    values = []
    for element in expr.elements:
        value = element.value
        evaluated = value.evaluated_value if isinstance(value, cst.SimpleString) else None
        if not isinstance(evaluated, str):
            return None
        values.append(evaluated)
    return values


def _binding_or_default(
    name: str, scope: Scope, seq: float
) -> tuple[cst.BaseExpression, Scope, float] | None:
    current: Scope | None = scope
    while current is not None:
        binding = current.reaching(name, seq)
        if binding is not None:
            if binding.value is None or binding.unpack is not None:
                return None
            return binding.value, current, binding.seq
        if current.kind == "function" and name in current.params:
            function = current.node
            if not isinstance(function, cst.FunctionDef):
                return None
            for param in [*function.params.params, *function.params.kwonly_params]:
                if param.name.value == name and param.default is not None:
                    return param.default, current.parent or current, float("inf")
            return None
        current = current.parent
        seq = float("inf")
    return None


def describe(script: Script, expr: cst.BaseExpression, scope: Scope, seq: float) -> str:
    """`2e-05` when the value is known, else the expression as written (`self.hparams.lr`)."""
    value = number(script, expr, scope, seq)
    return repr(value) if value is not None else script.code(expr).strip()


class _Evaluator:
    def __init__(self, script: Script) -> None:
        self.script = script

    def eval(self, expr: cst.BaseExpression, scope: Scope, seq: float, depth: int) -> float | None:
        if depth > 8:
            return None
        if isinstance(expr, (cst.Integer, cst.Float)):
            return float(expr.evaluated_value)
        if isinstance(expr, cst.UnaryOperation) and isinstance(expr.operator, cst.Minus):
            inner = self.eval(expr.expression, scope, seq, depth + 1)
            return -inner if inner is not None else None
        if isinstance(expr, cst.BinaryOperation):
            return self._binary(expr, scope, seq, depth)
        if isinstance(expr, cst.Name):
            return self._name(expr.value, scope, seq, depth)
        if isinstance(expr, cst.Attribute):
            return self._attribute(expr, scope, seq, depth)
        if isinstance(expr, cst.Subscript) and len(expr.slice) == 1:
            return self._subscript(expr, scope, seq, depth)
        return None

    def _attribute(self, expr: cst.Attribute, scope: Scope, seq: float, depth: int) -> float | None:
        # `training_args.learning_rate` where `training_args = TrainingArguments(learning_rate=..)`
        if isinstance(expr.value, cst.Name):
            found = _binding_or_default(expr.value.value, scope, seq)
            info = self.script.classes.get(expr.value.value) if found is None else None
            if info is not None:  # `CFG.encoder_lr` of `class CFG: encoder_lr = 2e-5`
                constant = info.scope.reaching(expr.attr.value, float("inf"))
                if constant is None or constant.value is None:
                    return None
                return self.eval(constant.value, info.scope, float("inf"), depth + 1)
            if found is not None and isinstance(found[0], cst.Call):
                call, where, when = found
                for arg in call.args:
                    if arg.keyword is not None and arg.keyword.value == expr.attr.value:
                        return self.eval(arg.value, where, when, depth + 1)
        # `args.lr`: an argparse default of that name
        default = self.script.argparse_defaults.get(expr.attr.value)
        if default is not None and dotted(expr.value) is not None:
            return self.eval(default, self.script.module_scope, float("inf"), depth + 1)
        # `self.args.lr`: the default of a settings class (Tap, a dataclass), when the
        # classes that could hold it agree
        receiver = dotted(expr.value)
        if receiver is None:
            return None
        found = {
            self.eval(value, self.script.module_scope, float("inf"), depth + 1)
            for value in self.script.flag_defaults(receiver, expr.attr.value)
        }
        return found.pop() if len(found) == 1 else None

    def _binary(
        self, expr: cst.BinaryOperation, scope: Scope, seq: float, depth: int
    ) -> float | None:
        left = self.eval(expr.left, scope, seq, depth + 1)
        right = self.eval(expr.right, scope, seq, depth + 1)
        if left is None or right is None:
            return None
        operator = expr.operator
        try:
            if isinstance(operator, cst.Multiply):
                return left * right
            if isinstance(operator, cst.Divide):
                return left / right
            if isinstance(operator, cst.Add):
                return left + right
            if isinstance(operator, cst.Subtract):
                return left - right
            if isinstance(operator, cst.Power):
                return float(left**right)
        except (ZeroDivisionError, OverflowError):
            return None
        return None

    def _name(self, name: str, scope: Scope, seq: float, depth: int) -> float | None:
        found = _binding_or_default(name, scope, seq)
        if found is None:
            return None
        value, where, when = found
        return self.eval(value, where, when, depth + 1)

    def _subscript(self, expr: cst.Subscript, scope: Scope, seq: float, depth: int) -> float | None:
        """`config["lr"]` where `config = {"lr": 2e-5, ...}`."""
        index = expr.slice[0].slice
        if not isinstance(index, cst.Index) or not isinstance(index.value, cst.SimpleString):
            return None
        if not isinstance(expr.value, cst.Name):
            return None
        key = index.value.evaluated_value
        binding = scope.reaching(expr.value.value, seq)
        if binding is None and scope.parent is not None:
            binding = self.script.module_scope.reaching(expr.value.value, float("inf"))
        if binding is None or not isinstance(binding.value, cst.Dict):
            return None
        for element in binding.value.elements:
            if (
                isinstance(element, cst.DictElement)
                and isinstance(element.key, cst.SimpleString)
                and element.key.evaluated_value == key
            ):
                return self.eval(element.value, scope, seq, depth + 1)
        return None
