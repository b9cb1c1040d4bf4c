"""LR007: a later step overwrites the per-group learning rates with one value."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from lrlint.analysis.setup_events import OptimizerBuilt
from lrlint.analysis.walk import walk
from lrlint.rules.base import Finding, Rule, RuleContext
from lrlint.rules.grouping import known_number, number

_SCALE_OWN_RATE = (
    "scale each group's own rate instead (keep it once with group.setdefault('base_lr', "
    "group['lr']), then group['lr'] = group['base_lr'] * factor)"
)


def _distinct_rates(optimizer: OptimizerBuilt) -> set[float]:
    return {rate for rate in optimizer.initial_rates if known_number(rate)}


class LrFlattened(Rule):
    code = "LR007"

    def check(self, context: RuleContext) -> Iterator[Finding]:
        events = context.setup.events
        for scheduler in events.schedulers:
            rates = _distinct_rates(scheduler.optimizer)
            if len(rates) < 2:
                continue
            for key, value in scheduler.arguments.items():
                if key in {"max_lr", "base_lr"} and known_number(value):
                    yield Finding(
                        scheduler.node,
                        f"{scheduler.name}({key}={number(value)}) gives every parameter group "
                        f"the same rate, flattening the per-group rates "
                        f"({number(min(rates))} to {number(max(rates))}); pass one value per "
                        f"group: {key}=[group['lr'] * k for group in optimizer.param_groups]",
                    )
                    break
        reported: set[int] = set()
        for node, optimizer_name in _uniform_writes(context.setup.script.param_group_loops):
            optimizers = events.optimizer_names.get(optimizer_name, [])
            rates = set().union(*(_distinct_rates(o) for o in optimizers)) if optimizers else set()
            if len(rates) < 2:
                continue
            reported.add(id(node))
            yield Finding(
                node,
                f"this writes one value into every group of {optimizer_name}.param_groups, "
                f"flattening the per-group rates ({number(min(rates))} to {number(max(rates))}); "
                f"{_SCALE_OWN_RATE}",
            )
        for write in events.lr_writes:
            before = _distinct_rates(write.optimizer)
            after = set(write.rates_after)
            if id(write.node) in reported or len(before) < 2 or len(after) != 1:
                continue
            (value,) = after
            if not known_number(value):
                continue
            reported.add(id(write.node))
            yield Finding(
                write.node,
                f"this sets every parameter group's lr to {number(value)}, flattening the "
                f"per-group rates ({number(min(before))} to {number(max(before))}); "
                f"{_SCALE_OWN_RATE}",
            )


def _uniform_writes(loops: list[cst.For]) -> list[tuple[cst.Assign, str]]:
    """`for g in opt.param_groups: g["lr"] = <expr without g>` wherever it stands, also in loops
    the interpreter cannot run (over a data loader): (the assignment, `opt`)."""
    found = []
    for node in loops:
        source = node.iter
        if not (
            isinstance(node.target, cst.Name)
            and isinstance(source, cst.Attribute)
            and isinstance(source.value, cst.Name)
        ):
            continue
        group = node.target.value
        for statement in node.body.body:
            if not isinstance(statement, cst.SimpleStatementLine):
                continue
            for small in statement.body:
                if (
                    isinstance(small, cst.Assign)
                    and len(small.targets) == 1
                    and _is_lr_of(small.targets[0].target, group)
                    and group not in _names_in(small.value)
                ):
                    found.append((small, source.value.value))
    return found


def _is_lr_of(target: cst.BaseExpression, group: str) -> bool:
    return (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Name)
        and target.value.value == group
        and len(target.slice) == 1
        and isinstance(target.slice[0].slice, cst.Index)
        and isinstance(target.slice[0].slice.value, cst.SimpleString)
        and target.slice[0].slice.value.evaluated_value == "lr"
    )


def _names_in(node: cst.CSTNode) -> set[str]:
    collector = _NameCollector()
    walk(node, collector)
    return collector.names


class _NameCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_Name(self, node: cst.Name) -> None:
        self.names.add(node.value)
