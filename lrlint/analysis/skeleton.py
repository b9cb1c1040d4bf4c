"""The parameter names a model will have, known from the script alone.

A skeleton is a list of realistic parameter names (from the model of depth in `lrlint.depth`)
for what the script builds: a Hugging Face class or hub id, a timm or torchvision backbone, or a
custom `nn.Module` of the script whose attributes hold a pretrained backbone and new layers.
The interpreter evaluates parameter groups over these names; the rules ask it for depths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import TYPE_CHECKING

import libcst as cst

from lrlint.analysis import values
from lrlint.analysis.names import checkpoint_arg, dotted, last_name
from lrlint.analysis.origins import Origin
from lrlint.analysis.script import ClassInfo, Script
from lrlint.depth import Depth, Layout, Tier, concrete_class, family_from_name, layout_for
from lrlint.depth.flat import is_flat

if TYPE_CHECKING:
    from lrlint.analysis.origins import Resolver

# torch.nn layers and the parameters they own (the rest own none, or are unknown)
_NN_PARAMS = {
    "Linear": ("weight", "bias"),
    "Bilinear": ("weight", "bias"),
    "Conv1d": ("weight", "bias"),
    "Conv2d": ("weight", "bias"),
    "Conv3d": ("weight", "bias"),
    "Embedding": ("weight",),
    "LayerNorm": ("weight", "bias"),
    "RMSNorm": ("weight",),
    "BatchNorm1d": ("weight", "bias"),
    "BatchNorm2d": ("weight", "bias"),
    "GroupNorm": ("weight", "bias"),
    "MultiheadAttention": ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"),
    "GRU": ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
    "LSTM": ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"),
}
_NN_WITHOUT_PARAMS = frozenset(
    {"Dropout", "ReLU", "GELU", "Tanh", "Sigmoid", "Softmax", "Identity", "Flatten", "SiLU"}
)
# Classes whose output head is usually tied to the input embeddings (tie_word_embeddings)
_LM_HEAD = re.compile(r"MaskedLM|CausalLM|LMHead|ForPreTraining|ConditionalGeneration")
# Blocks a hub id suggests when the config is not at hand.
_SIZE_HINTS = (("xxl", 24), ("xl", 48), ("large", 24), ("base", 12), ("medium", 24), ("small", 6))


@dataclass(frozen=True)
class Mount:
    """A part of the model: a backbone with a layout, or a new module, mounted at `path`."""

    path: str  # "" for the whole model
    layout: Layout | None
    names: tuple[str, ...]  # full names from the model root
    num_blocks: int | None = None


@dataclass(frozen=True, eq=False)
class Skeleton:
    mounts: tuple[Mount, ...]
    description: str  # for messages: "BertForSequenceClassification" or "DocumentClassifier"
    pretrained: bool
    stack_sizes: dict[str, int] = field(default_factory=dict)
    # attributes built by calls whose parameters we cannot see (a fix refuses such a model)
    opaque: tuple[str, ...] = ()

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(name for mount in self.mounts for name in mount.names)

    @cached_property
    def _prefixes(self) -> frozenset[str]:
        found = {""}
        for name in self.names:
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts)))
        return frozenset(found)

    @property
    def num_blocks(self) -> int | None:
        return next((m.num_blocks for m in self.mounts if m.num_blocks), None)

    @property
    def shared_blocks(self) -> bool:
        return any(m.layout is not None and m.layout.shared_blocks for m in self.mounts)

    def tied_paths(self) -> list[str]:
        """Modules that may hold the input embeddings under another name: an LM head tied to
        the word embeddings. `named_parameters()` lists the tied weight once, but a group over
        that module's `.parameters()` would hold it a second time."""
        found = []
        for mount in self.mounts:
            if mount.layout is None:
                continue
            outer = f"{mount.path}." if mount.path else ""
            layout = mount.layout
            found += [
                outer + path for path, depth in layout.pinned if depth.tier == Tier.EMBEDDINGS
            ]
            if layout.class_name and _LM_HEAD.search(layout.class_name):
                found += [outer + head for head in layout.heads]
        return found

    def is_module(self, path: str) -> bool:
        return path in self._prefixes or path in self.stack_sizes

    def params_under(self, paths: tuple[str, ...]) -> list[str]:
        if "" in paths:
            return list(self.names)
        prefixes = tuple(f"{p}." for p in paths)
        return [name for name in self.names if name.startswith(prefixes) or name in paths]

    def expand_stack(self, paths: tuple[str, ...]) -> list[str] | None:
        """The blocks of a block list (`bert.encoder.layer` -> `...layer.0`, ...), or of a
        selection of blocks already expanded."""
        if len(paths) == 1 and paths[0] in self.stack_sizes:
            return [f"{paths[0]}.{i}" for i in range(self.stack_sizes[paths[0]])]
        if len(paths) > 1:
            return list(paths)
        return None

    def depth(self, name: str) -> Depth:
        mount = self._mount(name)
        if mount is None or mount.layout is None:
            return Depth(Tier.HEAD)
        inner = name[len(mount.path) + 1 :] if mount.path else name
        return mount.layout.depth(inner)

    def part(self, name: str) -> str:
        """The module a name belongs to, as a user would name it: a block (`bert.encoder.layer.3`),
        a backbone part (`bert.pooler`), or a top-level new module (`classifier`)."""
        mount = self._mount(name)
        if mount is not None and mount.layout is not None:
            inner = name[len(mount.path) + 1 :] if mount.path else name
            outer = f"{mount.path}." if mount.path else ""
            return outer + mount.layout.module_of(inner)
        return name.split(".", 1)[0]

    def is_1d(self, name: str) -> bool:
        """Biases and normalisation weights (what `p.ndim <= 1` selects)."""
        return is_flat(name)

    def _mount(self, name: str) -> Mount | None:
        best: Mount | None = None
        for mount in self.mounts:
            if (not mount.path or name == mount.path or name.startswith(f"{mount.path}.")) and (
                best is None or len(mount.path) > len(best.path)
            ):
                best = mount
        return best


