"""Where each supported architecture keeps its embeddings, blocks, final norm/pooler and heads.

Pure data, no imports beyond the standard library: the static linter uses it without torch.
Every path was checked against real models (transformers 5.24, timm 1.0.31, torchvision 0.28;
tests/test_depth_real_models.py re-checks them against whatever is installed). Paths here are
relative to the backbone (the `bert` in `BertForSequenceClassification`), except `outer_final`
and `tied_heads`' first element, which are relative to the model that holds the backbone.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    """One architecture's layout, with paths relative to its backbone module."""

    name: str
    #: Attribute that holds the backbone in the task classes ("bert" in BertForMaskedLM);
    #: "" for models whose root is the backbone itself (timm, torchvision).
    base_attr: str
    #: Class-name stem used by transformers ("Bert" -> BertModel, BertForMaskedLM, ...).
    class_stem: str | None
    embeddings: tuple[str, ...]
    stacks: tuple[str, ...]
    final: tuple[str, ...] = ()
    #: Head modules that live inside a bare backbone (timm's `head`, torchvision's `fc`).
    heads: tuple[str, ...] = ()
    #: Blocks that are named, not numbered (ResNet's layer1..layer4), in depth order.
    named_blocks: tuple[str, ...] = ()
    #: One layer's weights serve every depth (ALBERT): no per-layer rate is possible.
    shared_blocks: bool = False
    #: Modules outside the block stack that act at a given block (DeBERTa's conv after block 0).
    block_extras: tuple[tuple[str, int], ...] = ()
    #: FINAL modules that sit beside the backbone in the task classes (DeBERTa-v2's pooler).
    outer_final: tuple[str, ...] = ()
    #: (other spelling, this spelling) of backbone-relative paths across library versions.
    aliases: tuple[tuple[str, str], ...] = ()
    #: (head parameter, embedding parameter) pairs an LM head may be tied to. A tied pair shows
    #: up once in named_parameters(), under whichever module was registered first.
    tied_heads: tuple[tuple[str, str], ...] = ()
    #: Classes that are the backbone itself (prefix ""), beyond the `<Stem>Model` class.
    bare_classes: tuple[str, ...] = ()
    #: (class name, backbone attribute) where a class departs from `base_attr`.
    prefix_overrides: tuple[tuple[str, str], ...] = ()
    #: Typical number of blocks, for when nothing else tells (bert-base: 12).
    default_blocks: int = 12
    #: The block count is fixed by the architecture (ResNet and ConvNeXt: 4 stages).
    fixed_blocks: int | None = None
    #: Family names that share this layout exactly (parameter names cannot tell them apart).
    same_layout_as: tuple[str, ...] = ()
    description: str = ""

    @property
    def base_class(self) -> str | None:
        return f"{self.class_stem}Model" if self.class_stem else None

    def prefix_for(self, class_name: str | None) -> str:
        """The backbone attribute of a task class, "" when the class is the backbone."""
        if class_name is None:
            return self.base_attr
        if class_name == self.base_class or class_name in self.bare_classes:
            return ""
        return dict(self.prefix_overrides).get(class_name, self.base_attr)


