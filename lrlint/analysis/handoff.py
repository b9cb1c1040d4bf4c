"""A checked script that hands its pretrained model to a helper of another module of its project,
which builds the optimizer (`optimizer = get_optimization(model, lr)`, `smart_optimizer(model,
...)`): the helper's uniform optimizer is this script's finding.

The helper is read as it would be checked, with its parameters taken to be what the script
passes: pretrained. Where the helper's module is itself among the checked files, it is reported
there instead, once (see `engine`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lrlint.analysis.names import last_name
from lrlint.analysis.script import CallSite, Scope, Script
from lrlint.analysis.training import TrainingSetup
from lrlint.analysis.uniform import uniform_sites


@dataclass(frozen=True)
class Handoff:
    call: CallSite  # the script's call of the helper
    helper: Scope  # the function it calls, in another module
    built_at: int  # the line of the helper's module where the optimizer (or Trainer) is built
    kind: str  # "optimizer" or "trainer"

    @property
    def module(self) -> Path:
        assert self.helper.script is not None and self.helper.script.path is not None
        return self.helper.script.path


def handoffs(setup: TrainingSetup, may_build: Callable[[str], bool]) -> list[Handoff]:
    """The calls of this script that give a pretrained model to another module's function that
    trains it at one rate. `may_build` is the prefilter's text test: a module whose text fails
    it is never parsed for this."""
    script, project = setup.script, setup.script.project
    if project is None or script.path is None:
        return []
    found = []
    for site in script.calls:
        if site.qualname is None or not site.node.args:
            continue
        module = project.defining_module(script, site.qualname)
        text = project.text(module) if module is not None else None
        if text is None or not may_build(text):
            continue
        symbol = script.symbol(site.qualname)
        if symbol is None or symbol.function is None or symbol.script is script:
            continue
        inside = _uniform_inside(symbol.script, symbol.function)
        if not inside:
            continue
        if not any(setup.is_pretrained(arg.value, site.scope, site.seq) for arg in site.node.args):
            continue
        found += [Handoff(site, symbol.function, line, kind) for line, kind in inside]
    return found


def _uniform_inside(script: Script, function: Scope) -> list[tuple[int, str]]:
    """(line, kind) of the uniform sites in `function` (and what it nests), its parameters
    taken to be pretrained models; found once per module and function."""
    memo = script.helper_sites
    if id(function) not in memo:
        setup = TrainingSetup(script, assume_pretrained=True)
        sites = [u for u in uniform_sites(setup) if _within(u.site.scope, function)]
        lines = _call_lines(script.text, function.name) if sites else {}
        memo[id(function)] = [(_line_of(script, function, lines, u.site), u.kind) for u in sites]
    return memo[id(function)]


def _call_lines(text: str, function: str) -> dict[str | None, list[int]]:
    """The lines of the calls in a module's function `function`, by the called name, in order:
    CPython's parser places them far faster than LibCST's position metadata."""
    lines: dict[str | None, list[int]] = {}
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return lines
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function:
            for call in ast.walk(node):
                if isinstance(call, ast.Call):
                    func = call.func
                    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
                    lines.setdefault(name, []).append(call.lineno)
    for found in lines.values():
        found.sort()
    return lines


def _line_of(
    script: Script, function: Scope, lines: dict[str | None, list[int]], site: CallSite
) -> int:
    """The line of `site`: the n-th call of its name in the function, in source order."""
    name = last_name(site.node.func)
    same = [
        other
        for other in script.calls
        if last_name(other.node.func) == name and _within(other.scope, function)
    ]
    index = next((i for i, other in enumerate(same) if other is site), 0)
    found = lines.get(name, [])
    return found[min(index, len(found) - 1)] if found else 0


def _within(scope: Scope | None, function: Scope) -> bool:
    while scope is not None:
        if scope is function:
            return True
        scope = scope.parent
    return False
