"""A model cut into the modules a fix writes groups for: embeddings, block lists, named
blocks, final parts (pooler, final norm) and new heads, in depth order.

Everything comes from the skeleton, so the written groups cover exactly the parameters the model
of depth knows; `cover_all` checks that nothing is left between them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lrlint.analysis.skeleton import Skeleton
from lrlint.depth import Tier


@dataclass
class ModelParts:
    embeddings: list[str] = field(default_factory=list)  # module paths from the model root
    stacks: list[str] = field(default_factory=list)  # ModuleLists of blocks, sliced in halves
    named_blocks: list[tuple[int, str]] = field(default_factory=list)  # (block index, path)
    final: list[str] = field(default_factory=list)
    heads: list[str] = field(default_factory=list)
    shared_blocks: bool = False

    @property
    def has_blocks(self) -> bool:
        return bool(self.stacks or self.named_blocks)


class PartsError(Exception):
    """The model cannot be cut into modules that cover it exactly: refuse to fix."""


def model_parts(skeleton: Skeleton) -> ModelParts:
    try:
        return _model_parts(skeleton)
    except ValueError as exc:  # a depth the skeleton cannot number (T5 of unknown size)
        raise PartsError(str(exc)) from None


def _model_parts(skeleton: Skeleton) -> ModelParts:
    parts = ModelParts(shared_blocks=skeleton.shared_blocks)
    stacks = sorted(skeleton.stack_sizes, key=lambda path: _first_index(skeleton, path))
    order = {name: index for index, name in enumerate(skeleton.names)}
    # by depth, then as the model registers them (the seed's sentence_attention before classifier)
    for name in sorted(skeleton.names, key=lambda n: (skeleton.depth(n), order[n])):
        stack = next((s for s in stacks if name.startswith(f"{s}.")), None)
        if stack is not None:
            if stack not in parts.stacks:
                parts.stacks.append(stack)
            continue
        depth = skeleton.depth(name)
        module = skeleton.part(name)
        if module == name:  # a bare parameter (nn.Parameter on the model): no module to name
            raise PartsError(f"{name} is a parameter of the model itself, not of a module")
        if depth.tier == Tier.EMBEDDINGS:
            _add(parts.embeddings, module)
        elif depth.tier == Tier.BLOCK:
            if all(path != module for _, path in parts.named_blocks):
                parts.named_blocks.append((depth.index, module))
        elif depth.tier == Tier.FINAL:
            _add(parts.final, module)
        else:
            _add(parts.heads, module)
    _check_disjoint(parts)
    for tied in skeleton.tied_paths():
        for head in parts.heads:
            if tied == head or tied.startswith(f"{head}."):
                raise PartsError(
                    f"{head} holds the input embeddings too (tied weights): a group for it "
                    "would hold them twice, and torch refuses that"
                )
    return parts


def _first_index(skeleton: Skeleton, stack: str) -> tuple[object, ...]:
    first = next(n for n in skeleton.names if n.startswith(f"{stack}."))
    return (skeleton.depth(first), stack)


def _add(paths: list[str], path: str) -> None:
    if path not in paths:
        paths.append(path)


def _check_disjoint(parts: ModelParts) -> None:
    every = [
        *parts.embeddings,
        *parts.stacks,
        *(path for _, path in parts.named_blocks),
        *parts.final,
        *parts.heads,
    ]
    for path in every:
        for other in every:
            if path != other and other.startswith(f"{path}."):
                raise PartsError(f"{other} sits inside {path}: the groups would overlap")
