"""Checking real parameter groups against the real model, with the one model of depth.

`check(model, optimizer)` works on any `torch.nn.Module` and any optimizer whose
`param_groups` are torch's (or on the list of group dicts an optimizer was about to be built
from, which is how overlapping groups are seen before torch refuses them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from lrlint.depth import Depth, Tier, infer_layout
from lrlint.runtime.report import Report, Row, RuntimeFinding

DEFAULT_CODES = frozenset({"LR001", "LR003", "LR004", "LR005", "LR007"})


@dataclass(frozen=True)
class _Param:
    name: str
    depth: Depth
    module: str
    numel: int
    ndim: int
    trainable: bool


def check(
    model: Any,
    optimizer: Any,
    *,
    pretrained: bool = True,
    scheduler: Any = None,
    rates_after_step: Sequence[float] | None = None,
    configured_rates: Sequence[float] | None = None,
    enabled: Iterable[str] | None = None,
) -> Report:
    """Check an optimizer's groups against the model it trains.

    `pretrained`: the model was loaded with pretrained weights (LR001/LR003 apply to
    fine-tuning only). `rates_after_step`: each group's lr after the scheduler's first step
    (the harness measures it), for LR007. `configured_rates`: each group's lr as the optimizer
    was built, before any scheduler (OneCycleLR rewrites even `initial_lr`). `enabled`: rule
    codes; by default those on by default.
    """
    codes = frozenset(enabled) if enabled is not None else DEFAULT_CODES
    named = list(model.named_parameters())
    layout = infer_layout([name for name, _ in named], class_name=type(model).__name__)
    params = {
        id(tensor): _Param(
            name,
            layout.depth(name),
            layout.module_of(name),
            tensor.numel(),
            tensor.dim(),
            bool(tensor.requires_grad),
        )
        for name, tensor in named
    }
    groups = list(getattr(optimizer, "param_groups", optimizer))
    membership: dict[int, list[int]] = defaultdict(list)
    for index, group in enumerate(groups):
        for tensor in _tensors(group["params"]):
            membership[id(tensor)].append(index)
    rates = [_rate(group) for group in groups]
    for index, configured in enumerate(configured_rates or ()):
        if index < len(rates):
            rates[index] = float(configured) * float(groups[index].get("lr_scale", 1.0))
    report = Report(type(model).__name__, layout.family)
    report.groups = [
        {
            "lr": rates[index],
            "weight_decay": group.get("weight_decay", 0.0),
            "parameters": sum(
                params[id(t)].numel for t in _tensors(group["params"]) if id(t) in params
            ),
        }
        for index, group in enumerate(groups)
    ]
    if scheduler is not None:
        report.scheduler = type(scheduler).__name__
    report.rows = _rows(params, membership, groups, rates)
    report.frozen = [row.module for row in report.rows if row.trainable == 0]
    if layout.shared_blocks:
        report.notes.append(
            "this model shares one layer across all depths: no per-layer rate is possible"
        )
    found: list[RuntimeFinding] = []
    if "LR005" in codes:
        found += _overlaps(params, membership)
    if "LR004" in codes:
        found += _left_out(params, membership)
    placed = [(p, rates[membership[key][0]]) for key, p in params.items() if membership.get(key)]
    placed = [(p, lr) for p, lr in placed if p.trainable and lr is not None]
    if pretrained and "LR001" in codes:
        found += _uniform(placed, params)
    if pretrained and "LR003" in codes:
        found += _falling(placed)
    if "LR006" in codes:
        found += _decayed_flat(params, membership, groups)
    if "LR007" in codes and rates_after_step is not None:
        found += _flattened(rates, list(rates_after_step), report.scheduler)
    report.findings = found
    return report


def _tensors(params: Any) -> list[Any]:
    return list(params) if not hasattr(params, "dim") else [params]


def _rate(group: dict[str, Any]) -> float | None:
    """The configured rate: `initial_lr` survives a scheduler's rewrite; timm's `lr_scale` is
    applied by its scheduler later."""
    lr = group.get("initial_lr", group.get("lr"))
    if lr is None:
        return None
    return float(lr) * float(group.get("lr_scale", 1.0))


def _rows(
    params: dict[int, _Param],
    membership: dict[int, list[int]],
    groups: list[dict[str, Any]],
    rates: list[float | None],
) -> list[Row]:
    by_module: dict[str, list[tuple[int, _Param]]] = defaultdict(list)
    for key, param in params.items():
        by_module[param.module].append((key, param))
    rows = []
    for module, members in by_module.items():
        depth = min(p.depth for _, p in members)
        lrs = sorted(
            {
                rates[i]
                for key, _ in members
                for i in membership.get(key, [])
                if rates[i] is not None
            }
        )
        decays = sorted(
            {
                float(groups[i].get("weight_decay", 0.0))
                for key, _ in members
                for i in membership.get(key, [])
            }
        )
        rows.append(
            Row(
                depth=str(depth),
                order=(int(depth.tier), depth.index),
                module=module,
                parameters=sum(p.numel for _, p in members),
                trainable=sum(p.numel for _, p in members if p.trainable),
                lr=lrs,  # type: ignore[arg-type]
                weight_decay=decays,
                head=depth.tier == Tier.HEAD,
            )
        )
    return sorted(rows, key=lambda row: (row.order, row.module))


def _modules(params: Iterable[_Param], limit: int = 4) -> str:
    ordered: list[str] = []
    for param in sorted(params, key=lambda p: (p.depth, p.name)):
        if param.module not in ordered:
            ordered.append(param.module)
    shown = ordered[:limit] + ([f"{len(ordered) - limit} more"] if len(ordered) > limit else [])
    return ", ".join(shown)


def _overlaps(params: dict[int, _Param], membership: dict[int, list[int]]) -> list[RuntimeFinding]:
    shared = [params[key] for key, where in membership.items() if len(where) > 1 and key in params]
    if not shared:
        return []
    names = ", ".join(p.name for p in shared[:3]) + (" ..." if len(shared) > 3 else "")
    return [
        RuntimeFinding(
            "LR005",
            f"{len(shared)} parameters are in more than one group ({names}; in "
            f"{_modules(shared)}): torch raises 'some parameters appear in more than one "
            "parameter group'",
        )
    ]


def _left_out(params: dict[int, _Param], membership: dict[int, list[int]]) -> list[RuntimeFinding]:
    missing = [p for key, p in params.items() if p.trainable and not membership.get(key)]
    if not missing:
        return []
    names = ", ".join(p.name for p in missing[:3]) + (" ..." if len(missing) > 3 else "")
    count = sum(p.numel for p in missing)
    return [
        RuntimeFinding(
            "LR004",
            f"parameter groups leave out {_modules(missing)} ({len(missing)} trainable tensors, "
            f"{count:,} parameters: {names}): they will never be trained",
        )
    ]


def _uniform(placed: list[tuple[_Param, float]], params: dict[int, _Param]) -> list[RuntimeFinding]:
    """Every parameter trainable, every one in a group, all at one rate."""
    if not placed or any(not p.trainable for p in params.values()):
        return []
    if len(placed) < len(params):  # some are in no group: that is LR004, not one rate
        return []
    rates = {lr for _, lr in placed}
    if len(rates) != 1:
        return []
    (rate,) = rates
    return [
        RuntimeFinding(
            "LR001",
            f"every layer of the pretrained model trains at lr={rate:g}; lower layers should "
            "move less: use discriminative learning rates or freeze the lower layers",
        )
    ]


def _falling(placed: list[tuple[_Param, float]]) -> list[RuntimeFinding]:
    """The first depth at which a rate falls below one at a strictly lower depth."""
    ordered = sorted(placed, key=lambda item: (item[0].depth, item[1]))
    best: tuple[_Param, float] | None = None  # the fastest parameter at lower depths
    current_depth: Depth | None = None
    pending: tuple[_Param, float] | None = None  # the fastest at the current depth
    for param, lr in ordered:
        if param.depth != current_depth:
            if pending is not None and (best is None or pending[1] > best[1]):
                best = pending
            current_depth, pending = param.depth, None
        if best is not None and lr < best[1]:
            below, fast = best
            what = "the new head" if param.depth.tier == Tier.HEAD else param.module
            return [
                RuntimeFinding(
                    "LR003",
                    f"{what} trains at lr={lr:g}, slower than {below.module} ({below.depth}) at "
                    f"lr={fast:g} below it: rates should rise with depth, the new head highest",
                )
            ]
        if pending is None or lr > pending[1]:
            pending = (param, lr)
    return []


def _decayed_flat(
    params: dict[int, _Param], membership: dict[int, list[int]], groups: list[dict[str, Any]]
) -> list[RuntimeFinding]:
    flat = [
        p
        for key, p in params.items()
        if p.trainable
        and p.ndim <= 1
        and any(float(groups[i].get("weight_decay", 0.0)) > 0 for i in membership.get(key, []))
    ]
    if not flat:
        return []
    return [
        RuntimeFinding(
            "LR006",
            f"weight decay applies to {len(flat)} biases and normalisation weights (in "
            f"{_modules(flat, 3)}): give parameters with p.ndim <= 1 weight_decay=0.0",
        )
    ]


def _flattened(
    rates: list[float | None], after: list[float], scheduler: str | None
) -> list[RuntimeFinding]:
    before = {r for r in rates if r is not None}
    if len(before) < 2 or len(set(after)) != 1:
        return []
    return [
        RuntimeFinding(
            "LR007",
            f"after the first step of {scheduler or 'the scheduler'} every group trains at "
            f"lr={after[0]:g}: the per-group rates ({min(before):g} to {max(before):g}) are "
            "flattened",
        )
    ]
