"""The second, exact stage of the prefilter: does the code (not a docstring, not a comment)
build an optimizer or a trainer that the catalogue knows?

It uses CPython's own parser (`ast`, several times faster than LibCST) and the same import
resolution as the static pass, so it answers exactly the question every rule starts from:
a file without such a call has no optimizer, no trainer and no training for any rule to judge.
None means the code does not parse: LibCST then reports the error (LR900).
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable

from lrlint.analysis import catalog

# (module, level, name) of a `from module import name` -> whether that name, in that module of
# the project, could build an optimizer or a trainer (its text passes the prefilter's first stage)
BuildsElsewhere = Callable[[str, int, str], bool]


def _is_trainer(qualname: str | None) -> bool:
    return catalog.is_hf_trainer(qualname) or qualname in catalog.LIGHTNING_TRAINERS


def builds_optimizer_or_trainer(text: str, elsewhere: BuildsElsewhere | None = None) -> bool | None:
    """With `elsewhere`, a call of a function or class imported from another module of the
    project counts when that module could build one: the helper that builds the optimizer, a
    Trainer subclass defined there."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    facts = _Facts(tree)
    if facts.builds(facts.calls):
        return True
    if elsewhere is not None:
        called = {d.split(".")[0] for d in (_dotted(c.func) for c in facts.calls) if d}
        imported = {facts.project_names[n] for n in called if n in facts.project_names}
        return any(elsewhere(*found) for found in sorted(imported))
    return False


def definition_builds(text: str, name: str) -> bool:
    """Whether the module-level function or class `name` of a module's text builds a known
    optimizer or trainer (a class: is one, or builds one in a method). A text CPython cannot
    parse answers yes: the question is then left to the full pass."""
    builders = _builders(text)
    return builders is None or name in builders


def definition_freezes(text: str, name: str) -> bool:
    """Whether the module-level function `name` of a module's text calls a freezing function
    (PEFT's `get_peft_model`, `mark_only_lora_as_trainable`, anything named for freezing) or
    sets `requires_grad` to False."""
    freezers = _freezers(text)
    return freezers is not None and name in freezers


@functools.lru_cache(maxsize=128)
def _freezers(text: str) -> frozenset[str] | None:
    if "requires_grad" not in text and "peft" not in text and "freeze" not in text.lower():
        return frozenset()  # the words every freeze needs: most modules have none
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
            _freezes(inner) for inner in ast.walk(node)
        ):
            found.add(node.name)
    return frozenset(found)


def _freezes(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return catalog.is_freezing_call(name)
    if isinstance(node, ast.Assign):
        return (
            any(isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in node.targets)
            and isinstance(node.value, ast.Constant)
            and node.value.value is False
        )
    return False


@functools.lru_cache(maxsize=128)
def _builders(text: str) -> frozenset[str] | None:
    """The module-level functions and classes of a module that build a known optimizer or
    trainer, found in one walk of the module however many of its names are asked about
    (texts come from the project's cache: the same string object, its hash kept)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    facts = _Facts(tree)
    found = set(facts.built_on_known)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)]
            if facts.builds(calls):
                found.add(node.name)
    return frozenset(found)


class _Facts:
    """The imports, classes and calls of a parsed module."""

    def __init__(self, tree: ast.Module) -> None:
        self.names: dict[str, str] = {}
        # name -> (module, level, its name there): what `from <module> import <name>` brings
        self.project_names: dict[str, tuple[str, int, str]] = {}
        classes: dict[str, list[str]] = {}
        assigned: list[tuple[str, ast.expr]] = []
        self.calls: list[ast.Call] = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                self.calls.append(node)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.names[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.names[top] = top
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    local = alias.asname or alias.name
                    if node.module and not node.level:
                        self.names[local] = f"{node.module}.{alias.name}"
                    self.project_names[local] = (node.module or "", node.level, alias.name)
            elif isinstance(node, ast.ClassDef):
                classes[node.name] = [d for d in map(_dotted, node.bases) if d]
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    assigned.append((target.id, node.value))
        self.built_on_known = _trainer_classes(classes, self.names, _is_trainer)
        self.built_on_known |= _trainer_classes(classes, self.names, catalog.is_optimizer_base)
        # `optimizer_cls = torch.optim.AdamW` (or a conditional between two): called by name
        self.built_on_known |= {name for name, value in assigned if self._optimizer_class(value)}

    def _optimizer_class(self, value: ast.expr) -> bool:
        if isinstance(value, ast.IfExp):
            return self._optimizer_class(value.body) and self._optimizer_class(value.orelse)
        dotted = _dotted(value)
        return dotted is not None and catalog.is_optimizer(_qualify(dotted, self.names))

    def builds(self, calls: list[ast.Call]) -> bool:
        for call in calls:
            dotted = _dotted(call.func)
            if dotted is None:
                if self._looked_up(call.func):
                    return True
                continue
            if dotted in self.built_on_known:
                return True
            qualname = _qualify(dotted, self.names)
            if qualname is not None and (
                catalog.is_optimizer(qualname)
                or _is_trainer(qualname)
                or (catalog.is_optimizer_factory(qualname) and _names_optimizer(call))
            ):
                return True
        return False

    def _looked_up(self, func: ast.expr) -> bool:
        """`getattr(torch.optim, name)`: an optimizer class picked by name."""
        if not (isinstance(func, ast.Call) and _dotted(func.func) == "getattr" and func.args):
            return False
        module = _dotted(func.args[0])
        return module is not None and _qualify(module, self.names) in catalog.OPTIMIZER_MODULES


def _names_optimizer(call: ast.Call) -> bool:
    """A factory call whose first argument is an optimizer's config (`cfg.optimizer`)."""
    config = call.args[0] if call.args else None
    config = config or next((k.value for k in call.keywords if k.arg == "config"), None)
    return config is not None and "optim" in ast.unparse(config).lower()


def _dotted(node: ast.expr) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _qualify(dotted: str, names: dict[str, str]) -> str | None:
    head, _, rest = dotted.partition(".")
    full = names.get(head)
    if full is None:
        return None
    return f"{full}.{rest}" if rest else full


def _trainer_classes(
    classes: dict[str, list[str]], names: dict[str, str], known: Callable[[str | None], bool]
) -> set[str]:
    """Classes of this file built (directly or through each other) on a `known` base: a
    trainer, or torch's Optimizer."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in classes.items():
            if name in found:
                continue
            if any(b in found or known(_qualify(b, names)) for b in bases):
                found.add(name)
                changed = True
    return found
