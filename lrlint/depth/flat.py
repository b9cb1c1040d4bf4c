"""Which parameters are flat (`p.ndim <= 1`: biases and normalisation weights), told by name,
and the flat parameters of each family's models: what a `no_decay` list must catch."""

from __future__ import annotations

import functools
import re

from lrlint.depth.model import layout_for

_NORM = re.compile(
    r"(^|[._])(layernorm|layer_norm|norm|ln|ln_\w+|ln\d*|rms_?norm|bn\d*|batchnorm)", re.I
)


def is_flat(name: str) -> bool:
    """Biases and normalisation weights (what `p.ndim <= 1` selects), by parameter name."""
    last = name.rsplit(".", 1)[-1]
    if last.endswith("bias") or last in {"cls_token", "mask_token"}:
        return last.endswith("bias")
    module = name.rsplit(".", 1)[0] if "." in name else ""
    return last == "weight" and bool(_NORM.search(module.rsplit(".", 1)[-1]))


@functools.cache
def flat_names(family: str) -> tuple[str, ...]:
    """The flat parameters of a model of `family` (two blocks a stack), by real name."""
    names = layout_for(family).representative_names(2)
    return tuple(name for name in names if is_flat(name))
