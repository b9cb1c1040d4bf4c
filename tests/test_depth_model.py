"""The depth model on its own: no torch, only names (real-model checks live in
test_depth_real_models.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lrlint.depth import (
    EMBEDDINGS,
    FAMILIES,
    FINAL,
    HEAD,
    Depth,
    Layout,
    Tier,
    _names,
    family_from_name,
    infer_layout,
    layout_for,
    num_blocks_from_name,
)


def block(i: int) -> Depth:
    return Depth(Tier.BLOCK, i)


# -- family_from_name ----------------------------------------------------------------------

HUB_IDS = {
    "bert-base-uncased": "bert",
    "google-bert/bert-base-uncased": "bert",
    "klue/bert-base": "bert",
    "dmis-lab/biobert-v1.1": "bert",
    "roberta-large": "roberta",
    "klue/roberta-base": "roberta",
    "distilroberta-base": "roberta",
    "FacebookAI/xlm-roberta-base": "xlm-roberta",
    "xlm-roberta-large": "xlm-roberta",
    "google/electra-small-discriminator": "electra",
    "microsoft/deberta-v3-base": "deberta-v2",
    "microsoft/deberta-v2-xlarge": "deberta-v2",
    "microsoft/mdeberta-v3-base": "deberta-v2",
    "distilbert-base-uncased": "distilbert",
    "albert-base-v2": "albert",
    "gpt2": "gpt2",
    "openai-community/gpt2-medium": "gpt2",
    "distilgpt2": "gpt2",
    "meta-llama/Llama-3.1-8B": "llama",
    "TinyLlama/TinyLlama-1.1B-Chat-v1.0": "llama",
    "mistralai/Mistral-7B-v0.1": "mistral",
    "Qwen/Qwen2.5-0.5B": "qwen2",
    "Qwen/Qwen2-7B-Instruct": "qwen2",
    "t5-small": "t5",
    "google/flan-t5-base": "t5",
    "google-t5/t5-base": "t5",
    "google/vit-base-patch16-224": "vit",
    "answerdotai/ModernBERT-base": "modernbert",
    "vit_base_patch16_224": "timm-vit",
    "timm/vit_base_patch16_224.augreg2_in21k_ft_in1k": "timm-vit",
    "resnet50": "resnet",
    "timm/resnet50.a1_in1k": "resnet",
    "convnext_tiny": "convnext",
}

CLASS_NAMES = {
    "BertForSequenceClassification": "bert",
    "BertModel": "bert",
    "TFBertModel": "bert",
    "BertLMHeadModel": "bert",
    "RobertaModel": "roberta",
    "RobertaForMaskedLM": "roberta",
    "XLMRobertaForTokenClassification": "xlm-roberta",
    "ElectraForPreTraining": "electra",
    "DebertaV2ForSequenceClassification": "deberta-v2",
    "DistilBertForQuestionAnswering": "distilbert",
    "AlbertForMaskedLM": "albert",
    "GPT2LMHeadModel": "gpt2",
    "GPT2DoubleHeadsModel": "gpt2",
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
    "T5ForConditionalGeneration": "t5",
    "T5EncoderModel": "t5",
    "ViTForImageClassification": "vit",
    "ModernBertForMaskedLM": "modernbert",
    "VisionTransformer": "timm-vit",
    "ResNet": "resnet",
    "ConvNeXt": "convnext",
}

UNKNOWN = [
    "AutoModel",
    "AutoModelForSequenceClassification",
    "",
    "sentence-transformers/all-MiniLM-L6-v2",
    "Qwen/Qwen3-8B",
    "Qwen/Qwen2-VL-7B-Instruct",
    "Qwen2MoeForCausalLM",
    "meta-llama/Llama-4-Scout-17B-16E",
    "camembert-base",
    "flaubert/flaubert_base_cased",
    "google/mobilebert-uncased",
    "microsoft/resnet-50",
    "facebook/convnext-tiny-224",
    "DebertaForSequenceClassification",
    "RobertaPreLayerNormModel",
    "ViTMAEModel",
    "MyModel",
]


@pytest.mark.parametrize(("text", "family"), sorted({**HUB_IDS, **CLASS_NAMES}.items()))
def test_family_from_name(text: str, family: str) -> None:
    assert family_from_name(text) == family


@pytest.mark.parametrize("text", UNKNOWN)
def test_family_from_name_unknown(text: str) -> None:
    if text == "camembert-base":  # layout-identical to RoBERTa: named as such
        assert family_from_name(text) == "roberta"
    else:
        assert family_from_name(text) is None


def test_every_family_is_named_somewhere() -> None:
    assert set(HUB_IDS.values()) == set(FAMILIES)
    assert set(CLASS_NAMES.values()) == set(FAMILIES)


@pytest.mark.parametrize(
    ("text", "blocks"),
    [
        ("bert-base-uncased", 12),
        ("bert-large-cased", 24),
        ("roberta-large", 24),
        ("microsoft/deberta-v3-small", 6),
        ("distilbert-base-uncased", 6),
        ("albert-base-v2", 1),
        ("gpt2", 12),
        ("gpt2-medium", 24),
        ("meta-llama/Llama-3.1-8B", 32),
        ("Qwen/Qwen2.5-0.5B", 24),
        ("t5-small", 12),
        ("google/flan-t5-small", 16),
        ("google/flan-t5-base", 24),
        ("google/vit-base-patch16-224", 12),
        ("answerdotai/ModernBERT-base", 22),
        ("resnet50", 4),
        ("my-org/my-model", None),
    ],
)
def test_num_blocks_from_name(text: str, blocks: int | None) -> None:
    assert num_blocks_from_name(text) == blocks


# -- Depth ---------------------------------------------------------------------------------


def test_depth_order_and_words() -> None:
    order = [EMBEDDINGS, block(0), block(1), block(11), FINAL, HEAD]
    assert order == sorted(reversed(order))
    assert [str(d) for d in order] == [
        "embeddings",
        "block 0",
        "block 1",
        "block 11",
        "final (pooler/norm)",
        "head",
    ]
    assert Depth(Tier.HEAD) == HEAD
    assert Depth(1, 3) == block(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Depth(Tier.HEAD, 2)


# -- depth() on hand-written names ---------------------------------------------------------

CASES: list[tuple[str, str, dict[str, Depth]]] = [
    (
        "bert",
        "BertForSequenceClassification",
        {
            "bert.embeddings.word_embeddings.weight": EMBEDDINGS,
            "bert.embeddings.LayerNorm.bias": EMBEDDINGS,
            "bert.encoder.layer.0.attention.self.query.weight": block(0),
            "bert.encoder.layer.11.output.LayerNorm.weight": block(11),
            "bert.encoder.layer.3": block(3),
            "bert.pooler.dense.weight": FINAL,
            "bert.pooler": FINAL,
            "classifier.weight": HEAD,
            "dropout": HEAD,
        },
    ),
    ("bert", "BertModel", {"embeddings.position_embeddings.weight": EMBEDDINGS}),
    (
        "bert",
        "BertForMaskedLM",
        {"cls.predictions.transform.dense.weight": HEAD, "cls.predictions.bias": HEAD},
    ),
    (
        "roberta",
        "RobertaForSequenceClassification",
        {
            "roberta.encoder.layer.5.intermediate.dense.bias": block(5),
            "classifier.dense.weight": HEAD,
            "classifier.out_proj.bias": HEAD,
        },
    ),
    (
        "xlm-roberta",
        "XLMRobertaForMaskedLM",
        {
            "lm_head.decoder.weight": EMBEDDINGS,  # the tied word embeddings, listed first
            "lm_head.dense.weight": HEAD,
            "lm_head.bias": HEAD,
            "roberta.embeddings.word_embeddings": EMBEDDINGS,
        },
    ),
    (
        "electra",
        "ElectraForSequenceClassification",
        {
            "electra.embeddings_project.weight": EMBEDDINGS,
            "electra.encoder.layer.2.attention.output.dense.weight": block(2),
            "classifier.dense.weight": HEAD,
        },
    ),
    (
        "deberta-v2",
        "DebertaV2ForSequenceClassification",
        {
            "deberta.embeddings.word_embeddings.weight": EMBEDDINGS,
            "deberta.encoder.rel_embeddings.weight": EMBEDDINGS,
            "deberta.encoder.LayerNorm.weight": EMBEDDINGS,
            "deberta.encoder.conv.conv.weight": block(0),
            "deberta.encoder.layer.4.attention.self.query_proj.weight": block(4),
            "pooler.dense.weight": FINAL,
            "classifier.weight": HEAD,
        },
    ),
    (
        "distilbert",
        "DistilBertForSequenceClassification",
        {
            "distilbert.embeddings.word_embeddings.weight": EMBEDDINGS,
            "distilbert.transformer.layer.5.ffn.lin2.weight": block(5),
            "pre_classifier.weight": HEAD,
            "classifier.bias": HEAD,
        },
    ),
    (
        "albert",
        "AlbertForSequenceClassification",
        {
            "albert.embeddings.word_embeddings.weight": EMBEDDINGS,
            "albert.encoder.embedding_hidden_mapping_in.weight": EMBEDDINGS,
            "albert.encoder.albert_layer_groups.0.albert_layers.0.ffn.weight": block(0),
            "albert.pooler.weight": FINAL,
            "classifier.weight": HEAD,
        },
    ),
    (
        "gpt2",
        "GPT2LMHeadModel",
        {
            "transformer.wte.weight": EMBEDDINGS,
            "transformer.wpe.weight": EMBEDDINGS,
            "transformer.h.0.ln_1.weight": block(0),
            "transformer.h.7.ln_2.bias": block(7),
            "transformer.h.7.mlp.c_proj.weight": block(7),
            "transformer.ln_f.weight": FINAL,
            "lm_head": HEAD,
        },
    ),
    (
        "gpt2",
        "GPT2ForSequenceClassification",
        {"score.weight": HEAD, "transformer.h.1.attn.c_attn.weight": block(1)},
    ),
    (
        "llama",
        "LlamaForCausalLM",
        {
            "model.embed_tokens.weight": EMBEDDINGS,
            "model.layers.31.mlp.down_proj.weight": block(31),
            "model.layers.0.input_layernorm.weight": block(0),
            "model.norm.weight": FINAL,
            "lm_head.weight": HEAD,
        },
    ),
    (
        "llama",
        "LlamaForQuestionAnswering",
        {"transformer.layers.1.self_attn.q_proj.weight": block(1), "qa_outputs.bias": HEAD},
    ),
    ("mistral", "MistralForSequenceClassification", {"score.weight": HEAD}),
    (
        "qwen2",
        "Qwen2ForCausalLM",
        {"model.layers.2.self_attn.q_proj.bias": block(2), "model.norm.weight": FINAL},
    ),
    (
        "vit",
        "ViTForImageClassification",
        {
            "vit.embeddings.cls_token": EMBEDDINGS,
            "vit.embeddings.patch_embeddings.projection.weight": EMBEDDINGS,
            "vit.layers.3.mlp.fc1.weight": block(3),
            "vit.encoder.layer.3.attention.attention.query.weight": block(3),  # 4.x spelling
            "vit.layernorm.weight": FINAL,
            "classifier.weight": HEAD,
        },
    ),
    (
        "modernbert",
        "ModernBertForSequenceClassification",
        {
            "model.embeddings.tok_embeddings.weight": EMBEDDINGS,
            "model.layers.21.attn.Wqkv.weight": block(21),
            "model.final_norm.weight": FINAL,
            "head.dense.weight": HEAD,
            "classifier.weight": HEAD,
        },
    ),
    (
        "timm-vit",
        "VisionTransformer",
        {
            "cls_token": EMBEDDINGS,
            "pos_embed": EMBEDDINGS,
            "patch_embed.proj.weight": EMBEDDINGS,
            "blocks.11.attn.qkv.weight": block(11),
            "norm.weight": FINAL,
            "fc_norm.bias": FINAL,
            "head.weight": HEAD,
        },
    ),
    (
        "resnet",
        "ResNet",
        {
            "conv1.weight": EMBEDDINGS,
            "bn1.bias": EMBEDDINGS,
            "layer1.0.conv1.weight": block(0),
            "layer2.3.downsample.1.weight": block(1),
            "layer4": block(3),
            "fc.weight": HEAD,
        },
    ),
    (
        "convnext",
        "ConvNeXt",
        {
            "stem.0.weight": EMBEDDINGS,
            "stages.0.blocks.2.conv_dw.weight": block(0),
            "stages.3.downsample.1.weight": block(3),
            "head.norm.weight": FINAL,
            "head.fc.weight": HEAD,
        },
    ),
]


@pytest.mark.parametrize(("family", "class_name", "expected"), CASES, ids=[c[1] for c in CASES])
def test_depth_of_hand_written_names(
    family: str, class_name: str, expected: dict[str, Depth]
) -> None:
    layout = layout_for(family, class_name)
    for name, depth in expected.items():
        assert layout.depth(name) == depth, name


def test_t5_counts_across_stacks() -> None:
    layout = layout_for("t5", "T5ForConditionalGeneration", num_blocks=6)
    assert layout.prefix == ""
    assert layout.stacks == ("encoder.block", "decoder.block")
    assert layout.depth("shared.weight") == EMBEDDINGS
    assert layout.depth("encoder.block.5.layer.1.DenseReluDense.wo.weight") == block(5)
    assert layout.depth("decoder.block.0.layer.1.EncDecAttention.q.weight") == block(6)
    assert layout.depth("decoder.final_layer_norm.weight") == FINAL
    assert layout.depth("lm_head.weight") == HEAD
    assert layout.block_path(7) == "decoder.block.1"
    assert layout.num_blocks == 12
    # decoder.embed_tokens shares `shared`: the decoder spans embeddings to its final norm
    assert layout.depth_range("decoder") == (EMBEDDINGS, FINAL)
    assert layout.depth_range("decoder.block") == (block(6), block(11))
    encoder_only = layout_for("t5", "T5EncoderModel")
    assert encoder_only.stacks == ("encoder.block",)
    assert layout_for("t5", "T5ForSequenceClassification").prefix == "transformer"


def test_t5_decoder_needs_the_encoder_length() -> None:
    layout = layout_for("t5", "T5ForConditionalGeneration")
    assert layout.depth("encoder.block.2.layer.0.SelfAttention.q.weight") == block(2)
    with pytest.raises(ValueError, match="unknown"):
        layout.depth("decoder.block.0.layer.0.SelfAttention.q.weight")
    assert layout.with_lengths(4, 4).depth("decoder.block.0") == block(4)


def test_prefix_follows_the_class() -> None:
    assert layout_for("bert", "BertForSequenceClassification").prefix == "bert"
    assert layout_for("bert", "BertModel").prefix == ""
    assert layout_for("bert").prefix == "bert"
    assert layout_for("llama", "LlamaForCausalLM").prefix == "model"
    assert layout_for("llama", "LlamaModel").prefix == ""
    assert layout_for("qwen2", "Qwen2ForQuestionAnswering").prefix == "transformer"
    assert layout_for("mistral", "MistralForQuestionAnswering").prefix == "model"
    assert layout_for("gpt2", "GPT2Model").prefix == ""
    assert layout_for("vit", "ViTForImageClassification").prefix == "vit"
    assert layout_for("modernbert", "ModernBertForMaskedLM").prefix == "model"
    assert layout_for("resnet").prefix == ""


def test_class_specific_parts() -> None:
    token = layout_for("bert", "BertForTokenClassification")
    assert token.absent == ("bert.pooler",)
    assert token.depth("bert.pooler.dense.weight") == FINAL  # still the pooler's place
    assert not any("pooler" in n for n in token.representative_names(2))
    assert layout_for("roberta", "RobertaForSequenceClassification").absent == ("roberta.pooler",)
    assert layout_for("bert", "BertForSequenceClassification").absent == ()
    assert layout_for("vit", "ViTForImageClassification").absent == ("vit.pooler",)
    assert layout_for("distilbert", "DistilBertForSequenceClassification").heads == (
        "pre_classifier",
        "classifier",
    )


def test_block_stack_itself_is_not_one_depth() -> None:
    layout = layout_for("bert", "BertForSequenceClassification", num_blocks=12)
    for path in ("bert.encoder.layer", "bert.encoder", "bert", ""):
        with pytest.raises(ValueError, match="depth_range"):
            layout.depth(path)
    assert layout.depth_range("bert.encoder.layer") == (block(0), block(11))
    assert layout.depth_range("bert.encoder") == (block(0), block(11))
    assert layout.depth_range("bert") == (EMBEDDINGS, FINAL)
    assert layout.depth_range("") == (EMBEDDINGS, HEAD)
    assert layout.depth_range("bert.encoder.layer.4.attention") == (block(4), block(4))
    assert layout.block_path(3) == "bert.encoder.layer.3"
    with pytest.raises(ValueError):
        layout.block_path(12)
    with pytest.raises(ValueError, match="unknown"):
        layout_for("bert").depth_range("bert.encoder.layer")


def test_the_seed_groups() -> None:
    """The note's improved code: embeddings < lower blocks < upper blocks <= pooler < heads."""
    layout = layout_for("bert", prefix="bert", num_blocks=12)
    assert layout.depth_range("bert.embeddings") == (EMBEDDINGS, EMBEDDINGS)
    lower = [layout.depth(layout.block_path(i)) for i in range(6)]
    upper = [layout.depth(f"bert.encoder.layer.{i}") for i in range(6, 12)]
    assert max(lower) < min(upper)
    assert layout.depth("bert.pooler") == FINAL
    assert layout.depth("sentence_attention.query.weight") == HEAD
    assert layout.depth("classifier.weight") == HEAD


