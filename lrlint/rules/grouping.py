"""Shared wording for the parameter-group rules: which parts of a model a set of parameters
covers, and numbers as users wrote them."""

from __future__ import annotations

from collections.abc import Iterable

from lrlint.analysis.setup_events import UNKNOWN, OptimizerBuilt, Param
from lrlint.analysis.skeleton import Skeleton


def skeleton_of(optimizer: OptimizerBuilt) -> Skeleton | None:
    """The one model an optimizer's groups draw from, or None (none, or several)."""
    skeletons = {id(p.skeleton): p.skeleton for g in optimizer.groups for p in g.params}
    return next(iter(skeletons.values())) if len(skeletons) == 1 else None


def parts(params: Iterable[Param], model_name: str, limit: int = 4) -> str:
    """`model.bert.pooler, model.sentence_attention` for the modules these parameters are in,
    with runs of blocks folded (`model.bert.encoder.layer.0-5`)."""
    params = list(params)
    if not params:
        return ""
    skeleton = params[0].skeleton
    ordered: list[str] = []
    for name in sorted({p.name for p in params}, key=lambda n: (skeleton.depth(n), n)):
        part = skeleton.part(name)
        if part not in ordered:
            ordered.append(part)
    folded = _fold_blocks(ordered)
    shown = [f"{model_name}.{part}" if part else model_name for part in folded[:limit]]
    if len(folded) > limit:
        shown.append(f"{len(folded) - limit} more")
    return ", ".join(shown)


def _fold_blocks(parts: list[str]) -> list[str]:
    """`a.layer.0, a.layer.1, a.layer.2` -> `a.layer.0-2`."""
    result: list[str] = []
    run: tuple[str, int, int] | None = None
    for part in parts:
        stem, _, last = part.rpartition(".")
        if last.isdigit() and run is not None and run[0] == stem and int(last) == run[2] + 1:
            run = (stem, run[1], int(last))
            continue
        if run is not None:
            result.append(_run_text(run))
            run = None
        if last.isdigit() and stem:
            run = (stem, int(last), int(last))
        else:
            result.append(part)
    if run is not None:
        result.append(_run_text(run))
    return result


def _run_text(run: tuple[str, int, int]) -> str:
    stem, first, last = run
    return f"{stem}.{first}" if first == last else f"{stem}.{first}-{last}"


def number(value: object) -> str:
    if value is UNKNOWN or not isinstance(value, (int, float)):
        return "?"
    return f"{value:.4g}"  # 2e-05, not 2.0000000000000003e-05


def known_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