_BERT_LIKE = dict(embeddings=("embeddings",), stacks=("encoder.layer",), final=("pooler",))

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family(
            "bert",
            "bert",
            "Bert",
            **_BERT_LIKE,
            tied_heads=(("cls.predictions.decoder.weight", "embeddings.word_embeddings.weight"),),
            same_layout_as=("roberta", "xlm-roberta"),
            description="BERT: embeddings, encoder.layer.N, pooler",
        ),
        Family(
            "roberta",
            "roberta",
            "Roberta",
            **_BERT_LIKE,
            tied_heads=(("lm_head.decoder.weight", "embeddings.word_embeddings.weight"),),
            same_layout_as=("bert", "xlm-roberta"),
            description="RoBERTa: BERT's layout; the classification head has its own dense layer",
        ),
        Family(
            "xlm-roberta",
            "roberta",
            "XLMRoberta",
            **_BERT_LIKE,
            tied_heads=(("lm_head.decoder.weight", "embeddings.word_embeddings.weight"),),
            same_layout_as=("bert", "roberta"),
            description=(
                "XLM-R: RoBERTa's layout. Its MaskedLM/CausalLM classes register lm_head before "
                "the backbone, so the tied word embeddings appear as lm_head.decoder.weight"
            ),
        ),
        Family(
            "electra",
            "electra",
            "Electra",
            embeddings=("embeddings", "embeddings_project"),
            stacks=("encoder.layer",),
            tied_heads=(("generator_lm_head.weight", "embeddings.word_embeddings.weight"),),
            description="ELECTRA: no pooler; embeddings_project when embedding_size != hidden_size",
        ),
        Family(
            "deberta-v2",
            "deberta",
            "DebertaV2",
            embeddings=("embeddings", "encoder.rel_embeddings", "encoder.LayerNorm"),
            stacks=("encoder.layer",),
            block_extras=(("encoder.conv", 0),),
            outer_final=("pooler",),
            tied_heads=(("cls.predictions.decoder.weight", "embeddings.word_embeddings.weight"),),
            description=(
                "DeBERTa-v2/v3: relative position embeddings shared by all blocks; the pooler "
                "sits outside the base model, beside `deberta`"
            ),
        ),
        Family(
            "distilbert",
            "distilbert",
            "DistilBert",
            embeddings=("embeddings",),
            stacks=("transformer.layer",),
            tied_heads=(("vocab_projector.weight", "embeddings.word_embeddings.weight"),),
            default_blocks=6,
            description="DistilBERT: transformer.layer.N, no pooler (pre_classifier is a head)",
        ),
        Family(
            "albert",
            "albert",
            "Albert",
            embeddings=("embeddings", "encoder.embedding_hidden_mapping_in"),
            stacks=("encoder.albert_layer_groups",),
            final=("pooler",),
            shared_blocks=True,
            tied_heads=(("predictions.decoder.weight", "embeddings.word_embeddings.weight"),),
            default_blocks=1,
            description=(
                "ALBERT: one layer group (usually) reused at every depth; a block index is a "
                "layer group, not a layer"
            ),
        ),
        Family(
            "gpt2",
            "transformer",
            "GPT2",
            embeddings=("wte", "wpe"),
            stacks=("h",),
            final=("ln_f",),
            tied_heads=(("lm_head.weight", "wte.weight"),),
            description="GPT-2: wte/wpe, h.N, ln_f; lm_head tied to wte",
        ),
        *(
            Family(
                name,
                "model",
                stem,
                embeddings=("embed_tokens",),
                stacks=("layers",),
                final=("norm",),
                tied_heads=(("lm_head.weight", "embed_tokens.weight"),),
                prefix_overrides=overrides,
                default_blocks=32 if name != "qwen2" else 24,
                same_layout_as=tuple(n for n in ("llama", "mistral", "qwen2") if n != name),
                description=f"{stem}: embed_tokens, layers.N, norm" + note,
            )
            for name, stem, overrides, note in (
                (
                    "llama",
                    "Llama",
                    (("LlamaForQuestionAnswering", "transformer"),),
                    "; LlamaForQuestionAnswering keeps it under `transformer`",
                ),
                ("mistral", "Mistral", (), ""),
                (
                    "qwen2",
                    "Qwen2",
                    (("Qwen2ForQuestionAnswering", "transformer"),),
                    "; q/k/v have biases; Qwen2ForQuestionAnswering keeps it under `transformer`",
                ),
            )
        ),
        Family(
            "t5",
            "transformer",
            "T5",
            embeddings=("shared", "encoder.embed_tokens", "decoder.embed_tokens"),
            stacks=("encoder.block", "decoder.block"),
            final=("encoder.final_layer_norm", "decoder.final_layer_norm"),
            tied_heads=(("lm_head.weight", "shared.weight"),),
            bare_classes=(
                "T5Model",
                "T5EncoderModel",
                "T5ForConditionalGeneration",
                "T5ForQuestionAnswering",
            ),
            description=(
                "T5: two stacks, encoder.block then decoder.block, counted on from the encoder; "
                "shared embeddings; a final layer norm per stack"
            ),
        ),
        Family(
            "vit",
            "vit",
            "ViT",
            embeddings=("embeddings",),
            stacks=("layers",),
            final=("layernorm", "pooler"),
            aliases=(("encoder.layer", "layers"),),
            description="ViT: embeddings, layers.N (transformers 4.x: encoder.layer.N), layernorm",
        ),
        Family(
            "modernbert",
            "model",
            "ModernBert",
            embeddings=("embeddings",),
            stacks=("layers",),
            final=("final_norm",),
            tied_heads=(("decoder.weight", "embeddings.tok_embeddings.weight"),),
            default_blocks=22,
            description="ModernBERT: embeddings, layers.N, final_norm; `head` is a task head",
        ),
        Family(
            "timm-vit",
            "",
            None,
            embeddings=("cls_token", "reg_token", "pos_embed", "patch_embed", "norm_pre"),
            stacks=("blocks",),
            final=("norm", "fc_norm", "attn_pool"),
            heads=("head",),
            bare_classes=("VisionTransformer",),
            description="timm VisionTransformer: patch_embed/cls_token/pos_embed, blocks.N, norm",
        ),
        Family(
            "resnet",
            "",
            None,
            embeddings=("conv1", "bn1"),
            stacks=(),
            named_blocks=("layer1", "layer2", "layer3", "layer4"),
            heads=("fc",),
            bare_classes=("ResNet",),
            default_blocks=4,
            fixed_blocks=4,
            description="ResNet (timm, torchvision): conv1/bn1 stem, layer1..layer4, fc",
        ),
        Family(
            "convnext",
            "",
            None,
            embeddings=("stem",),
            stacks=("stages",),
            final=("norm_pre", "head.norm"),
            heads=("head",),
            bare_classes=("ConvNeXt",),
            default_blocks=4,
            fixed_blocks=4,
            description="timm ConvNeXt: stem, stages.0..3, head.norm (final), head.fc",
        ),
    )
}


#: Block parameters under an older spelling of a stack (transformers 4.x ViT: encoder.layer.N),
#: read from transformers 4.57's modeling_vit.py.
LEGACY_BLOCK_PARAMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("vit", "encoder.layer"): (
        "attention.attention.query.weight",
        "attention.attention.query.bias",
        "attention.attention.key.weight",
        "attention.attention.key.bias",
        "attention.attention.value.weight",
        "attention.attention.value.bias",
        "attention.output.dense.weight",
        "attention.output.dense.bias",
        "intermediate.dense.weight",
        "intermediate.dense.bias",
        "output.dense.weight",
        "output.dense.bias",
        "layernorm_before.weight",
        "layernorm_before.bias",
        "layernorm_after.weight",
        "layernorm_after.bias",
    ),
}