def test_albert_is_marked_shared() -> None:
    layout = layout_for("albert", "AlbertForSequenceClassification")
    assert layout.shared_blocks
    assert not layout_for("bert").shared_blocks
    names = layout.representative_names()
    assert {layout.depth(n) for n in names if "albert_layer_groups" in n} == {block(0)}


def test_unknown_family() -> None:
    with pytest.raises(ValueError, match="unknown model family"):
        layout_for("gpt-neox")
    with pytest.raises(ValueError, match="infer_layout"):
        layout_for("generic")


def test_layouts_are_hashable_values() -> None:
    a = layout_for("bert", "BertForSequenceClassification")
    assert a == layout_for("bert", "BertForSequenceClassification")
    assert len({a, layout_for("gpt2")}) == 2
    assert isinstance(a, Layout)


# -- representative names round-trip -------------------------------------------------------

ALL_CLASSES = [(spec[0], cls) for cls, spec in _names.CLASSES.items()] + [
    ("timm-vit", "VisionTransformer"),
    ("resnet", "ResNet"),
    ("convnext", "ConvNeXt"),
]


def _lengths(family: str, class_name: str) -> int | tuple[int, ...]:
    if family == "t5":
        return 4 if class_name in ("T5EncoderModel", "T5ForTokenClassification") else (4, 2)
    return 4


