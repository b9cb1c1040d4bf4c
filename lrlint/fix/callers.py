"""Gradual unfreezing for a helper whose training loops are in other modules of the project.

`optimizer = smart_optimizer(model, ...)` in `train.py`, the helper in `utils/torch_utils.py`:
the helper's file gets the groups, and each caller's loop the unfreezing, imported from the
helper's module as the helper is. Every caller the project has must have such a loop, or the
fix is refused: a caller left without one would train at the groups' rates and never thaw.
The stages are held in the optimizer (nothing is frozen with `requires_grad`), so a caller
whose file could not be written still runs correct discriminative code.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from lrlint.analysis.names import keyword_arg, positional_arg
from lrlint.analysis.script import CallSite, Scope, Script
from lrlint.fix import loops


@dataclass(frozen=True)
class CallerLoop:
    script: Script  # the caller's module
    site: CallSite  # its call of the helper
    found: loops.TrainingLoop  # the loop that trains what the call returns
    function: str  # how the caller names the written function
    imports: tuple[str, ...]  # what the caller must import for it


class NoCallerLoop(Exception):
    """Why the callers' loops cannot take the unfreezing."""


def caller_loops(
    script: Script, scope: Scope, call: cst.Call, model_in_helper: str, function: str
) -> list[CallerLoop]:
    """The loops that train what the helper (`scope`, building its optimizer with `call` on
    `model_in_helper`) returns, one per caller in another module; else NoCallerLoop."""
    helper = scope.node
    project = script.project
    if project is None or not isinstance(helper, cst.FunctionDef):
        raise NoCallerLoop("")  # not a helper of a project: nothing more to say
    if scope.parent is not script.module_scope or scope.owner is not None:
        raise NoCallerLoop("")
    position = _returned_position(script, scope, call)
    if position is None:
        raise NoCallerLoop(f"{helper.name.value} does not return the optimizer it builds")
    found: list[CallerLoop] = []
    for other, site in project.callers(scope):
        line = other.position(site.node)[0]
        where = f"{_name(other)}:{line}"
        optimizer = _bound(other, site, position)
        if optimizer is None:
            raise NoCallerLoop(f"{where} does not keep the optimizer in a name")
        model = _model_there(other, site.node, helper, model_in_helper)
        if model is None:
            raise NoCallerLoop(f"{where} passes no model")
        loop = loops.loop_after(other, site.scope, line, model, optimizer)
        if loop is None:
            raise NoCallerLoop(f"{where} has no training loop after the call")
        wrapper = loops.distributed_wrapper(other, site.scope, site.node, loop)
        if wrapper is not None and loops.shards(other, wrapper):
            raise NoCallerLoop(f"{where} shards the model with {wrapper}(...)")
        named = _written_name(other, site, function, script, where)
        found.append(CallerLoop(other, site, loop, *named))
    if not found:
        raise NoCallerLoop("")
    return found


def _name(script: Script) -> str:
    return script.path.name if script.path is not None else "<caller>"


def _returned_position(script: Script, scope: Scope, call: cst.Call) -> int | None:
    """Where the helper's return value holds the optimizer: 0 for `return optimizer`, i for
    the i-th element of `return a, b`; -1 for a plain return of it (no tuple)."""
    name = loops.optimizer_name(script, scope, call)
    returns: list[cst.Return] = []

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            returns.append(node)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is scope.node

    scope.node.visit(Finder())
    positions = set()
    for node in returns:
        value = node.value
        if value is call or (isinstance(value, cst.Name) and value.value == name):
            positions.add(-1)
        elif isinstance(value, cst.Tuple):
            codes = [script.code(e.value).strip() for e in value.elements]
            if name in codes:
                positions.add(codes.index(name))
    return positions.pop() if len(positions) == 1 else None


def _bound(script: Script, site: CallSite, position: int) -> str | None:
    """The name the caller binds the optimizer to."""
    targets: list[cst.BaseAssignTargetExpression] = []

    class Finder(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if node.value is site.node and len(node.targets) == 1:
                targets.append(node.targets[0].target)

    script.module.visit(Finder())
    if len(targets) != 1:
        return None
    target = targets[0]
    if position == -1:
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(target, cst.Tuple) and position < len(target.elements):
        element = target.elements[position].value
        return element.value if isinstance(element, cst.Name) else None
    return None


def _model_there(other: Script, call: cst.Call, helper: cst.FunctionDef, model: str) -> str | None:
    """The caller's expression for the helper's model (`model.module` for `model`'s)."""
    root, _, rest = model.partition(".")
    names = [p.name.value for p in helper.params.params]
    if root not in names:
        return None
    given = keyword_arg(call, root) or positional_arg(call, names.index(root))
    if given is None:
        return None
    expression = other.code(given).strip()
    return f"{expression}.{rest}" if rest else expression


def _written_name(
    other: Script, site: CallSite, function: str, helper: Script, where: str
) -> tuple[str, tuple[str, ...]]:
    """How the caller names the written function, and the import that brings it: beside the
    helper's own import (`from utils.torch_utils import smart_optimizer`), or through the
    module the helper is called on (`torch_utils.smart_optimizer(...)`)."""
    func, qualname = site.node.func, site.qualname
    module = qualname.rpartition(".")[0] if qualname is not None else ""
    # only through the helper's own module: a package that re-exports the helper does not
    # re-export the written function
    path = helper.path
    own = path is not None and module.rpartition(".")[2] in (
        path.stem,
        path.parent.name if path.stem == "__init__" else path.stem,
    )
    if not own or not isinstance(func, (cst.Name, cst.Attribute)):
        raise NoCallerLoop(
            f"{where} imports the helper other than from its module: add the unfreezing there "
            "by hand"
        )
    if isinstance(func, cst.Attribute):
        return f"{other.code(func.value).strip()}.{function}", ()
    if function in other.functions:  # importing it would shadow the caller's own
        raise NoCallerLoop(f"{where} has a function named {function}")
    return function, (f"from {module} import {function}",)
