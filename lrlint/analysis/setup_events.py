"""The values the setup interpreter works with, and the events it records.

A model is a `Module` (its skeleton and the module paths selected), a parameter a `Param` (a
name in the skeleton); numbers, strings, lists and dicts are plain Python values; what cannot
be known is UNKNOWN. The events (`OptimizerBuilt`, `LrWrite`, `SchedulerBuilt`, `Unfreeze`)
are what the parameter-group rules judge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from lrlint.analysis.skeleton import Skeleton


class _Unknown:
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


@dataclass(frozen=True)
class Module:
    skeleton: Skeleton
    paths: tuple[str, ...]  # module paths from the model root; "" is the root


@dataclass(frozen=True)
class Param:
    skeleton: Skeleton
    name: str


@dataclass(frozen=True)
class ModelConfig:
    skeleton: Skeleton


@dataclass
class Group:
    """One parameter group as the optimizer would hold it."""

    params: frozenset[Param]
    options: dict[str, Any]  # lr, weight_decay... with the optimizer's defaults filled in
    node: cst.CSTNode  # where the group is written (the dict, or the optimizer call)


@dataclass
class OptimizerBuilt:
    node: cst.Call
    qualname: str
    groups: list[Group]
    frozen: frozenset[Param]  # frozen when the optimizer was built
    explicit_groups: bool  # the user wrote parameter groups (a list of dicts)
    added: list[Group] = field(default_factory=list)  # add_param_group, later

    def __post_init__(self) -> None:
        # the rates as built, before any scheduler or param_groups write changes them
        self.initial_rates = tuple(g.options.get("lr", UNKNOWN) for g in self.groups)


@dataclass
class LrWrite:
    node: cst.CSTNode  # the assignment
    optimizer: OptimizerBuilt
    rates_after: tuple[Any, ...]


@dataclass
class SchedulerBuilt:
    node: cst.Call
    name: str
    optimizer: OptimizerBuilt
    arguments: dict[str, Any]


@dataclass
class Unfreeze:
    node: cst.CSTNode
    params: frozenset[Param]
    optimizers: tuple[OptimizerBuilt, ...]  # those that existed at that point


@dataclass
class Events:
    optimizers: list[OptimizerBuilt] = field(default_factory=list)
    lr_writes: list[LrWrite] = field(default_factory=list)
    schedulers: list[SchedulerBuilt] = field(default_factory=list)
    unfreezes: list[Unfreeze] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)  # id() of calls and requires_grad writes run
    model_names: dict[int, str] = field(default_factory=dict)  # id(skeleton) -> variable name
    opaque_freeze: bool = False  # a freezing call we could not follow ran (PEFT, a helper)
    frozen_at_end: frozenset[Param] = frozenset()
    optimizer_names: dict[str, list[OptimizerBuilt]] = field(default_factory=dict)
    inconclusive: bool = False  # some run gave up: rules that need completeness stay quiet
    # the iterables iterated again once spent (a `named_parameters()` generator kept in a name)
    spent: list[cst.BaseExpression] = field(default_factory=list)
