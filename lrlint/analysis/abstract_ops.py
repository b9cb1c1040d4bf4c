"""Operations on the interpreter's values: iterating modules, collecting parameters, Python's
operators and builtins as far as the setup code needs them. Anything that cannot be followed
gives UNKNOWN; a run that grows without bound stops with GiveUp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import libcst as cst

from lrlint.analysis.setup_events import UNKNOWN, Module, OptimizerBuilt, Param

MAX_ITERATIONS = 4096


class GiveUp(Exception):
    """The budget ran out or a construct cannot be followed: the whole run is inconclusive."""


class Generator(list):  # type: ignore[type-arg]
    """What `parameters()` and `named_parameters()` return: a generator, empty once iterated
    (a second comprehension over the same `named = model.named_parameters()` gets nothing)."""

    spent = False


def consume(value: Any) -> list[Any] | None:
    """The items one iteration over `value` sees; a generator is spent by it."""
    if isinstance(value, Generator):
        items = [] if value.spent else list(value)
        value.spent = True
        return items
    return as_list(value)


def as_list(value: Any) -> list[Any] | None:
    if isinstance(value, Module):
        expanded = value.skeleton.expand_stack(value.paths)
        return [Module(value.skeleton, (p,)) for p in expanded] if expanded is not None else None
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, (range, set, frozenset)):
        return list(value)
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, str):
        return list(value)
    return None


def params_of(value: Any) -> frozenset[Param] | None:
    if isinstance(value, Param):
        return frozenset({value})
    if isinstance(value, Module):
        return frozenset(
            Param(value.skeleton, name) for name in value.skeleton.params_under(value.paths)
        )
    items = as_list(value) if not isinstance(value, (str, dict)) else None
    if items is None:
        return None
    found: set[Param] = set()
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], Param):
            item = item[1]  # named parameters
        if not isinstance(item, Param):
            return None
        found.add(item)
    return frozenset(found)


def param_attribute(param: Param, attr: str, frozen: set[Param]) -> Any:
    if attr == "requires_grad":
        return param not in frozen
    if attr == "ndim":
        return 1 if param.skeleton.is_1d(param.name) else 2
    if attr == "shape":
        return (1,) if param.skeleton.is_1d(param.name) else (1, 1)
    return UNKNOWN


def relative(name: str, paths: tuple[str, ...]) -> str:
    for path in paths:
        if path and name.startswith(path + "."):
            return name[len(path) + 1 :]
    return name


def rates(optimizer: OptimizerBuilt) -> tuple[Any, ...]:
    return tuple(g.options.get("lr", UNKNOWN) for g in [*optimizer.groups, *optimizer.added])


def flag(args: list[Any], kwargs: dict[str, Any]) -> Any:
    if args:
        return args[0]
    return kwargs.get("requires_grad", True)


def defaults_of(function: cst.FunctionDef) -> dict[str, cst.BaseExpression]:
    found = {}
    for param in [*function.params.params, *function.params.kwonly_params]:
        if param.default is not None:
            found[param.name.value] = param.default
    return found


def string_method(text: str, method: str, args: list[Any]) -> Any:
    if any(a is UNKNOWN for a in args):
        return UNKNOWN
    try:
        if method in {"startswith", "endswith"} and args:
            prefix = tuple(args[0]) if isinstance(args[0], (list, tuple)) else args[0]
            return getattr(text, method)(prefix)
        if method in {"split", "rsplit", "replace", "lower", "upper", "strip", "format", "join"}:
            return getattr(text, method)(*args)
    except (TypeError, ValueError, KeyError, IndexError):
        return UNKNOWN
    return UNKNOWN


def dict_method(value: dict[str, Any], method: str, args: list[Any]) -> Any:
    if method == "get" and args:
        return value.get(args[0], args[1] if len(args) > 1 else None)
    if method == "items":
        return list(value.items())
    if method == "keys":
        return list(value)
    if method == "values":
        return list(value.values())
    if method == "copy":
        return dict(value)
    if method == "update" and args and isinstance(args[0], dict):
        value.update(args[0])
        return None
    return UNKNOWN


def binary(operator: Any, left: Any, right: Any) -> Any:
    if left is UNKNOWN or right is UNKNOWN:
        return UNKNOWN
    operations: dict[type, Callable[[Any, Any], Any]] = {
        cst.Add: lambda a, b: a + b,
        cst.AddAssign: lambda a, b: a + b,
        cst.Subtract: lambda a, b: a - b,
        cst.SubtractAssign: lambda a, b: a - b,
        cst.Multiply: lambda a, b: a * b,
        cst.MultiplyAssign: lambda a, b: a * b,
        cst.Divide: lambda a, b: a / b,
        cst.DivideAssign: lambda a, b: a / b,
        cst.FloorDivide: lambda a, b: a // b,
        cst.Modulo: lambda a, b: a % b,
        cst.Power: lambda a, b: a**b,
        cst.PowerAssign: lambda a, b: a**b,
    }
    operation = operations.get(type(operator))
    if operation is None:
        return UNKNOWN
    if isinstance(left, (Module, Param, OptimizerBuilt)) or isinstance(
        right, (Module, Param, OptimizerBuilt)
    ):
        return UNKNOWN
    try:
        result = operation(left, right)
    except (TypeError, ZeroDivisionError, OverflowError, ValueError):
        return UNKNOWN
    if isinstance(result, (int, float)) and abs(result) > 1e300:
        return UNKNOWN
    if isinstance(result, (str, list, tuple)) and len(result) > 100_000:
        raise GiveUp
    return result


# ---- builtins -----------------------------------------------------------------------------------
def _builtin_range(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return UNKNOWN
    try:
        result = range(*args)
    except (TypeError, ValueError):
        return UNKNOWN
    if len(result) > MAX_ITERATIONS:
        raise GiveUp
    return result


def _builtin_len(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = as_list(args[0]) if len(args) == 1 else None
    return len(items) if items is not None else UNKNOWN


def _builtin_enumerate(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = as_list(args[0]) if args else None
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if items is None or not isinstance(start, int):
        return UNKNOWN
    return [(start + i, item) for i, item in enumerate(items)]


def _builtin_zip(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    lists = [as_list(a) for a in args]
    if any(x is None for x in lists):
        return UNKNOWN
    return [tuple(items) for items in zip(*lists, strict=False)]  # type: ignore[arg-type]


def _builtin_list(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args:
        return []
    items = consume(args[0])
    return items if items is not None else UNKNOWN


def _builtin_tuple(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = _builtin_list(machine, args, kwargs)
    return tuple(items) if isinstance(items, list) else UNKNOWN


def _builtin_reversed(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = as_list(args[0]) if args else None
    return list(reversed(items)) if items is not None else UNKNOWN


def _builtin_any_all(which: Callable[[Iterable[Any]], bool]) -> Callable[..., Any]:
    def run(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        items = as_list(args[0]) if args else None
        if items is None or any(item is UNKNOWN for item in items):
            return UNKNOWN
        return which(items)

    return run


def _builtin_filter(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if len(args) != 2 or not callable(args[0]):
        return UNKNOWN
    items = as_list(args[1])
    if items is None:
        return UNKNOWN
    kept = []
    for item in items:
        verdict = args[0](item)
        if verdict is UNKNOWN:
            return UNKNOWN
        if verdict:
            kept.append(item)
    return kept


def _builtin_dict(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if args:
        return UNKNOWN
    return dict(kwargs)


def _builtin_number(kind: type) -> Callable[..., Any]:
    def run(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        if len(args) != 1 or args[0] is UNKNOWN:
            return UNKNOWN
        try:
            return kind(args[0])
        except (TypeError, ValueError):
            return UNKNOWN

    return run


def _builtin_set(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    items = as_list(args[0]) if args else []
    if items is None:
        return UNKNOWN
    try:
        return set(items)
    except TypeError:
        return UNKNOWN


def _builtin_min_max(which: Callable[..., Any]) -> Callable[..., Any]:
    def run(machine: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
        items = as_list(args[0]) if len(args) == 1 else args
        if not items or any(not isinstance(i, (int, float)) for i in items or []):
            return UNKNOWN
        return which(items)

    return run


BUILTINS: dict[str, Callable[[Any, list[Any], dict[str, Any]], Any]] = {
    "range": _builtin_range,
    "len": _builtin_len,
    "enumerate": _builtin_enumerate,
    "zip": _builtin_zip,
    "list": _builtin_list,
    "tuple": _builtin_tuple,
    "iter": _builtin_list,
    "sorted": _builtin_list,
    "reversed": _builtin_reversed,
    "any": _builtin_any_all(any),
    "all": _builtin_any_all(all),
    "filter": _builtin_filter,
    "dict": _builtin_dict,
    "float": _builtin_number(float),
    "int": _builtin_number(int),
    "str": _builtin_number(str),
    "set": _builtin_set,
    "min": _builtin_min_max(min),
    "max": _builtin_min_max(max),
}
