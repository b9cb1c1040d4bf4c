"""Which layer a parameter is in: tiers, depths and per-architecture layouts.

The static rules (without torch), the fixer and the runtime checker all ask this module, so
they agree on what "lower" and "higher" mean. Nothing here imports torch or transformers:
layouts come from stored data (`families`, `_names`) or from parameter-name strings.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from lrlint.depth import _names
from lrlint.depth.families import FAMILIES, LEGACY_BLOCK_PARAMS, Family

__all__ = [
    "EMBEDDINGS",
    "FINAL",
    "HEAD",
    "Depth",
    "Layout",
    "Tier",
    "concrete_class",
    "family_from_name",
    "infer_layout",
    "layout_for",
    "num_blocks_from_name",
]


class Tier(enum.IntEnum):
    """Coarse depth, lowest first."""

    #: Token/patch/position embeddings, CNN stems, and layers shared by all blocks
    #: (DeBERTa's rel_embeddings).
    EMBEDDINGS = 0
    #: Transformer blocks / CNN stages, ordered by `Depth.index`.
    BLOCK = 1
    #: Pooler and final norm (bert.pooler, transformer.ln_f, model.norm, vit.layernorm).
    FINAL = 2
    #: Task heads (classifier, qa_outputs, score, lm_head) and custom modules beside the backbone.
    HEAD = 3


@dataclass(frozen=True, order=True)
class Depth:
    """A place in the model: a tier, and for `Tier.BLOCK` the block number."""

    tier: Tier
    #: Block number for Tier.BLOCK, counted across stacks (T5: encoder 0..L-1, decoder L..);
    #: 0 for the other tiers.
    index: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "tier", Tier(self.tier))
        if self.tier is not Tier.BLOCK and self.index != 0:
            raise ValueError(f"only blocks have an index, not {self.tier.name.lower()}")

    def __str__(self) -> str:
        if self.tier is Tier.BLOCK:
            return f"block {self.index}"
        return _TIER_WORDS[self.tier]


_TIER_WORDS = {
    Tier.EMBEDDINGS: "embeddings",
    Tier.FINAL: "final (pooler/norm)",
    Tier.HEAD: "head",
}

EMBEDDINGS = Depth(Tier.EMBEDDINGS)
FINAL = Depth(Tier.FINAL)
HEAD = Depth(Tier.HEAD)


def _under(name: str, path: str) -> bool:
    """`name` is `path` or lies below it (whole dotted components only)."""
    return path == "" or name == path or name.startswith(path + ".")


def _strictly_above(path: str, part: str) -> bool:
    """`path` is a proper ancestor of `part`."""
    return path != part and _under(part, path)


def _join(prefix: str, rel: str) -> str:
    return f"{prefix}.{rel}" if prefix and rel else prefix or rel


@dataclass(frozen=True)
class Layout:
    """Where a concrete model keeps each part, as module paths from the model root."""

    #: A key of FAMILIES, or "generic" (guessed from parameter names by `infer_layout`).
    family: str
    #: Path of the backbone from the model root: "bert" in BertForSequenceClassification,
    #: "" for a bare BertModel, "model" for LlamaForCausalLM.
    prefix: str
    embeddings: tuple[str, ...]
    #: Block ModuleList paths in depth order; blocks are their numbered children.
    stacks: tuple[str, ...]
    final: tuple[str, ...]
    #: ALBERT: one layer's weights serve every depth, so no per-layer rate is possible.
    shared_blocks: bool = False
    #: Known head modules (everything outside the backbone is a head anyway).
    heads: tuple[str, ...] = ()
    #: Blocks that are named rather than numbered (ResNet's layer1..layer4), in depth order.
    named_blocks: tuple[str, ...] = ()
    #: Number of blocks in each stack, when known (needed to count past the first stack).
    stack_lengths: tuple[int, ...] = ()
    #: Paths with a fixed depth that their place would not tell: DeBERTa's encoder.conv
    #: (block 0), an LM head that holds the tied word embeddings (embeddings).
    pinned: tuple[tuple[str, Depth], ...] = ()
    #: (other spelling, this layout's spelling) of paths, e.g. ViT's 4.x `vit.encoder.layer`.
    aliases: tuple[tuple[str, str], ...] = ()
    #: Module paths of the pretrained model; unknown parameters under them count as embeddings
    #: (shared), anything else unknown is a head.
    backbone: tuple[str, ...] = ()
    #: Parts the class builds without (BertForTokenClassification has no pooler).
    absent: tuple[str, ...] = ()
    #: The transformers class, when known.
    class_name: str | None = None

    # -- depth of a name -------------------------------------------------------------------

    def depth(self, name: str) -> Depth:
        """Depth of a parameter name or module path from the model root.

        Raises ValueError for a path that spans several depths (the root, the backbone,
        `bert.encoder`, a block stack itself): ask `depth_range` for those.
        """
        lo, hi = self.depth_range(name)
        if lo != hi:
            raise ValueError(
                f"{name!r} spans several depths ({lo} .. {hi}); use Layout.depth_range()"
            )
        return lo

    def depth_range(self, name: str) -> tuple[Depth, Depth]:
        """Lowest and highest depth of the parameters under a module path."""
        path = self._canonical(name)
        if not self._is_container(path):
            d = self._point(path)
            return d, d
        found: list[Depth] = []
        for part, lo, hi in self._parts(within=path):
            if _under(part, path):
                found += [lo, hi]
        if path == "" and (self.prefix or self.heads):
            found.append(HEAD)
        elif not found:  # pragma: no cover - a container always covers some part
            found.append(self._point(path))
        return min(found), max(found)

    def is_backbone(self, name: str) -> bool:
        """The parameter belongs to the pretrained model (not a head)."""
        return self.depth(name).tier is not Tier.HEAD

    def _canonical(self, name: str) -> str:
        for other, this in self.aliases:
            if _under(name, other):
                return this + name[len(other) :]
        return name

    def _is_container(self, path: str) -> bool:
        """The path holds known parts below it (or is a block stack itself, or the root)."""
        if path == "" or path in self.stacks:
            return True
        if any(_under(path, p) for p, _ in self.pinned):
            return False
        if any(_under(path, s) for s in self.stacks):
            return False
        return any(_strictly_above(path, part) for part in self._part_paths())

    def _part_paths(self) -> Iterable[str]:
        yield from (*self.embeddings, *self.stacks, *self.named_blocks, *self.final, *self.heads)
        yield from (p for p, _ in self.pinned)

    def _parts(self, within: str) -> Iterable[tuple[str, Depth, Depth]]:
        """The known parts under `within`, with their depth ranges."""
        for p in self.embeddings:
            yield p, EMBEDDINGS, EMBEDDINGS
        for k, s in enumerate(self.stacks):
            if not _under(s, within):
                continue
            length = self._length(k)
            if length is None:
                raise ValueError(
                    f"the number of blocks in {s!r} is unknown: pass num_blocks to layout_for()"
                )
            if length:
                offset = self._offset(k)
                yield s, Depth(Tier.BLOCK, offset), Depth(Tier.BLOCK, offset + length - 1)
        for i, b in enumerate(self.named_blocks):
            d = Depth(Tier.BLOCK, i)
            yield b, d, d
        for p in self.final:
            yield p, FINAL, FINAL
        for p in self.heads:
            yield p, HEAD, HEAD
        for p, d in self.pinned:
            yield p, d, d

    def _length(self, k: int) -> int | None:
        if k < len(self.stack_lengths):
            return self.stack_lengths[k]
        return None

    def _offset(self, k: int) -> int:
        offset = 0
        for j in range(k):
            length = self._length(j)
            if length is None:
                raise ValueError(
                    f"cannot number the blocks of {self.stacks[k]!r}: the length of "
                    f"{self.stacks[j]!r} is unknown (pass num_blocks to layout_for())"
                )
            offset += length
        return offset

    def _point(self, path: str) -> Depth:
        for p, d in self.pinned:
            if _under(path, p):
                return d
        for k, s in enumerate(self.stacks):
            if _under(path, s) and path != s:
                index = path[len(s) + 1 if s else 0 :].split(".", 1)[0]
                if not index.isdigit():
                    raise ValueError(f"{path!r} is inside {s!r} but not in a numbered block")
                return Depth(Tier.BLOCK, self._offset(k) + int(index))
        for i, b in enumerate(self.named_blocks):
            if _under(path, b):
                return Depth(Tier.BLOCK, i)
        best: tuple[int, Depth] | None = None
        tiers = ((EMBEDDINGS, self.embeddings), (FINAL, self.final), (HEAD, self.heads))
        for depth, paths in tiers:
            for p in paths:
                if _under(path, p) and (best is None or len(p) > best[0]):
                    best = (len(p), depth)
        if best is not None:
            return best[1]
        if any(_under(path, b) for b in self.backbone):
            return EMBEDDINGS
        return HEAD

    # -- blocks ----------------------------------------------------------------------------

    def module_of(self, name: str) -> str:
        """The module a parameter belongs to, as a user names it: its block
        (`bert.encoder.layer.3`), a part of the backbone (`bert.pooler`), or a head's top
        module (`classifier`). Used to name what a finding is about."""
        for stack in self.stacks:
            if name.startswith(f"{stack}."):
                return f"{stack}.{name[len(stack) + 1 :].split('.', 1)[0]}"
        parts = (*self.named_blocks, *self.embeddings, *self.final, *(p for p, _ in self.pinned))
        for path in sorted(parts, key=len, reverse=True):
            if path and _under(name, path):
                return path
        pieces = name.split(".")
        if self.prefix and name.startswith(f"{self.prefix}."):
            return ".".join(pieces[: self.prefix.count(".") + 2])
        return pieces[0]

    @property
    def num_blocks(self) -> int | None:
        """Number of block positions (T5: encoder + decoder; ALBERT: layer groups)."""
        if self.named_blocks:
            return len(self.named_blocks)
        if len(self.stack_lengths) < len(self.stacks):
            return None
        return sum(self.stack_lengths)

    def block_path(self, index: int) -> str:
        """Module path of block `index` ("bert.encoder.layer.3")."""
        if index < 0:
            raise ValueError(f"no block {index}")
        if self.named_blocks:
            return self.named_blocks[index]
        offset = 0
        for k, s in enumerate(self.stacks):
            length = self._length(k)
            if length is None:
                if k == len(self.stacks) - 1:
                    return _join(s, str(index - offset))
                raise ValueError(f"the number of blocks in {s!r} is unknown")
            if index < offset + length:
                return _join(s, str(index - offset))
            offset += length
        raise ValueError(f"no block {index}: the model has {offset}")

    def with_lengths(self, *lengths: int) -> Layout:
        """The same layout with known stack lengths (one per stack)."""
        if len(lengths) != len(self.stacks):
            raise ValueError(f"{len(self.stacks)} stacks, {len(lengths)} lengths")
        return replace(self, stack_lengths=tuple(lengths))

    # -- names for the static linter -------------------------------------------------------

    def representative_names(self, num_blocks: int | Sequence[int] | None = None) -> list[str]:
        """Realistic parameter names of the whole model, in registration order.

        `num_blocks` is the number of blocks per stack (an int applies to every stack; T5
        with 6 gives encoder 0..5 and decoder 6..11); by default the layout's known lengths,
        else the family's usual depth. ALBERT counts layer groups (usually 1). ResNet and
        ConvNeXt always have 4 stages. Used to evaluate name filters (`"layer.1" in n`)
        without torch: the names are those of a real model of the class, except that CNN
        stages show two inner blocks each.
        """
        lengths = self._lengths_for(num_blocks)
        family = FAMILIES.get(self.family)
        if family is None:
            return self._generic_names(lengths)
        pre = self.prefix
        spec = _names.CLASSES.get(self.class_name or "")
        dropped = set(spec[3]) if spec else set()
        names: list[str] = []
        absent = set(self.absent)

        def present(rel: str) -> bool:
            full = _join(pre, rel)
            return not any(_under(full, a) for a in absent)

        for rel in _names.EMBEDDING_PARAMS.get(self.family, ()):
            if rel not in dropped and present(rel):
                names.append(_join(pre, rel))
        if spec:
            names += [_join(pre, rel) for rel in spec[4]]
        for k, stack in enumerate(self.stacks):
            rel_stack = stack[len(pre) + 1 :] if pre else stack
            inside = _block_params(self.family, rel_stack)
            first_only = _names.FIRST_BLOCK_ONLY.get((self.family, rel_stack), ())
            omits = set(_names.FIRST_BLOCK_OMITS.get((self.family, rel_stack), ()))
            for i in range(lengths[k]):
                for rel in inside:
                    if i > 0 or rel not in omits:
                        names.append(f"{stack}.{i}.{rel}")
                if i == 0:
                    names += [f"{stack}.0.{rel}" for rel in first_only]
        for block in self.named_blocks:
            rel_block = block[len(pre) + 1 :] if pre else block
            for rel in _names.NAMED_BLOCK_PARAMS.get((self.family, rel_block), ()):
                names.append(f"{block}.{rel}")
        for rel in _names.FINAL_PARAMS.get(self.family, ()):
            if present(rel):
                names.append(_join(pre, rel))
        if spec and self.prefix == spec[1]:
            names += list(spec[5])
        elif not pre:
            names += list(_names.BARE_HEAD_PARAMS.get(self.family, ()))
        return names

    def _lengths_for(self, num_blocks: int | Sequence[int] | None) -> list[int]:
        family = FAMILIES.get(self.family)
        if self.named_blocks:
            return []
        if num_blocks is None:
            if len(self.stack_lengths) == len(self.stacks):
                return list(self.stack_lengths)
            default = family.default_blocks if family else 12
            return [default] * len(self.stacks)
        if family and family.fixed_blocks:
            return [family.fixed_blocks] * len(self.stacks)
        if isinstance(num_blocks, int):
            return [num_blocks] * len(self.stacks)
        lengths = list(num_blocks)
        if len(lengths) != len(self.stacks):
            raise ValueError(f"{len(self.stacks)} stacks, {len(lengths)} block counts")
        return lengths

    def _generic_names(self, lengths: list[int]) -> list[str]:
        names = [f"{p}.weight" for p in self.embeddings]
        for k, stack in enumerate(self.stacks):
            for i in range(lengths[k]):
                names += [f"{stack}.{i}.weight", f"{stack}.{i}.bias"]
        names += [f"{b}.weight" for b in self.named_blocks]
        names += [f"{p}.weight" for p in (*self.final, *self.heads)]
        return names


def _block_params(family: str, rel_stack: str) -> tuple[str, ...]:
    return _names.BLOCK_PARAMS.get((family, rel_stack)) or LEGACY_BLOCK_PARAMS.get(
        (family, rel_stack), ()
    )


# -- static layouts ------------------------------------------------------------------------


def layout_for(
    family: str,
    class_name: str | None = None,
    prefix: str | None = None,
    num_blocks: int | Sequence[int] | None = None,
    *,
    legacy: bool = False,
) -> Layout:
    """The layout of a model known by family and class, without building it.

    `prefix` is where the backbone sits when it is an attribute of a custom module (the
    `bert` of `self.bert = BertModel(...)`); by default it follows from the class
    (BertForSequenceClassification: "bert", BertModel: "", no class: the task-class
    attribute). `num_blocks`: blocks per stack, when known. `legacy`: the transformers 4.x
    spelling where it differs (ViT's `vit.encoder.layer`).
    """
    fam = _family(family)
    spec = _names.CLASSES.get(class_name or "")
    if spec and spec[0] != fam.name and spec[0] not in fam.same_layout_as:
        spec = None
    custom = prefix is not None
    pre = prefix if prefix is not None else spec[1] if spec else fam.prefix_for(class_name)
    absent_rel = set(spec[2]) if spec else set()
    rename = {this: other for other, this in fam.aliases} if legacy else {}
    stacks = tuple(_join(pre, rename.get(s, s)) for s in fam.stacks if s not in absent_rel)
    final = [_join(pre, p) for p in fam.final]
    heads = [_join(pre, h) for h in fam.heads]
    pinned = [(_join(pre, p), Depth(Tier.BLOCK, i)) for p, i in fam.block_extras]
    parent = pre.rpartition(".")[0] if pre else None
    if parent is not None:
        final += [_join(parent, p) for p in fam.outer_final]
    if spec and not custom:
        outer = {p for p in fam.outer_final}
        for name in spec[5]:
            top = name.split(".", 1)[0]
            if top not in outer and top not in heads:
                heads.append(top)
        for head_param, emb_param in fam.tied_heads:
            if emb_param in spec[3] and head_param in spec[5]:
                pinned.append((head_param, EMBEDDINGS))
    lengths: tuple[int, ...] = ()
    if num_blocks is not None and not fam.named_blocks:
        if isinstance(num_blocks, int):
            lengths = (num_blocks,) * len(stacks)
        else:
            lengths = tuple(num_blocks)
            if len(lengths) != len(stacks):
                raise ValueError(f"{family}: {len(stacks)} stacks, {len(lengths)} block counts")
    aliases = tuple(
        (_join(pre, this), _join(pre, other)) if legacy else (_join(pre, other), _join(pre, this))
        for other, this in fam.aliases
    )
    return Layout(
        family=fam.name,
        prefix=pre,
        embeddings=tuple(_join(pre, p) for p in fam.embeddings),
        stacks=stacks,
        final=tuple(final),
        shared_blocks=fam.shared_blocks,
        heads=tuple(heads),
        named_blocks=tuple(_join(pre, b) for b in fam.named_blocks),
        stack_lengths=lengths,
        pinned=tuple(pinned),
        aliases=aliases,
        backbone=_backbone(fam, pre),
        absent=tuple(_join(pre, a) for a in sorted(absent_rel)),
        class_name=class_name,
    )


def _family(name: str) -> Family:
    if name == "generic":
        raise ValueError("a generic layout comes from parameter names: use infer_layout()")
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(FAMILIES)
        raise ValueError(f"unknown model family {name!r} (known: {known})") from None


def _backbone(fam: Family, pre: str) -> tuple[str, ...]:
    if pre:
        return (pre,)
    tops: list[str] = []
    parts = (*fam.embeddings, *fam.stacks, *fam.final, *fam.named_blocks)
    for p in (*parts, *(p for p, _ in fam.block_extras)):
        top = p.split(".", 1)[0]
        if top not in tops and top not in fam.heads:
            tops.append(top)
    return tuple(tops)


# -- family from a class name or hub id ----------------------------------------------------

_CLASS_REST = re.compile(
    r"(Model|PreTrainedModel|Config|For[A-Z]\w*|LMHeadModel|DoubleHeadsModel|EncoderModel)"
)
#: Class-name stems of layout-identical relatives.
_STEM_ALIASES = {"MT5": "t5", "Camembert": "roberta"}
_BARE_CLASSES = {"VisionTransformer": "timm-vit", "ResNet": "resnet", "ConvNeXt": "convnext"}
_NON_BERT = {
    "camembert",
    "flaubert",
    "mobilebert",
    "convbert",
    "rembert",
    "squeezebert",
    "megatron",
    "nomic",
}
_HUB_RULES: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = tuple(
    (family, re.compile(pattern), re.compile(unless) if unless else None)
    for family, pattern, unless in (
        ("xlm-roberta", r"xlm-?roberta", None),
        ("deberta-v2", r"deberta-v[23]|mdeberta", None),
        ("distilbert", r"distilbert", None),
        ("modernbert", r"modernbert", None),
        ("albert", r"(^|[/_-])albert", None),
        ("electra", r"electra", None),
        ("roberta", r"roberta|camembert", None),
        ("gpt2", r"gpt2", None),
        ("llama", r"llama", r"llama-?4|vision|llava"),
        ("mistral", r"mistral", r"pixtral"),
        ("qwen2", r"qwen(2|1\.5)", r"vl|audio|moe|omni"),
        ("t5", r"(^|[/_-])(flan-|mt|byt)?t5([-_.]|$)", None),
        ("vit", r"(^|/)vit-", None),
        ("timm-vit", r"(^|/)(vit|deit\d*)_", None),
        ("resnet", r"(^|/)(resnet|resnext|wide_resnet|seresnet)\d", None),
        ("convnext", r"(^|/)convnext(v2)?_", None),
    )
)


def family_from_name(text: str) -> str | None:
    """The family of a transformers/timm class name or a hub / timm model id, if known.

    "BertForSequenceClassification" -> "bert", "microsoft/deberta-v3-base" -> "deberta-v2",
    "resnet50" -> "resnet", "AutoModel" -> None. Layout-identical relatives map to the
    family they copy (CamemBERT -> "roberta", mT5 -> "t5").
    """
    text = text.strip()
    if not text:
        return None
    if text in _BARE_CLASSES:
        return _BARE_CLASSES[text]
    if re.fullmatch(r"[A-Z][A-Za-z0-9_]*", text) and not text.startswith("Auto"):
        return _family_from_class(text)
    return _family_from_hub_id(text)


def _family_from_class(name: str) -> str | None:
    name = re.sub(r"^(TF|Flax)", "", name)
    stems = [(f.class_stem, f.name) for f in FAMILIES.values() if f.class_stem]
    stems += list(_STEM_ALIASES.items())
    for stem, family in sorted(stems, key=lambda s: -len(s[0] or "")):
        if stem and name.startswith(stem) and _CLASS_REST.fullmatch(name[len(stem) :]):
            return family
    return None


def _family_from_hub_id(text: str) -> str | None:
    s = text.lower()
    for family, rule, unless in _HUB_RULES:
        if rule.search(s):
            return None if unless and unless.search(s) else family
    tokens = re.split(r"[/_\-.]", s)
    if any(t in _NON_BERT for t in tokens) or any(t.endswith(tuple(_NON_BERT)) for t in tokens):
        return None
    if any(t.startswith("bert") or t.endswith("bert") for t in tokens):
        return "bert"
    return None


#: Auto-class tasks whose concrete class is not `<Stem>For<Task>`.
_AUTO_SPECIAL = {
    ("gpt2", "CausalLM"): "GPT2LMHeadModel",
    ("bert", "CausalLM"): "BertLMHeadModel",
    ("t5", "Seq2SeqLM"): "T5ForConditionalGeneration",
}


def concrete_class(family: str, class_name: str) -> str | None:
    """The transformers class an `Auto*` class builds for a family, when known.

    ("bert", "AutoModelForSequenceClassification") -> "BertForSequenceClassification",
    ("bert", "AutoModel") -> "BertModel", ("gpt2", "AutoModelForCausalLM") ->
    "GPT2LMHeadModel". A class name that is not an Auto class comes back unchanged; None
    when the family has no such class (or is not a transformers family).
    """
    if not class_name.startswith("Auto"):
        return class_name
    fam = FAMILIES.get(family)
    if fam is None or fam.class_stem is None:
        return None
    task = re.sub(r"^AutoModel(For)?", "", class_name)
    if not task:
        return fam.base_class
    special = _AUTO_SPECIAL.get((family, task))
    if special:
        return special
    candidate = f"{fam.class_stem}For{task}"
    return candidate if candidate in _names.CLASSES else None


_SIZE_BLOCKS: dict[str, dict[str, int]] = {
    "bert": {"tiny": 2, "mini": 4, "small": 4, "medium": 8, "base": 12, "large": 24},
    "roberta": {"base": 12, "large": 24},
    "xlm-roberta": {"base": 12, "large": 24, "xl": 36, "xxl": 48},
    "electra": {"small": 12, "base": 12, "large": 24},
    "deberta-v2": {"xsmall": 12, "small": 6, "base": 12, "large": 24, "xlarge": 24, "xxlarge": 48},
    "gpt2": {"medium": 24, "large": 36, "xl": 48},
    "vit": {"tiny": 12, "small": 12, "base": 12, "large": 24, "huge": 32},
    "timm-vit": {"tiny": 12, "small": 12, "base": 12, "large": 24, "huge": 32},
    "modernbert": {"base": 22, "large": 28},
}
_PARAM_BLOCKS: dict[str, dict[str, int]] = {
    "llama": {"1b": 16, "1.1b": 22, "3b": 28, "7b": 32, "8b": 32, "13b": 40, "70b": 80},
    "mistral": {"7b": 32},
    "qwen2": {"0.5b": 24, "1.5b": 28, "3b": 36, "7b": 28, "14b": 48, "32b": 64, "72b": 80},
}


def num_blocks_from_name(text: str) -> int | None:
    """Best-effort block count of a well-known checkpoint id ("bert-base-uncased" -> 12).

    T5 counts encoder plus decoder blocks; ALBERT counts layer groups (1); ResNet and
    ConvNeXt count stages (4). None when the id does not tell.
    """
    family = family_from_name(text)
    if family is None:
        return None
    fam = FAMILIES[family]
    s = text.lower()
    tokens = re.split(r"[/_\-]", s)
    if fam.fixed_blocks or family == "albert":
        return fam.fixed_blocks or 1
    if family in ("distilbert",) or "distilroberta" in s or "distilgpt2" in s:
        return 6
    if family == "t5":
        v1_1 = any(k in s for k in ("flan", "v1_1", "mt5", "byt5"))
        per_stack = {"small": 8 if v1_1 else 6, "base": 12, "large": 24, "xl": 24, "xxl": 24}
        per_stack |= {"3b": 24, "11b": 24}
        found = [per_stack[t] for t in tokens if t in per_stack]
        return 2 * found[0] if found else None
    if family in _PARAM_BLOCKS:
        if family == "qwen2" and "qwen1.5" in s:
            return None
        sizes = _PARAM_BLOCKS[family]
        for t in tokens:
            if t in sizes:
                return sizes[t]
        return None
    sizes = _SIZE_BLOCKS.get(family, {})
    for t in tokens:
        if t in sizes:
            return sizes[t]
    return 12 if family == "gpt2" else None


# -- layouts from real parameter names -----------------------------------------------------

_ADAPTER_PARTS = {"modules_to_save", "original_module"}


def _clean(suffix: str) -> str | None:
    """A block-relative name without PEFT wrappers and with numbers as N; None for adapters."""
    comps = suffix.split(".")
    if any(c.startswith("lora_") or c in _ADAPTER_PARTS for c in comps):
        return None
    return ".".join("N" if c.isdigit() else c for c in comps if c != "base_layer")


@dataclass(frozen=True)
class _Candidate:
    family: str
    prefix: str
    spelling: tuple[str, ...]  # the stack (or named-block) paths as spelled in the names
    known: int
    total: int


@functools.cache
def _signatures() -> list[tuple[str, tuple[str, ...], frozenset[str]]]:
    """(family, block paths as spelled, cleaned block-parameter names) for every spelling."""
    out = []
    for fam in FAMILIES.values():
        if fam.named_blocks:
            params = set()
            for b in fam.named_blocks:
                params |= {_clean(p) for p in _names.NAMED_BLOCK_PARAMS.get((fam.name, b), ())}
            out.append((fam.name, fam.named_blocks, frozenset(params - {None})))
            continue
        spellings = [fam.stacks]
        rename = {this: other for other, this in fam.aliases}
        if rename:
            spellings.append(tuple(rename.get(s, s) for s in fam.stacks))
        for spelled in spellings:
            params = set()
            for s in spelled:
                inside = _block_params(fam.name, s)
                first = _names.FIRST_BLOCK_ONLY.get((fam.name, s), ())
                params |= {_clean(p) for p in (*inside, *first)}
            out.append((fam.name, spelled, frozenset(params - {None})))
    return out


def _candidates(names: Sequence[str]) -> list[_Candidate]:
    split = [n.split(".") for n in names]
    found: list[_Candidate] = []
    for family, spelled, params in _signatures():
        known: dict[str, int] = {}
        total: dict[str, int] = {}
        for path in spelled:
            pc = path.split(".")
            width = len(pc)
            numbered = not FAMILIES[family].named_blocks
            for comps in split:
                for j in range(len(comps) - width):
                    if comps[j : j + width] != pc:
                        continue
                    rest = comps[j + width :]
                    if numbered and not (rest[0].isdigit() and len(rest) > 1):
                        continue
                    prefix = ".".join(comps[:j])
                    cleaned = _clean(".".join(rest[1:] if numbered else rest))
                    if cleaned is None:
                        continue
                    total[prefix] = total.get(prefix, 0) + 1
                    if cleaned in params:
                        known[prefix] = known.get(prefix, 0) + 1
        for prefix, count in known.items():
            found.append(_Candidate(family, prefix, spelled, count, total[prefix]))
    return [c for c in found if c.known * 2 >= c.total]


def _pick(
    candidates: list[_Candidate], hint: str | None, names: Sequence[str]
) -> _Candidate | None:
    if not candidates:
        return None
    top = max(c.known for c in candidates)
    # the largest backbone first; then, among near-equal families at that place, the hinted
    # one, the one whose usual attribute the prefix ends in, the better block match, the one
    # that knows more of the other backbone parameters, the first listed
    prefix = max(candidates, key=lambda c: (c.known, -len(c.prefix))).prefix
    near = [
        c
        for c in candidates
        if c.prefix == prefix and (c.known * 10 >= top * 9 or c.family == hint)
    ]
    order = list(FAMILIES)
    cut = len(prefix) + 1 if prefix else 0
    rest = [n[cut:] for n in names if _under(n, prefix)]

    def rank(c: _Candidate) -> tuple[bool, bool, float, int, int]:
        fam = FAMILIES[c.family]
        attr = bool(fam.base_attr) and c.prefix.rsplit(".", 1)[-1] == fam.base_attr
        others = {
            *_names.EMBEDDING_PARAMS.get(c.family, ()),
            *_names.FINAL_PARAMS.get(c.family, ()),
            *_names.EXTRA_PARAMS.get(c.family, ()),
        }
        outside = [r for r in rest if not any(_under(r, s) for s in c.spelling)]
        score = sum(1 if r in others else -1 for r in outside)
        return (c.family == hint, attr, c.known / c.total, score, -order.index(c.family))

    return max(near, key=rank)


def infer_layout(param_names: Sequence[str], class_name: str | None = None) -> Layout:
    """The layout of a real model from its `named_parameters()` names (runtime use).

    Finds the family and where its backbone sits ("bert" in a custom module with
    `self.bert = BertModel(...)`). Families whose parameter names are identical (BERT,
    RoBERTa, XLM-R; Llama, Mistral, Qwen2) are told apart by the prefix or by `class_name`
    (`type(model).__name__`), if given. Models of no known family get a "generic" layout:
    the ModuleList with the most numbered children is the block stack, what comes before it
    the embeddings, what comes after it in the backbone the final part, the rest heads.
    """
    names = list(param_names)
    hint = family_from_name(class_name) if class_name else None
    best = _pick(_candidates(names), hint, names)
    if best is None:
        return _generic_layout(names, class_name)
    fam = FAMILIES[best.family]
    pre = best.prefix
    present = set(names)
    rename = dict(zip(fam.stacks, best.spelling, strict=False))
    legacy = any(rename.get(s, s) != s for s in fam.stacks)
    stacks: list[str] = []
    lengths: list[int] = []
    for s in fam.stacks:
        path = _join(pre, rename.get(s, s))
        indices = _indices_under(names, path)
        if indices:
            stacks.append(path)
            lengths.append(max(indices) + 1)
    parent = pre.rpartition(".")[0] if pre else None
    final = [_join(pre, p) for p in fam.final]
    if parent is not None:
        final += [
            _join(parent, p)
            for p in fam.outer_final
            if any(_under(n, _join(parent, p)) for n in names)
        ]
    pinned = [(_join(pre, p), Depth(Tier.BLOCK, i)) for p, i in fam.block_extras]
    for head_param, emb_param in fam.tied_heads:
        head_name = _join(parent or "", head_param) if pre else head_param
        if head_name in present and _join(pre, emb_param) not in present:
            pinned.append((head_name, EMBEDDINGS))
    parts = (*fam.embeddings, *fam.final, *fam.named_blocks)
    absent = tuple(_join(pre, p) for p in parts if not any(_under(n, _join(pre, p)) for n in names))
    backbone = _backbone(fam, pre)
    heads = [_join(pre, h) for h in fam.heads]
    for n in names:
        if not any(_under(n, b) for b in backbone):
            top = _head_module(n, parent)
            if top not in heads and not any(_under(top, f) for f in final):
                heads.append(top)
    aliases = tuple(
        (_join(pre, this), _join(pre, other)) if legacy else (_join(pre, other), _join(pre, this))
        for other, this in fam.aliases
    )
    return Layout(
        family=fam.name,
        prefix=pre,
        embeddings=tuple(_join(pre, p) for p in fam.embeddings),
        stacks=tuple(stacks),
        final=tuple(final),
        shared_blocks=fam.shared_blocks,
        heads=tuple(h for h in heads if not any(_under(h, p) for p, _ in pinned)),
        named_blocks=tuple(_join(pre, b) for b in fam.named_blocks),
        stack_lengths=tuple(lengths),
        pinned=tuple(pinned),
        aliases=aliases,
        backbone=backbone,
        absent=absent,
        class_name=class_name,
    )


def _head_module(name: str, parent: str | None) -> str:
    """The module a head parameter belongs to, one level below the backbone's parent."""
    comps = name.split(".")
    depth = len(parent.split(".")) if parent else 0
    if len(comps) <= depth + 1:
        return name
    return ".".join(comps[: depth + 1])


def _indices_under(names: Sequence[str], path: str) -> set[int]:
    out = set()
    cut = len(path) + 1 if path else 0
    for n in names:
        if _under(n, path) and n != path:
            index = n[cut:].split(".", 1)[0]
            if index.isdigit():
                out.add(int(index))
    return out


_NORM_LIKE = re.compile(r"(^|_)(norm|ln|ln_f|layernorm|layer_norm|pooler|final)(_|$)", re.I)


def _generic_layout(names: Sequence[str], class_name: str | None) -> Layout:
    stack = _generic_stack(names)
    if stack is None:
        return Layout("generic", "", (), (), (), heads=_tops(names), class_name=class_name)
    positions = [i for i, n in enumerate(names) if _under(n, stack) and n != stack]
    first, last = positions[0], positions[-1]
    prefix = _common(stack, names[0]) if first > 0 else stack.rpartition(".")[0]
    if prefix == stack:
        prefix = stack.rpartition(".")[0]
    embeddings: list[str] = []
    final: list[str] = []
    heads: list[str] = []
    for pos, n in enumerate(names):
        if _under(n, stack):
            continue
        key = _module_key(n, stack)
        if key in embeddings or key in final or key in heads:
            continue
        inside = prefix != "" and _under(key, prefix)
        if prefix and not inside:
            heads.append(key)
        elif pos < first or first < pos < last:
            embeddings.append(key)
        elif prefix or _NORM_LIKE.search(key.rsplit(".", 1)[-1]):
            final.append(key)
        else:
            heads.append(key)
    backbone = (prefix,) if prefix else (stack, *embeddings, *final)
    return Layout(
        family="generic",
        prefix=prefix,
        embeddings=tuple(embeddings),
        stacks=(stack,),
        final=tuple(final),
        heads=tuple(heads),
        stack_lengths=(max(_indices_under(names, stack)) + 1,),
        backbone=backbone,
        class_name=class_name,
    )


def _generic_stack(names: Sequence[str]) -> str | None:
    """The numbered container with the most children, not nested per block in another."""
    indices: dict[str, set[int]] = {}
    order: dict[str, int] = {}
    for pos, n in enumerate(names):
        comps = n.split(".")
        for j in range(len(comps) - 1):
            if comps[j].isdigit():
                path = ".".join(comps[:j])
                indices.setdefault(path, set()).add(int(comps[j]))
                order.setdefault(path, pos)
    templates: dict[str, set[str]] = {}
    for path in indices:
        template = re.sub(r"(^|\.)\d+(?=\.|$)", r"\1N", path)
        templates.setdefault(template, set()).add(path)
    ok = [
        p
        for p in indices
        if len(indices[p]) >= 2 and len(templates[re.sub(r"(^|\.)\d+(?=\.|$)", r"\1N", p)]) == 1
    ]
    if not ok:
        return None
    return max(ok, key=lambda p: (len(indices[p]), -order[p]))


def _common(a: str, b: str) -> str:
    out = []
    for x, y in zip(a.split("."), b.split("."), strict=False):
        if x != y:
            break
        out.append(x)
    return ".".join(out)


def _module_key(name: str, stack: str) -> str:
    """The module of `name` one level below where its path leaves the stack's."""
    common = _common(name, stack)
    depth = len(common.split(".")) if common else 0
    comps = name.split(".")
    if len(comps) <= depth + 1:
        return name
    return ".".join(comps[: depth + 1])


def _tops(names: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for n in names:
        top = n.split(".", 1)[0]
        if top not in out:
            out.append(top)
    return tuple(out)