@pytest.mark.parametrize(("family", "class_name"), ALL_CLASSES, ids=[c for _, c in ALL_CLASSES])
def test_representative_names_round_trip(family: str, class_name: str) -> None:
    layout = layout_for(family, class_name, num_blocks=_lengths(family, class_name))
    names = layout.representative_names()
    assert len(names) == len(set(names))
    depths = [layout.depth(n) for n in names]
    blocks = {d.index for d in depths if d.tier is Tier.BLOCK}
    expected = {"albert": 4, "resnet": 4, "convnext": 4}.get(family, layout.num_blocks)
    assert blocks == set(range(expected or 0))
    assert EMBEDDINGS in depths
    no_bias = ("llama", "mistral", "t5", "modernbert")
    assert any(n.endswith(".bias") for n in names) or family in no_bias
    # the runtime inference reads the same layout back from the names
    runtime = infer_layout(names, class_name=class_name)
    assert (runtime.family, runtime.prefix) == (family, layout.prefix)
    assert [runtime.depth(n) for n in names] == depths
    # and without the class name, at least an identical layout
    blind = infer_layout(names)
    assert blind.family in {family, *FAMILIES[family].same_layout_as}
    assert [blind.depth(n) for n in names] == depths


def test_representative_names_by_hand() -> None:
    gpt2 = layout_for("gpt2", "GPT2LMHeadModel").representative_names(2)
    assert "transformer.h.1.ln_1.weight" in gpt2
    assert "transformer.h.1.ln_2.bias" in gpt2
    assert "lm_head.weight" not in gpt2  # tied: listed as transformer.wte.weight
    assert gpt2[0] == "transformer.wte.weight"
    llama = layout_for("llama", "LlamaForCausalLM").representative_names(2)
    assert "model.layers.1.post_attention_layernorm.weight" in llama
    assert llama[-2:] == ["model.norm.weight", "lm_head.weight"]
    bert = layout_for("bert", "BertForSequenceClassification").representative_names(12)
    assert len([n for n in bert if "encoder.layer.1." in n]) == 16
    assert len([n for n in bert if "encoder.layer.1" in n]) == 16 * 3  # 1, 10, 11: as in torch
    t5 = layout_for("t5", "T5ForConditionalGeneration").representative_names(2)
    rel = [n for n in t5 if "relative_attention_bias" in n]
    assert rel == [
        "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
        "decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
    ]
    modern = layout_for("modernbert", "ModernBertModel").representative_names(2)
    assert "layers.0.attn_norm.weight" not in modern and "layers.1.attn_norm.weight" in modern
    xlmr = layout_for("xlm-roberta", "XLMRobertaForMaskedLM").representative_names(2)
    assert "roberta.embeddings.word_embeddings.weight" not in xlmr
    assert "lm_head.decoder.weight" in xlmr
    custom = layout_for("bert", prefix="encoder_model").representative_names(2)
    assert custom[0] == "encoder_model.embeddings.word_embeddings.weight"
    assert custom[-1] == "encoder_model.pooler.dense.bias"


