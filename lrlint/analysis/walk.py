"""A read-only walk over a LibCST tree, several times faster than `node.visit(visitor)`.

LibCST's own traversal rebuilds every node it passes (it is made for transformers), which
makes a read-only pass cost as much as parsing again. This walk only reads: it calls
`visit_<Type>(node)` (a False return skips the children) and `leave_<Type>(node)` on the
visitor, as CSTVisitor would, in the order the children appear in the source, and it skips
whitespace, commas and brackets, which no visitor here looks at.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

import libcst as cst

_SKIPPED_FIELDS = (
    "whitespace",
    "lpar",
    "rpar",
    "lbracket",
    "rbracket",
    "lbrace",
    "rbrace",
    "comma",
    "semicolon",
    "leading_lines",
    "lines_after_decorators",
    "header",
    "footer",
    "colon",
    "equal",
    "newline",
    "indent",
)


@cache
def _child_fields(node_type: type) -> tuple[str, ...]:
    names = [f.name for f in dataclasses.fields(node_type)]
    fields = tuple(
        n for n in names if not any(n.startswith(s) or n.endswith(s) for s in _SKIPPED_FIELDS)
    )
    if node_type in (cst.FunctionDef, cst.ClassDef):  # decorators come first in the source
        fields = ("decorators", *(n for n in fields if n != "decorators"))
    return fields


@cache
def _handlers(visitor_type: type, node_type: type) -> tuple[Any, Any]:
    name = node_type.__name__
    return getattr(visitor_type, f"visit_{name}", None), getattr(
        visitor_type, f"leave_{name}", None
    )


def walk(node: cst.CSTNode, visitor: object) -> None:
    visit, leave = _handlers(type(visitor), type(node))
    if visit is None or visit(visitor, node) is not False:
        for field in _child_fields(type(node)):
            value = getattr(node, field)
            if isinstance(value, cst.CSTNode):
                walk(value, visitor)
            elif isinstance(value, (list, tuple)):
                for item in value:
                    if isinstance(item, cst.CSTNode):
                        walk(item, visitor)
    if leave is not None:
        leave(visitor, node)
