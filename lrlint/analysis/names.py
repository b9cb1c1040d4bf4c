"""Dotted names and the import table that turns `optim.AdamW` or `AW` into `torch.optim.AdamW`."""

from __future__ import annotations

import libcst as cst


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` for a Name/Attribute chain, None for anything else (calls, subscripts...)."""
    parts: list[str] = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def last_name(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return None


def keyword_arg(call: cst.Call, name: str) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    return None


def positional_arg(call: cst.Call, index: int) -> cst.BaseExpression | None:
    values = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    return values[index] if index < len(values) else None


def module_name(node: cst.BaseExpression | None) -> str:
    if node is None:
        return ""
    return dotted(node) or ""


class ImportTable:
    """Local name -> fully qualified name, from every import in the file (any scope).

    Scripts import inside functions as often as at the top; treating all imports as file-wide is
    what keeps `def main(): from torch.optim import AdamW` working, at no real cost in precision.
    """

    def __init__(self) -> None:
        self._names: dict[str, str] = {}
        self.star_modules: list[str] = []  # `from config import *`: names may come from these

    def add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            full = module_name(alias.name)
            if alias.asname is not None:
                local = module_name(alias.asname.name)  # type: ignore[arg-type]
                self._names[local] = full
            else:
                top = full.split(".")[0]
                self._names[top] = top

    def add_import_from(self, node: cst.ImportFrom) -> None:
        if isinstance(node.names, cst.ImportStar):
            self.star_modules.append("." * len(node.relative) + module_name(node.module))
            return
        # a relative import keeps its dots (`.models.Net`): the project resolves it from the
        # importing file's package, and no library name starts with a dot
        dots = "." * len(node.relative)
        module = dots + module_name(node.module)
        for alias in node.names:
            name = module_name(alias.name)
            local = module_name(alias.asname.name) if alias.asname else name  # type: ignore[arg-type]
            joined = f"{module}.{name}" if module and not module.endswith(".") else module + name
            self._names[local] = joined

    def items(self) -> list[tuple[str, str]]:
        return list(self._names.items())

    def names(self) -> list[str]:
        return list(self._names)

    def qualify(self, node: cst.BaseExpression) -> str | None:
        """The qualified name of an imported thing, or None when the head is not imported."""
        name = dotted(node)
        return self.qualify_name(name) if name is not None else None

    def qualify_name(self, name: str) -> str | None:
        """`optim.AdamW` -> `torch.optim.AdamW` when `optim` is imported, else None."""
        head, _, rest = name.partition(".")
        full = self._names.get(head)
        if full is None:
            return None
        return f"{full}.{rest}" if rest else full


def checkpoint_arg(call: cst.Call) -> cst.BaseExpression | None:
    """The checkpoint a loader is given: `from_pretrained("bert-base-cased")`, or
    `pretrained_model_name_or_path=` / `model_name=`."""
    first = positional_arg(call, 0)
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in {
            "pretrained_model_name_or_path",
            "model_name",
        }:
            first = arg.value
    return first
