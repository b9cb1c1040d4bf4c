"""Applying a fix's edits to the LibCST tree, touching nothing else.

Edits name the original nodes (those the analysis saw); one transformer pass applies them all,
so comments and formatting outside the rewritten statements stay byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst


@dataclass
class Edits:
    # call -> (new value of its params argument, whether to drop its `lr=` / second argument)
    params: dict[cst.Call, tuple[str, bool]] = field(default_factory=dict)
    # call -> which positional argument is its params when not the first (a factory's second)
    params_position: dict[cst.Call, int] = field(default_factory=dict)
    # call -> keyword arguments to set (replacing one of the same name)
    keywords: dict[cst.Call, dict[str, str]] = field(default_factory=dict)
    # expression -> its replacement
    expressions: dict[cst.BaseExpression, str] = field(default_factory=dict)
    # a node inside a statement -> statements to put before that statement
    before: dict[cst.CSTNode, list[str]] = field(default_factory=dict)
    # a node inside a statement -> statements to put in its place (its comment kept)
    replace: dict[cst.CSTNode, list[str]] = field(default_factory=dict)
    # loop -> a statement to put first in its body (after a leading `if ...: break`)
    loop_top: dict[cst.For | cst.While, str] = field(default_factory=dict)
    # function -> a statement to put first in its body (after its docstring)
    body_top: dict[cst.FunctionDef, str] = field(default_factory=dict)
    imports: list[str] = field(default_factory=list)  # `import torch`, added once at the top


def apply(module: cst.Module, edits: Edits) -> cst.Module:
    finder = _StatementFinder(set(edits.before) | set(edits.replace))
    module.visit(finder)
    before: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
    for inner, lines in edits.before.items():
        statement = finder.found[inner]
        before.setdefault(statement, []).extend(_statements(lines, module))
    replaced: dict[cst.CSTNode, list[cst.BaseStatement]] = {}
    for inner, lines in edits.replace.items():
        statement = finder.found[inner]
        replaced[statement] = _keep_comment(statement, _statements(lines, module))
    updated = module.visit(_Editor(edits, before, module, replaced))
    assert isinstance(updated, cst.Module)
    return _add_imports(updated, edits.imports)


def _statements(lines: list[str], module: cst.Module) -> list[cst.BaseStatement]:
    # a first `pass` keeps comments above the first statement as its leading lines (LibCST
    # would make them the module's header and drop them here)
    text = _newlines("pass\n" + "\n".join(lines) + "\n", module)
    parsed = cst.parse_module(text, config=module.config_for_parsing)
    return list(parsed.body[1:])


def _keep_comment(statement: cst.CSTNode, new: list[cst.BaseStatement]) -> list[cst.BaseStatement]:
    """The replaced line's trailing comment, on the first new line (a loop's header)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and new):
        return new
    comment = statement.trailing_whitespace
    first = new[0]
    if comment.comment is None:
        return new
    if isinstance(first, cst.SimpleStatementLine):
        first = first.with_changes(trailing_whitespace=comment)
    elif isinstance(first, cst.For | cst.While | cst.If | cst.With) and isinstance(
        first.body, cst.IndentedBlock
    ):
        first = first.with_changes(body=first.body.with_changes(header=comment))
    return [first, *new[1:]]