def test_legacy_vit_spelling() -> None:
    old = layout_for("vit", "ViTForImageClassification", num_blocks=2, legacy=True)
    names = old.representative_names()
    assert "vit.encoder.layer.1.attention.attention.query.weight" in names
    runtime = infer_layout(names)
    assert runtime.stacks == ("vit.encoder.layer",)
    assert runtime.depth("vit.encoder.layer.1.output.dense.weight") == block(1)
    assert runtime.depth("vit.layers.1") == block(1)  # the other spelling still resolves
    assert runtime.block_path(0) == "vit.encoder.layer.0"


# -- infer_layout on names that are not a known family's --------------------------------------


def test_custom_module_around_bert() -> None:
    bert = layout_for("bert", "BertModel").representative_names(4)
    names = [f"bert.{n}" for n in bert]
    names += ["sentence_attention.0.weight", "sentence_attention.0.bias", "classifier.weight"]
    layout = infer_layout(names, class_name="SentenceClassifier")
    assert (layout.family, layout.prefix) == ("bert", "bert")
    assert layout.heads == ("sentence_attention", "classifier")
    assert layout.depth("sentence_attention.0.weight") == HEAD
    assert layout.depth("bert.pooler.dense.bias") == FINAL
    assert layout.stack_lengths == (4,)