def skeleton_for(script: Script, resolver: Resolver, source: object) -> Skeleton | None:
    """The skeleton of what `source` builds (a loading call or a class of the script), or None
    when its structure is not known."""
    if isinstance(source, cst.Call):
        mount = _backbone(script, source, "")
        if mount is None:
            return None
        origin = resolver.origin(source, script.module_scope, float("inf"))
        return _skeleton((mount,), _class_label(source), origin == Origin.PRETRAINED)
    if isinstance(source, ClassInfo):
        resolution = resolver.instance(source)
        if resolution.origin < Origin.SCRATCH:
            return None
        opaque: list[str] = []
        mounts = _class_mounts(script, resolver, source, "", 0, opaque)
        if mounts is None or not mounts:
            return None
        skeleton = _skeleton(tuple(mounts), source.name, resolution.origin == Origin.PRETRAINED)
        return replace(skeleton, opaque=tuple(opaque))
    return None


def _skeleton(mounts: tuple[Mount, ...], description: str, pretrained: bool) -> Skeleton:
    stacks: dict[str, int] = {}
    for mount in mounts:
        if mount.layout is None or mount.num_blocks is None:
            continue
        outer = f"{mount.path}." if mount.path else ""
        present = {name for name in mount.names}
        for stack in mount.layout.stacks:
            full = f"{outer}{stack}"
            count = 0
            while any(n.startswith(f"{full}.{count}.") for n in present):
                count += 1
            if count:
                stacks[full] = count
    return Skeleton(mounts, description, pretrained, stacks)


