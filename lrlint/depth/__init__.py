"""The one model of depth: which layer a parameter is in.

Used by the static rules (without torch), the fixer and the runtime checker alike, so this
package imports nothing heavy: its layouts are stored data and string functions.

    >>> layout = layout_for("bert", "BertForSequenceClassification")
    >>> str(layout.depth("bert.encoder.layer.3.attention.self.query.weight"))
    'block 3'
"""

from __future__ import annotations

from lrlint.depth.families import FAMILIES, Family
from lrlint.depth.model import (
    EMBEDDINGS,
    FINAL,
    HEAD,
    Depth,
    Layout,
    Tier,
    concrete_class,
    family_from_name,
    infer_layout,
    layout_for,
    num_blocks_from_name,
)

__all__ = [
    "EMBEDDINGS",
    "FAMILIES",
    "FINAL",
    "HEAD",
    "Depth",
    "Family",
    "Layout",
    "Tier",
    "concrete_class",
    "family_from_name",
    "infer_layout",
    "layout_for",
    "num_blocks_from_name",
]