def test_peft_wrapped_model() -> None:
    base = layout_for("bert", "BertForSequenceClassification").representative_names(2)
    names = []
    for n in base:
        n = f"base_model.model.{n}"
        if n.endswith(("query.weight", "value.weight")):
            stem = n.rsplit(".", 1)[0]
            names += [f"{stem}.base_layer.weight", f"{stem}.lora_A.default.weight"]
            names += [f"{stem}.lora_B.default.weight"]
        elif n.startswith("base_model.model.classifier"):
            names += [n.replace("classifier", "classifier.modules_to_save.default")]
        else:
            names.append(n)
    layout = infer_layout(names)
    assert (layout.family, layout.prefix) == ("bert", "base_model.model.bert")
    lora = "base_model.model.bert.encoder.layer.1.attention.self.query.lora_A.default.weight"
    assert layout.depth(lora) == block(1)
    assert layout.depth("base_model.model.classifier.modules_to_save.default.weight") == HEAD


def test_generic_layout() -> None:
    names = [
        "gpt_neox.embed_in.weight",
        *(f"gpt_neox.layers.{i}.attention.dense.weight" for i in range(4)),
        "gpt_neox.final_layer_norm.weight",
        "embed_out.weight",
    ]
    layout = infer_layout(names)
    assert (layout.family, layout.prefix) == ("generic", "gpt_neox")
    assert layout.stacks == ("gpt_neox.layers",)
    assert [layout.depth(n) for n in names] == [
        EMBEDDINGS,
        block(0),
        block(1),
        block(2),
        block(3),
        FINAL,
        HEAD,
    ]
    bare = ["patch.weight", "cls", *(f"blocks.{i}.w" for i in range(3)), "norm.weight", "fc.weight"]
    layout = infer_layout(bare)
    assert layout.prefix == ""
    assert [str(layout.depth(n)) for n in bare] == [
        "embeddings",
        "embeddings",
        "block 0",
        "block 1",
        "block 2",
        "final (pooler/norm)",
        "head",
    ]