class _StatementFinder(cst.CSTVisitor):
    """The innermost statement around each node (where statements can be put before it)."""

    def __init__(self, wanted: set[cst.CSTNode]) -> None:
        self.wanted = wanted
        self.stack: list[cst.CSTNode] = []
        self.found: dict[cst.CSTNode, cst.CSTNode] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.append(node)
        if node in self.wanted and self.stack:
            self.found[node] = self.stack[-1]
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        if isinstance(original_node, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            self.stack.pop()


class _Editor(cst.CSTTransformer):
    def __init__(
        self,
        edits: Edits,
        before: dict[cst.CSTNode, list[cst.BaseStatement]],
        module: cst.Module,
        replaced: dict[cst.CSTNode, list[cst.BaseStatement]],
    ) -> None:
        super().__init__()
        self.edits = edits
        self.before = before
        self.module = module
        self.replaced = replaced

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.FlattenSentinel[cst.CSTNode] | cst.RemovalSentinel:
        node = updated_node
        if isinstance(original_node, cst.Call):
            node = self._call(original_node, node)  # type: ignore[arg-type]
        replacement = self.edits.expressions.get(original_node)  # type: ignore[arg-type]
        if replacement is not None:
            node = _expression(replacement, self.module)
        if isinstance(original_node, (cst.For, cst.While)) and original_node in self.edits.loop_top:
            node = self._loop_top(original_node, node)  # type: ignore[arg-type]
        if isinstance(original_node, cst.FunctionDef) and original_node in self.edits.body_top:
            node = self._body_top(original_node, node)  # type: ignore[arg-type]
        statements = self.before.get(original_node)
        instead = self.replaced.get(original_node)
        if instead:  # the first new statement takes the old one's leading lines (comments)
            leading = [*getattr(node, "leading_lines", ()), *instead[0].leading_lines]
            node = instead[0].with_changes(leading_lines=leading)
            placed = _prepend(statements, node) if statements else [node]
            return cst.FlattenSentinel([*placed, *instead[1:]])
        if statements:
            return cst.FlattenSentinel(_prepend(statements, node))
        return node

    def _call(self, original: cst.Call, node: cst.Call) -> cst.Call:
        if original in self.edits.params:
            text, drop_lr = self.edits.params[original]
            value = _expression(text, self.module)
            at = self.edits.params_position.get(original, 0) + 1
            args: list[cst.Arg] = []
            positional = 0
            for arg in node.args:
                is_positional = arg.keyword is None and not arg.star
                if is_positional:
                    positional += 1
                if (arg.keyword is not None and arg.keyword.value == "params") or (
                    is_positional and positional == at
                ):
                    args.append(arg.with_changes(value=value))
                elif drop_lr and arg.keyword is not None and arg.keyword.value == "lr":
                    # every group now sets its own lr. A positional lr stays (dropping it
                    # would shift betas into its place), and so does an lr with a comment.
                    if not _has_comment(arg.comma):
                        continue
                    args.append(arg)
                else:
                    args.append(arg)
            node = node.with_changes(args=_fix_trailing_comma(args))
        for name, text in self.edits.keywords.get(original, {}).items():
            node = _set_keyword(node, name, _expression(text, self.module))
        return node

    def _body_top(self, original: cst.FunctionDef, node: cst.FunctionDef) -> cst.FunctionDef:
        (statement,) = _statements([self.edits.body_top[original]], self.module)
        body = node.body
        if not isinstance(body, cst.IndentedBlock):
            return node
        statements = list(body.body)
        at = 1 if statements and _is_docstring(statements[0]) else 0
        statements.insert(at, statement)
        return node.with_changes(body=body.with_changes(body=statements))

    def _loop_top(
        self, original: cst.For | cst.While, node: cst.For | cst.While
    ) -> cst.For | cst.While:
        (statement,) = _statements([self.edits.loop_top[original]], self.module)
        body = node.body
        if not isinstance(body, cst.IndentedBlock):
            return node
        statements = list(body.body)
        # `if iter_num >= max_iters: break` first: a step past the end is not thawed for
        at = 1 if statements and leaves_loop(statements[0]) else 0
        statements.insert(at, statement)
        return node.with_changes(body=body.with_changes(body=statements))


def leaves_loop(statement: cst.CSTNode) -> bool:
    """`if ...: break` (with nothing in an `else`)."""
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    body = statement.body
    if isinstance(body, cst.SimpleStatementSuite):
        return any(isinstance(s, cst.Break) for s in body.body)
    last = body.body[-1] if isinstance(body, cst.IndentedBlock) and body.body else None
    return isinstance(last, cst.SimpleStatementLine) and any(
        isinstance(s, cst.Break) for s in last.body
    )


def _newlines(text: str, module: cst.Module) -> str:
    """What we write uses the file's own line endings (CRLF stays CRLF)."""
    return text.replace("\n", module.default_newline) if module.default_newline != "\n" else text


def _expression(text: str, module: cst.Module) -> cst.BaseExpression:
    return cst.parse_expression(_newlines(text, module), config=module.config_for_parsing)


def _set_keyword(call: cst.Call, name: str, value: cst.BaseExpression) -> cst.Call:
    """`name=value` as the last argument, laid out like the arguments before it (one per line
    in a call written one per line)."""
    args = [a for a in call.args if not (a.keyword is not None and a.keyword.value == name)]
    equal = cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
    )
    new = cst.Arg(keyword=cst.Name(name), value=value, equal=equal)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma) and _has_newline(last.comma):
        # one argument per line: the new one takes the last one's closing comma, and the last
        # one takes the comma (and indentation) that separates the others
        between = args[-2].comma if len(args) > 1 else last.comma
        args[-1] = last.with_changes(comma=between)
        new = new.with_changes(comma=last.comma)
    else:
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return call.with_changes(args=[*args, new])


def _prepend(statements: list[cst.BaseStatement], node: cst.CSTNode) -> list[cst.CSTNode]:
    """New statements go between the statement and the blank lines or comments above it, so
    a comment that introduces the statement now introduces the new code."""
    leading = getattr(node, "leading_lines", None)
    if not leading:
        return [*statements, node]
    first = statements[0]
    first = first.with_changes(leading_lines=[*leading, *first.leading_lines])
    return [first, *statements[1:], node.with_changes(leading_lines=[])]


def _fix_trailing_comma(args: list[cst.Arg]) -> list[cst.Arg]:
    """Dropping the last argument must not leave `f(a, )` where `f(a)` was meant."""
    if args and args[-1].comma is not cst.MaybeSentinel.DEFAULT:
        last = args[-1]
        if isinstance(last.comma, cst.Comma) and not _has_newline(last.comma):
            args[-1] = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return args


def _has_comment(comma: cst.Comma | cst.MaybeSentinel) -> bool:
    if not isinstance(comma, cst.Comma):
        return False
    after = comma.whitespace_after
    if isinstance(after, cst.ParenthesizedWhitespace):
        return after.first_line.comment is not None or any(
            line.comment is not None for line in after.empty_lines
        )
    return False


def _has_newline(comma: cst.Comma) -> bool:
    return isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace)


def _add_imports(module: cst.Module, imports: list[str]) -> cst.Module:
    if not imports:
        return module
    body = list(module.body)
    position = 0
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and all(
            isinstance(small, (cst.Import, cst.ImportFrom)) for small in statement.body
        ):
            position = index + 1
        elif index == 0 and _is_docstring(statement):
            position = 1
        elif position:
            break
    new = _statements(list(dict.fromkeys(imports)), module)
    return module.with_changes(body=[*body[:position], *new, *body[position:]])


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )
