"""The depth model against real models: tiny transformers (and timm/torchvision) models built
from configs, no weights downloaded. Skipped when transformers is not installed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

from lrlint.depth import (  # noqa: E402
    EMBEDDINGS,
    FAMILIES,
    FINAL,
    HEAD,
    Depth,
    Layout,
    Tier,
    infer_layout,
    layout_for,
)

transformers.logging.set_verbosity_error()

L = 3  # blocks in every tiny model (T5: 3 encoder + 2 decoder)
_TEXT = dict(
    hidden_size=32, num_hidden_layers=L, num_attention_heads=2, intermediate_size=37, vocab_size=100
)


@dataclass(frozen=True)
class Case:
    """One tiny model: its family, class, config and where its backbone sits."""

    family: str
    class_name: str
    config: Callable[[], Any]
    prefix: str
    num_blocks: int = L
    tied: bool = False  # the LM head is tied to the input embeddings
    key: str = ""
    canonical: bool = True  # a common checkpoint's config (the stored names describe it)

    @property
    def id(self) -> str:
        return self.key or self.class_name

    @property
    def lengths(self) -> tuple[int, ...]:
        if self.family == "t5" and self.num_blocks > L:
            return (L, self.num_blocks - L)
        return (self.num_blocks,)


def _cfg(name: str, **kw: Any) -> Callable[[], Any]:
    def make() -> Any:
        return getattr(transformers, name)(**kw)

    return make


bert = _cfg("BertConfig", **_TEXT)
roberta = _cfg("RobertaConfig", **_TEXT)
xlmr = _cfg("XLMRobertaConfig", **_TEXT)
electra = _cfg("ElectraConfig", **_TEXT, embedding_size=16)
electra_same = _cfg("ElectraConfig", **_TEXT, embedding_size=32)
deberta = _cfg("DebertaV2Config", **_TEXT, relative_attention=True, pos_att_type=["p2c", "c2p"])
deberta_v3 = _cfg(
    "DebertaV2Config",
    **_TEXT,
    relative_attention=True,
    pos_att_type=["p2c", "c2p"],
    position_buckets=8,
    norm_rel_ebd="layer_norm",
    share_att_key=True,
    position_biased_input=False,
    max_relative_positions=-1,
)
deberta_conv = _cfg(
    "DebertaV2Config", **_TEXT, relative_attention=True, conv_kernel_size=3, conv_act="gelu"
)
distil = _cfg("DistilBertConfig", dim=32, n_layers=L, n_heads=2, hidden_dim=37, vocab_size=100)
albert = _cfg("AlbertConfig", **_TEXT, embedding_size=16)
albert2 = _cfg("AlbertConfig", **_TEXT, embedding_size=16, num_hidden_groups=3, inner_group_num=2)
gpt2 = _cfg(
    "GPT2Config",
    n_embd=32,
    n_layer=L,
    n_head=2,
    vocab_size=100,
    n_positions=64,
    bos_token_id=0,
    eos_token_id=0,
)
_DEC = dict(**_TEXT, num_key_value_heads=1, bos_token_id=0, eos_token_id=1, pad_token_id=0)
llama = _cfg("LlamaConfig", **_DEC)
llama_tied = _cfg("LlamaConfig", **_DEC, tie_word_embeddings=True)
llama_bias = _cfg("LlamaConfig", **_DEC, attention_bias=True, mlp_bias=True)
mistral = _cfg("MistralConfig", **_DEC)
qwen2 = _cfg("Qwen2Config", **_DEC)
qwen2_tied = _cfg("Qwen2Config", **_DEC, tie_word_embeddings=True)
_T5 = dict(
    d_model=32,
    d_kv=16,
    d_ff=37,
    num_layers=L,
    num_decoder_layers=2,
    num_heads=2,
    vocab_size=100,
    decoder_start_token_id=0,
    pad_token_id=0,
    eos_token_id=1,
)
t5 = _cfg("T5Config", **_T5)
flan_t5 = _cfg("T5Config", **_T5, feed_forward_proj="gated-gelu", tie_word_embeddings=False)
vit = _cfg(
    "ViTConfig",
    hidden_size=32,
    num_hidden_layers=L,
    num_attention_heads=2,
    intermediate_size=37,
    image_size=32,
    patch_size=8,
)
modernbert = _cfg(
    "ModernBertConfig",
    **_TEXT,
    global_attn_every_n_layers=2,
    local_attention=16,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    cls_token_id=1,
    sep_token_id=2,
)
modernbert_bias = _cfg(
    "ModernBertConfig",
    **_TEXT,
    global_attn_every_n_layers=2,
    local_attention=16,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    cls_token_id=1,
    sep_token_id=2,
    norm_bias=True,
    attention_bias=True,
    mlp_bias=True,
    classifier_bias=True,
)

CASES: list[Case] = [
    # BERT
    Case("bert", "BertModel", bert, ""),
    Case("bert", "BertForSequenceClassification", bert, "bert"),
    Case("bert", "BertForTokenClassification", bert, "bert"),
    Case("bert", "BertForQuestionAnswering", bert, "bert"),
    Case("bert", "BertForMaskedLM", bert, "bert", tied=True),
    Case("bert", "BertForMultipleChoice", bert, "bert"),
    Case("bert", "BertForPreTraining", bert, "bert", tied=True),
    Case("bert", "BertForNextSentencePrediction", bert, "bert"),
    Case("bert", "BertLMHeadModel", bert, "bert", tied=True),
    # RoBERTa
    Case("roberta", "RobertaModel", roberta, ""),
    Case("roberta", "RobertaForSequenceClassification", roberta, "roberta"),
    Case("roberta", "RobertaForTokenClassification", roberta, "roberta"),
    Case("roberta", "RobertaForQuestionAnswering", roberta, "roberta"),
    Case("roberta", "RobertaForMaskedLM", roberta, "roberta", tied=True),
    Case("roberta", "RobertaForCausalLM", roberta, "roberta", tied=True),
    Case("roberta", "RobertaForMultipleChoice", roberta, "roberta"),
    # XLM-R
    Case("xlm-roberta", "XLMRobertaModel", xlmr, ""),
    Case("xlm-roberta", "XLMRobertaForSequenceClassification", xlmr, "roberta"),
    Case("xlm-roberta", "XLMRobertaForTokenClassification", xlmr, "roberta"),
    Case("xlm-roberta", "XLMRobertaForQuestionAnswering", xlmr, "roberta"),
    Case("xlm-roberta", "XLMRobertaForMaskedLM", xlmr, "roberta", tied=True),
    Case("xlm-roberta", "XLMRobertaForCausalLM", xlmr, "roberta", tied=True),
    Case("xlm-roberta", "XLMRobertaForMultipleChoice", xlmr, "roberta"),
    # ELECTRA
    Case("electra", "ElectraModel", electra, ""),
    Case("electra", "ElectraForSequenceClassification", electra, "electra"),
    Case(
        "electra",
        "ElectraForSequenceClassification",
        electra_same,
        "electra",
        key="ElectraForSequenceClassification-noproj",
    ),
    Case("electra", "ElectraForTokenClassification", electra, "electra"),
    Case("electra", "ElectraForQuestionAnswering", electra, "electra"),
    Case("electra", "ElectraForMaskedLM", electra, "electra", tied=True),
    Case("electra", "ElectraForPreTraining", electra, "electra"),
    Case("electra", "ElectraForMultipleChoice", electra, "electra"),
    Case("electra", "ElectraForCausalLM", electra, "electra", tied=True),
    # DeBERTa-v2 / v3
    Case("deberta-v2", "DebertaV2Model", deberta, ""),
    Case("deberta-v2", "DebertaV2ForSequenceClassification", deberta, "deberta"),
    Case(
        "deberta-v2",
        "DebertaV2ForSequenceClassification",
        deberta_v3,
        "deberta",
        key="DebertaV2ForSequenceClassification-v3",
    ),
    Case(  # deberta-v2-xlarge's conv layer is left out of the stored names
        "deberta-v2",
        "DebertaV2ForSequenceClassification",
        deberta_conv,
        "deberta",
        key="DebertaV2ForSequenceClassification-conv",
        canonical=False,
    ),
    Case("deberta-v2", "DebertaV2ForTokenClassification", deberta_v3, "deberta"),
    Case("deberta-v2", "DebertaV2ForQuestionAnswering", deberta_v3, "deberta"),
    Case("deberta-v2", "DebertaV2ForMaskedLM", deberta_v3, "deberta", tied=True),
    Case("deberta-v2", "DebertaV2ForMultipleChoice", deberta_v3, "deberta"),
    # DistilBERT
    Case("distilbert", "DistilBertModel", distil, ""),
    Case("distilbert", "DistilBertForSequenceClassification", distil, "distilbert"),
    Case("distilbert", "DistilBertForTokenClassification", distil, "distilbert"),
    Case("distilbert", "DistilBertForQuestionAnswering", distil, "distilbert"),
    Case("distilbert", "DistilBertForMaskedLM", distil, "distilbert", tied=True),
    Case("distilbert", "DistilBertForMultipleChoice", distil, "distilbert"),
    # ALBERT: one shared layer group (num_blocks counts layer groups)
    Case("albert", "AlbertModel", albert, "", num_blocks=1),
    Case("albert", "AlbertForSequenceClassification", albert, "albert", num_blocks=1),
    Case(
        "albert",
        "AlbertForSequenceClassification",
        albert2,
        "albert",
        num_blocks=3,
        key="AlbertForSequenceClassification-3groups",
        canonical=False,
    ),
    Case("albert", "AlbertForTokenClassification", albert, "albert", num_blocks=1),
    Case("albert", "AlbertForQuestionAnswering", albert, "albert", num_blocks=1),
    Case("albert", "AlbertForMaskedLM", albert, "albert", num_blocks=1, tied=True),
    Case("albert", "AlbertForPreTraining", albert, "albert", num_blocks=1, tied=True),
    Case("albert", "AlbertForMultipleChoice", albert, "albert", num_blocks=1),
    # GPT-2
    Case("gpt2", "GPT2Model", gpt2, ""),
    Case("gpt2", "GPT2LMHeadModel", gpt2, "transformer", tied=True),
    Case("gpt2", "GPT2ForSequenceClassification", gpt2, "transformer"),
    Case("gpt2", "GPT2ForTokenClassification", gpt2, "transformer"),
    Case("gpt2", "GPT2ForQuestionAnswering", gpt2, "transformer"),
    Case("gpt2", "GPT2DoubleHeadsModel", gpt2, "transformer", tied=True),
    # Llama, Mistral, Qwen2
    Case("llama", "LlamaModel", llama, ""),
    Case("llama", "LlamaForCausalLM", llama, "model"),
    Case("llama", "LlamaForCausalLM", llama_tied, "model", tied=True, key="LlamaForCausalLM-tied"),
    Case(
        "llama",
        "LlamaForCausalLM",
        llama_bias,
        "model",
        key="LlamaForCausalLM-bias",
        canonical=False,
    ),
    Case("llama", "LlamaForSequenceClassification", llama, "model"),
    Case("llama", "LlamaForTokenClassification", llama, "model"),
    Case("llama", "LlamaForQuestionAnswering", llama, "transformer"),
    Case("mistral", "MistralModel", mistral, ""),
    Case("mistral", "MistralForCausalLM", mistral, "model"),
    Case("mistral", "MistralForSequenceClassification", mistral, "model"),
    Case("mistral", "MistralForTokenClassification", mistral, "model"),
    Case("mistral", "MistralForQuestionAnswering", mistral, "model"),
    Case("qwen2", "Qwen2Model", qwen2, ""),
    Case("qwen2", "Qwen2ForCausalLM", qwen2, "model"),
    Case("qwen2", "Qwen2ForCausalLM", qwen2_tied, "model", tied=True, key="Qwen2ForCausalLM-tied"),
    Case("qwen2", "Qwen2ForSequenceClassification", qwen2, "model"),
    Case("qwen2", "Qwen2ForTokenClassification", qwen2, "model"),
    Case("qwen2", "Qwen2ForQuestionAnswering", qwen2, "transformer"),
    # T5: encoder blocks 0..2, decoder blocks 3..4
    Case("t5", "T5Model", t5, "", num_blocks=5),
    Case("t5", "T5ForConditionalGeneration", t5, "", num_blocks=5, tied=True),
    Case(
        "t5",
        "T5ForConditionalGeneration",
        flan_t5,
        "",
        num_blocks=5,
        key="T5ForConditionalGeneration-flan",
    ),
    Case("t5", "T5EncoderModel", t5, ""),
    Case("t5", "T5ForSequenceClassification", t5, "transformer", num_blocks=5),
    Case("t5", "T5ForTokenClassification", t5, "transformer"),
    Case("t5", "T5ForQuestionAnswering", t5, "", num_blocks=5),
    # ViT (transformers 5.x: vit.layers)
    Case("vit", "ViTModel", vit, ""),
    Case("vit", "ViTForImageClassification", vit, "vit"),
    Case("vit", "ViTForMaskedImageModeling", vit, "vit"),
    # ModernBERT
    Case("modernbert", "ModernBertModel", modernbert, ""),
    Case("modernbert", "ModernBertForSequenceClassification", modernbert, "model"),
    Case(
        "modernbert",
        "ModernBertForSequenceClassification",
        modernbert_bias,
        "model",
        key="ModernBertForSequenceClassification-bias",
        canonical=False,
    ),
    Case("modernbert", "ModernBertForTokenClassification", modernbert, "model"),
    Case("modernbert", "ModernBertForQuestionAnswering", modernbert, "model"),
    Case("modernbert", "ModernBertForMaskedLM", modernbert, "model", tied=True),
    Case("modernbert", "ModernBertForMultipleChoice", modernbert, "model"),
]


_BY_ID = {c.id: c for c in CASES}
_BUILT: dict[str, tuple[Any, list[str]]] = {}


def _build(case: Case) -> tuple[Any, list[str]]:
    if case.id not in _BUILT:
        torch.manual_seed(0)
        model = getattr(transformers, case.class_name)(case.config())
        _BUILT[case.id] = (model, [n for n, _ in model.named_parameters()])
    return _BUILT[case.id]


def _backbone_names(case: Case, model: Any, names: list[str]) -> set[str]:
    """The parameters of the pretrained backbone, found through the modules themselves."""
    if case.prefix:
        sub = model.get_submodule(case.prefix)
        inside = {f"{case.prefix}.{n}" for n, _ in sub.named_parameters()}
        return inside & set(names)
    base = getattr(transformers, FAMILIES[case.family].base_class)(case.config())
    return set(names) & {n for n, _ in base.named_parameters()}


def _name_of(model: Any, tensor: Any) -> list[str]:
    return [n for n, p in model.named_parameters() if p is tensor]


_SEQUENTIAL = {"deberta-v2", "t5"}  # shared rel_embeddings / the encoder's final norm come late
_IDS = [c.id for c in CASES]


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_infer_layout_finds_family_and_prefix(case: Case) -> None:
    _, names = _build(case)
    layout = infer_layout(names, class_name=case.class_name)
    assert (layout.family, layout.prefix) == (case.family, case.prefix)
    assert layout.shared_blocks == (case.family == "albert")
    # without the class name, a family of identical layout may be named instead
    blind = infer_layout(names)
    assert blind.prefix == case.prefix
    assert blind.family in {case.family, *FAMILIES[case.family].same_layout_as}


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_every_parameter_gets_the_right_kind_of_depth(case: Case) -> None:
    model, names = _build(case)
    layout = infer_layout(names, class_name=case.class_name)
    depths = {n: layout.depth(n) for n in names}
    backbone = _backbone_names(case, model, names)
    outside = [n for n in names if n not in backbone]
    assert backbone
    for n in backbone:
        assert depths[n].tier is not Tier.HEAD, n
    for n in outside:
        pooler = case.family == "deberta-v2" and n.startswith("pooler.")
        tied = (
            case.tied
            and model.get_output_embeddings() is not None
            and any(
                p is model.get_input_embeddings().weight
                for q, p in model.named_parameters()
                if q == n
            )
        )
        expected = FINAL if pooler else EMBEDDINGS if tied else HEAD
        assert depths[n] == expected, n
    blocks = {d.index for d in depths.values() if d.tier is Tier.BLOCK}
    assert blocks == set(range(case.num_blocks))
    assert layout.stack_lengths == case.lengths
    # the input embeddings are embeddings, wherever named_parameters() lists them
    (word,) = _name_of(model, next(model.get_input_embeddings().parameters()))
    assert depths[word] == EMBEDDINGS
    assert depths[next(n for n in names if n in backbone)] == EMBEDDINGS
    final = re.compile(r"(^|\.)(pooler|ln_f|final_layer_norm|final_norm|norm|layernorm)\.")
    for n in names:
        if final.search(n) and n in backbone and ".layers." not in n and "embeddings." not in n:
            assert depths[n] == FINAL, n


@pytest.mark.parametrize("case", [c for c in CASES if c.tied], ids=[c.id for c in CASES if c.tied])
def test_tied_lm_head_sits_at_embedding_depth(case: Case) -> None:
    model, names = _build(case)
    layout = infer_layout(names, class_name=case.class_name)
    out = model.get_output_embeddings()
    assert out is not None and out.weight is model.get_input_embeddings().weight
    (listed,) = _name_of(model, out.weight)  # once, under the first registered name
    assert layout.depth(listed) == EMBEDDINGS
    head_names = [n for n, m in model.named_modules() if m is out]
    for head in head_names:
        assert f"{head}.weight" not in names or layout.depth(f"{head}.weight") == EMBEDDINGS


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_depth_rises_in_registration_order(case: Case) -> None:
    model, names = _build(case)
    layout = infer_layout(names, class_name=case.class_name)
    backbone = _backbone_names(case, model, names)
    depths = [layout.depth(n) for n in names if n in backbone]
    if case.family in _SEQUENTIAL:
        # still: the blocks of the stacks in order, embeddings first
        in_stacks = [n for n in names if any(n.startswith(f"{s}.") for s in layout.stacks)]
        blocks = [layout.depth(n).index for n in in_stacks]
        assert blocks == sorted(blocks)
        assert depths[0] == EMBEDDINGS
    else:
        assert depths == sorted(depths)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_static_layout_agrees_with_the_runtime_one(case: Case) -> None:
    _, names = _build(case)
    runtime = infer_layout(names, class_name=case.class_name)
    static = layout_for(case.family, case.class_name, num_blocks=case.lengths)
    assert static.prefix == runtime.prefix
    assert static.stacks == runtime.stacks
    for n in names:
        assert static.depth(n) == runtime.depth(n), n


def _shape(name: str) -> str:
    return re.sub(r"(^|\.)\d+(?=\.|$)", r"\1N", name)


@pytest.mark.parametrize("case", CASES, ids=_IDS)
def test_representative_names_cover_the_real_ones(case: Case) -> None:
    _, names = _build(case)
    static = layout_for(case.family, case.class_name, num_blocks=case.lengths)
    rep = static.representative_names()
    if case.canonical:
        assert set(names) <= set(rep), sorted(set(names) - set(rep))
    else:  # other configs: every real name's shape, at its depth, is represented
        shapes = {(static.depth(n), _shape(n)) for n in rep}
        missing = {(static.depth(n), _shape(n)) for n in names} - shapes
        # stored names follow the common checkpoints: no Llama/ModernBERT biases, no DeBERTa conv
        unexpected = {(d, s) for d, s in missing if not s.endswith(".bias") and ".conv." not in s}
        assert not unexpected, sorted(missing)
    # every representative name has a depth, and every block is there
    rep_depths = {static.depth(n) for n in rep}
    assert {d.index for d in rep_depths if d.tier is Tier.BLOCK} == set(range(case.num_blocks))


def test_albert_shares_its_layer() -> None:
    _, names = _build(_BY_ID["AlbertForSequenceClassification"])
    layout = infer_layout(names)
    assert layout.shared_blocks
    assert layout.num_blocks == 1
    model, names = _build(_BY_ID["AlbertForSequenceClassification-3groups"])
    assert model.config.num_hidden_layers == 3 and infer_layout(names).num_blocks == 3


def test_deberta_outer_pooler_is_final_and_conv_is_block_zero() -> None:
    _, names = _build(_BY_ID["DebertaV2ForSequenceClassification-conv"])
    layout = infer_layout(names)
    assert layout.depth("pooler.dense.weight") == FINAL
    assert layout.depth("deberta.encoder.conv.conv.weight") == Depth(Tier.BLOCK, 0)
    assert layout.depth("deberta.encoder.rel_embeddings.weight") == EMBEDDINGS


def test_xlmr_masked_lm_lists_the_word_embeddings_under_the_head() -> None:
    model, names = _build(_BY_ID["XLMRobertaForMaskedLM"])
    assert "roberta.embeddings.word_embeddings.weight" not in names
    assert _name_of(model, model.get_input_embeddings().weight) == ["lm_head.decoder.weight"]
    for layout in (infer_layout(names), layout_for("xlm-roberta", "XLMRobertaForMaskedLM")):
        assert layout.depth("lm_head.decoder.weight") == EMBEDDINGS
        assert layout.depth("lm_head.dense.weight") == HEAD


def test_t5_counts_decoder_blocks_after_the_encoder() -> None:
    _, names = _build(_BY_ID["T5ForConditionalGeneration"])
    layout = infer_layout(names)
    assert layout.stacks == ("encoder.block", "decoder.block")
    assert layout.depth("decoder.block.0.layer.0.SelfAttention.q.weight") == Depth(Tier.BLOCK, L)
    assert layout.block_path(L + 1) == "decoder.block.1"
    assert layout.depth("shared.weight") == EMBEDDINGS
    assert layout.depth("encoder.final_layer_norm.weight") == FINAL


def test_custom_module_around_a_pretrained_bert() -> None:
    nn = torch.nn

    class SentenceClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            config = transformers.BertConfig(**_TEXT)
            self.bert = transformers.BertModel(config)
            self.sentence_attention = nn.Sequential(nn.Linear(32, 16), nn.Tanh(), nn.Linear(16, 1))
            self.classifier = nn.Linear(32, 2)

    model = SentenceClassifier()
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names, class_name="SentenceClassifier")
    assert (layout.family, layout.prefix) == ("bert", "bert")
    assert layout.depth("sentence_attention.0.weight") == HEAD
    assert layout.depth("classifier.bias") == HEAD
    assert layout.depth("bert.pooler.dense.weight") == FINAL
    assert {layout.depth(n).index for n in names if "encoder.layer" in n} == set(range(L))
    assert set(layout.heads) == {"sentence_attention", "classifier"}
    static = layout_for("bert", prefix="bert", num_blocks=L)
    for n in names:
        assert static.depth(n) == layout.depth(n), n
    for module_path, _ in model.named_modules():
        if module_path and module_path not in ("bert", "bert.encoder", "bert.encoder.layer"):
            lo, hi = layout.depth_range(module_path)
            assert lo <= hi


def test_wrapped_models_keep_their_layout() -> None:
    """DataParallel/DDP (`module.`) and torch.compile (`_orig_mod.`) only add a prefix."""
    _, names = _build(_BY_ID["LlamaForCausalLM"])
    for wrapper in ("module", "_orig_mod", "module._orig_mod"):
        layout = infer_layout([f"{wrapper}.{n}" for n in names], class_name="LlamaForCausalLM")
        assert layout.prefix == f"{wrapper}.model"
        assert layout.depth(f"{wrapper}.lm_head.weight") == HEAD
        assert layout.depth(f"{wrapper}.model.layers.2.mlp.up_proj.weight") == Depth(Tier.BLOCK, 2)


def test_meta_device_seven_billion_llama_layout() -> None:
    config = transformers.LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32000,
    )
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names)
    assert layout.family in {"llama", "mistral", "qwen2"} and layout.prefix == "model"
    assert layout.num_blocks == 32
    assert layout.depth("model.layers.31.self_attn.o_proj.weight") == Depth(Tier.BLOCK, 31)


# -- timm and torchvision (skipped when they cannot be imported) ---------------------------


def _import_or_skip(name: str) -> Any:
    try:
        return __import__(name)
    except Exception as exc:  # a torchvision built for another torch raises RuntimeError
        pytest.skip(f"{name} does not import here: {exc!r}"[:200])


_TIMM = [
    ("vit_base_patch16_224", dict(depth=3, embed_dim=32, num_heads=2), "timm-vit", 3),
    (
        "vit_small_patch16_224",
        dict(depth=3, embed_dim=32, num_heads=2, global_pool="avg"),
        "timm-vit",
        3,
    ),
    ("resnet18", {}, "resnet", 4),
    ("resnet50", {}, "resnet", 4),
    ("convnext_tiny", dict(depths=(1, 1, 2, 1), dims=(8, 16, 32, 64)), "convnext", 4),
]


@pytest.mark.parametrize(("name", "kw", "family", "blocks"), _TIMM, ids=[t[0] for t in _TIMM])
def test_timm_models(name: str, kw: dict[str, Any], family: str, blocks: int) -> None:
    timm = _import_or_skip("timm")
    model = timm.create_model(name, pretrained=False, num_classes=5, **kw)
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names, class_name=type(model).__name__)
    assert (layout.family, layout.prefix) == (family, "")
    depths = [layout.depth(n) for n in names]
    assert {d.index for d in depths if d.tier is Tier.BLOCK} == set(range(blocks))
    head = model.get_classifier()
    head_names = {n for n, p in model.named_parameters() if any(p is q for q in head.parameters())}
    for n, d in zip(names, depths, strict=True):
        assert (d == HEAD) == (n in head_names), n
    assert depths == sorted(depths)
    assert depths[0] == EMBEDDINGS


def test_torchvision_resnet() -> None:
    tv = _import_or_skip("torchvision")
    model = tv.models.resnet50()
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names, class_name="ResNet")
    assert (layout.family, layout.prefix) == ("resnet", "")
    depths = [layout.depth(n) for n in names]
    assert depths == sorted(depths)
    assert layout.depth("conv1.weight") == EMBEDDINGS
    assert layout.depth("layer4.2.bn3.bias") == Depth(Tier.BLOCK, 3)
    assert layout.depth("fc.weight") == HEAD


def test_layout_type_is_frozen() -> None:
    layout = layout_for("gpt2", "GPT2LMHeadModel")
    assert isinstance(layout, Layout)
    with pytest.raises(AttributeError):
        layout.prefix = "x"  # type: ignore[misc]