def test_generic_layout_ignores_per_block_sublists() -> None:
    """Mixture-of-experts: 8 experts in each of 2 layers; the layers are the blocks."""
    names = ["model.embed.weight"]
    for i in range(2):
        names += [f"model.layers.{i}.experts.{e}.w1" for e in range(8)]
        names.append(f"model.layers.{i}.norm.weight")
    names += ["model.norm.weight", "lm_head.weight"]
    layout = infer_layout(names)
    assert layout.stacks == ("model.layers",)
    assert layout.depth("model.layers.1.experts.7.w1") == block(1)
    assert layout.depth("model.norm.weight") == FINAL
    assert layout.depth("lm_head.weight") == HEAD


def test_generic_layout_without_blocks() -> None:
    layout = infer_layout(["fc1.weight", "fc2.weight"])
    assert layout.family == "generic"
    assert layout.depth("fc1.weight") == HEAD


def test_family_hint_picks_among_identical_layouts() -> None:
    names = layout_for("llama", "LlamaForCausalLM").representative_names(2)
    assert infer_layout(names).family == "llama"
    assert infer_layout(names, class_name="MistralForCausalLM").family == "mistral"
    qwen = layout_for("qwen2", "Qwen2ForCausalLM").representative_names(2)
    assert infer_layout(qwen).family == "qwen2"  # q/k/v biases tell it apart
    roberta = layout_for("roberta", "RobertaForSequenceClassification").representative_names(2)
    assert infer_layout(roberta).family == "roberta"  # by its attribute name
    xlmr = layout_for("xlm-roberta", "XLMRobertaForSequenceClassification").representative_names(2)
    assert infer_layout(xlmr, class_name="XLMRobertaForSequenceClassification").family == (
        "xlm-roberta"
    )


# -- stays light ---------------------------------------------------------------------------


def test_depth_package_imports_nothing_heavy() -> None:
    probe = (
        "import sys, lrlint.depth as d\n"
        "d.infer_layout(d.layout_for('bert', 'BertModel').representative_names(2))\n"
        "print(' '.join(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = {m.split(".")[0] for m in out.split()}
    assert not loaded & {"torch", "transformers", "libcst", "numpy", "timm", "torchvision"}
