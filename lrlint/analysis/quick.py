"""The second, exact stage of the prefilter: does the code (not a docstring, not a comment)
build an optimizer or a trainer that the catalogue knows?

It uses CPython's own parser (`ast`, several times faster than LibCST) and the same import
resolution as the static pass, so it answers exactly the question every rule starts from:
a file without such a call has no optimizer, no trainer and no training for any rule to judge.
None means the code does not parse: LibCST then reports the error (LR900).
"""

from __future__ import annotations

import ast

from lrlint.analysis import catalog

_TRAINERS = catalog.HF_TRAINERS | catalog.LIGHTNING_TRAINERS


def builds_optimizer_or_trainer(text: str) -> bool | None:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    names: dict[str, str] = {}
    classes: dict[str, list[str]] = {}
    calls: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            calls.append(node.func)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.ClassDef):
            classes[node.name] = [d for d in map(_dotted, node.bases) if d]
    trainer_classes = _trainer_classes(classes, names)
    for func in calls:
        dotted = _dotted(func)
        if dotted is None:
            continue
        if dotted in trainer_classes:
            return True
        qualname = _qualify(dotted, names)
        if qualname is not None and (catalog.is_optimizer(qualname) or qualname in _TRAINERS):
            return True
    return False


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


def _trainer_classes(classes: dict[str, list[str]], names: dict[str, str]) -> set[str]:
    """Classes of this file built (directly or through each other) on a known trainer."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for name, bases in classes.items():
            if name in found:
                continue
            if any(b in found or _qualify(b, names) in _TRAINERS for b in bases):
                found.add(name)
                changed = True
    return found