def _class_label(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value == "from_pretrained":
        return dotted(func.value) or "model"
    return last_name(func) or "model"


def _model_id(script: Script, call: cst.Call) -> str | None:
    first = checkpoint_arg(call)
    if first is None:
        return None
    site = script.call_site(call)
    if site is None:
        return None
    return values.text(script, first, site.scope, site.seq)


def _backbone(script: Script, call: cst.Call, path: str) -> Mount | None:
    """A Hugging Face, timm or torchvision model built by `call`, mounted at `path`."""
    func = call.func
    name = last_name(func) or ""
    class_name: str | None = None
    if isinstance(func, cst.Attribute) and name in {"from_pretrained", "from_config"}:
        class_name = last_name(func.value)
    elif name[:1].isupper():
        class_name = name  # BertForSequenceClassification(config)
    model_id = _model_id(script, call)
    qualname = script.imports.qualify(func) or ""
    if qualname.startswith("torchvision.models."):
        model_id = name  # resnet50(weights=...)
    family = None
    for hint in (class_name, model_id):
        if hint and not hint.startswith("Auto"):
            family = family_from_name(hint)
        if family is not None:
            break
    if family is None and model_id:
        family = family_from_name(model_id)
    if family is None:
        return None
    if class_name is not None and class_name.startswith("Auto"):
        class_name = concrete_class(family, class_name)
    try:
        layout = layout_for(family, class_name)
    except (KeyError, ValueError):
        return None
    blocks = _guess_blocks(family, model_id)
    names = layout.representative_names(blocks)
    outer = f"{path}." if path else ""
    return Mount(path, layout, tuple(outer + n for n in names), blocks)


def _guess_blocks(family: str, model_id: str | None) -> int:
    text = (model_id or "").lower()
    if "distil" in text or family == "distilbert":
        return 6
    for hint, blocks in _SIZE_HINTS:
        if re.search(rf"(^|[-_/]){hint}($|[-_/])", text):
            return blocks
    return {"llama": 32, "mistral": 32, "qwen2": 24, "t5": 6, "resnet": 4, "convnext": 4}.get(
        family, 12
    )


def _class_mounts(
    script: Script, resolver: Resolver, info: ClassInfo, path: str, depth: int, opaque: list[str]
) -> list[Mount] | None:
    """What a class of the script holds: for every `self.<attr> = ...`, a backbone or the
    parameters of new layers. Attributes built by calls we cannot see into go to `opaque`."""
    if depth > 3:
        return None
    mounts: list[Mount] = []
    classes = [info]
    classes += [script.classes[b] for b in info.bases if b in script.classes and b != info.name]
    for owner in classes:
        for attr, assigned in owner.self_attrs.items():
            value, scope, seq = assigned[-1]
            full = f"{path}.{attr}" if path else attr
            mount = _attribute_mount(script, resolver, value, scope, seq, full, depth, opaque)
            if mount is _INCOMPLETE:
                return None  # a backbone whose structure we cannot know: say nothing
            if mount is not None:
                mounts.extend(mount)
    return mounts


_INCOMPLETE: list[Mount] = []  # sentinel: an attribute whose parameters cannot be known


def _attribute_mount(
    script: Script,
    resolver: Resolver,
    value: cst.BaseExpression,
    scope: object,
    seq: float,
    path: str,
    depth: int,
    opaque: list[str],
) -> list[Mount] | None:
    resolution = resolver.resolve(value, scope, seq)  # type: ignore[arg-type]
    source = resolution.source
    if isinstance(source, cst.Call) and resolution.origin >= Origin.SCRATCH:
        backbone = _backbone(script, source, path)
        if backbone is not None:
            return [backbone]
        if resolution.origin == Origin.PRETRAINED:
            return _INCOMPLETE
    if isinstance(source, ClassInfo) and source.name in script.classes:
        inner = _class_mounts(script, resolver, source, path, depth + 1, opaque)
        return inner or None
    if not isinstance(value, cst.Call):
        return None  # a number, a name, a string: not a module
    if resolution.origin == Origin.NOT_MODEL:
        return None  # a tokenizer, a config
    names = _torch_layer_params(script, value, path)
    if names is None:
        opaque.append(path)
        return None
    return [Mount(path, None, names)] if names else None


def _torch_layer_params(script: Script, call: cst.Call, path: str) -> tuple[str, ...] | None:
    """The parameter names of a torch.nn layer (an `nn.Sequential` of such layers included),
    `()` for a layer without parameters, None when we cannot know."""
    qualname = script.imports.qualify(call.func) or ""
    if not qualname.startswith("torch.nn."):
        return None
    layer = qualname.rsplit(".", 1)[-1]
    if layer in _NN_WITHOUT_PARAMS or qualname.startswith("torch.nn.functional."):
        return ()
    if layer in _NN_PARAMS:
        owned = _NN_PARAMS[layer]
        if layer in {"Linear", "Conv1d", "Conv2d", "Conv3d", "LayerNorm"} and _no_bias(call):
            owned = tuple(p for p in owned if p != "bias")
        return tuple(f"{path}.{p}" for p in owned)
    if layer == "Parameter":
        return (path,)
    if layer == "Sequential":
        names: list[str] = []
        for index, arg in enumerate(a for a in call.args if a.keyword is None and not a.star):
            if not isinstance(arg.value, cst.Call):
                return None
            inner = _torch_layer_params(script, arg.value, f"{path}.{index}")
            if inner is None:
                return None
            names.extend(inner)
        return tuple(names)
    if qualname.endswith("Loss") or layer.endswith("Loss"):
        return ()
    return None


def _no_bias(call: cst.Call) -> bool:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in {"bias", "elementwise_affine"}:
            return isinstance(arg.value, cst.Name) and arg.value.value == "False"
    return False
