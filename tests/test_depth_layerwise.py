"""The function `lrlint fix` writes and lrlint's one model of depth agree.

For every family lrlint knows, a tiny real model is built from its config (no download) and
both put every parameter at the same depth: `param_groups_by_depth` from the model's structure
alone, `lrlint.depth.infer_layout` from its parameter names and the family tables.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from torch import nn  # noqa: E402

from lrlint.depth import FAMILIES, Tier, infer_layout  # noqa: E402
from lrlint.depth.layerwise import param_groups_by_depth, source  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=3, num_attention_heads=2, intermediate_size=37)


def tiny_config(family: str) -> Any:
    t = transformers
    decoder = dict(vocab_size=99, num_key_value_heads=2, **TINY)
    return {
        "bert": lambda: t.BertConfig(vocab_size=99, **TINY),
        "roberta": lambda: t.RobertaConfig(vocab_size=99, **TINY),
        "xlm-roberta": lambda: t.XLMRobertaConfig(vocab_size=99, **TINY),
        "electra": lambda: t.ElectraConfig(vocab_size=99, embedding_size=16, **TINY),
        "deberta-v2": lambda: t.DebertaV2Config(vocab_size=99, **TINY),
        "distilbert": lambda: t.DistilBertConfig(
            vocab_size=99, dim=32, n_layers=3, n_heads=2, hidden_dim=37
        ),
        "albert": lambda: t.AlbertConfig(vocab_size=99, embedding_size=16, **TINY),
        "gpt2": lambda: t.GPT2Config(vocab_size=99, n_embd=32, n_layer=3, n_head=2),
        "llama": lambda: t.LlamaConfig(**decoder),
        "mistral": lambda: t.MistralConfig(**decoder),
        "qwen2": lambda: t.Qwen2Config(**decoder),
        "t5": lambda: t.T5Config(
            vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=3, num_decoder_layers=2
        ),
        "vit": lambda: t.ViTConfig(image_size=32, patch_size=8, **TINY),
        "modernbert": lambda: t.ModernBertConfig(
            vocab_size=99, pad_token_id=0, bos_token_id=1, eos_token_id=2, **TINY
        ),
    }[family]()


class BasicBlock(nn.Module):
    """torchvision's ResNet block, as torchvision builds it."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)


class ResNet(nn.Module):
    """torchvision.models.ResNet's layout: conv1/bn1 stem, layer1..layer4, fc."""

    def __init__(self, widths: tuple[int, ...] = (8, 8, 16, 16), blocks=(2, 1, 2, 1)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        cin = widths[0]
        for i, (w, n) in enumerate(zip(widths, blocks, strict=True), start=1):
            layers = [BasicBlock(cin if k == 0 else w, w) for k in range(n)]
            setattr(self, f"layer{i}", nn.Sequential(*layers))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 10)


# Each known family with the task classes whose layouts differ (heads, tied LM heads, a pooler
# beside the backbone, a bare backbone).
CLASSES = {
    "bert": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM", "AutoModel"),
    "roberta": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "xlm-roberta": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "electra": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "deberta-v2": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "distilbert": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "albert": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
    "gpt2": ("AutoModelForSequenceClassification", "AutoModelForCausalLM"),
    "llama": ("AutoModelForSequenceClassification", "AutoModelForCausalLM"),
    "mistral": ("AutoModelForSequenceClassification", "AutoModelForCausalLM"),
    "qwen2": ("AutoModelForSequenceClassification", "AutoModelForCausalLM"),
    "t5": ("AutoModelForSeq2SeqLM", "AutoModelForSequenceClassification", "AutoModel"),
    "vit": ("AutoModelForImageClassification", "AutoModel"),
    "modernbert": ("AutoModelForSequenceClassification", "AutoModelForMaskedLM"),
}
CASES = [(family, cls) for family, classes in CLASSES.items() for cls in classes]


def written_depths(model: nn.Module) -> dict[str, int]:
    ids = {id(p): n for n, p in model.named_parameters()}
    return {
        ids[id(p)]: group["depth"]
        for group in param_groups_by_depth(model, 1.0)
        for p in group["params"]
    }


def model_of_depth(model: nn.Module) -> dict[str, int]:
    """lrlint.depth's answer on the same integer scale: embeddings 0, block i at 1 + i, the
    pooler/final norm at L + 1, heads at L + 2."""
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names, type(model).__name__)
    count = layout.num_blocks or 0
    scale = {Tier.EMBEDDINGS: 0, Tier.FINAL: count + 1, Tier.HEAD: count + 2}
    out = {}
    for n in names:
        d = layout.depth(n)
        out[n] = 1 + d.index if d.tier is Tier.BLOCK else scale[d.tier]
    return out


def test_every_transformers_family_is_covered() -> None:
    transformers_families = {name for name, f in FAMILIES.items() if f.class_stem}
    assert transformers_families == set(CLASSES)


@pytest.mark.parametrize(("family", "cls"), CASES, ids=[f"{f}-{c}" for f, c in CASES])
def test_written_function_agrees_with_the_model_of_depth(family: str, cls: str) -> None:
    model = getattr(transformers, cls).from_config(tiny_config(family))
    ours, lrlint = written_depths(model), model_of_depth(model)
    assert set(ours) == set(lrlint)  # every parameter is placed
    wrong = {n: (ours[n], lrlint[n]) for n in lrlint if ours[n] != lrlint[n]}
    assert not wrong
    assert len(set(ours.values())) >= 3  # embeddings, blocks, a top: not one tier


def test_torchvision_resnet_stages_are_the_blocks() -> None:
    model = ResNet()
    ours, lrlint = written_depths(model), model_of_depth(model)
    assert ours == lrlint
    assert ours["conv1.weight"] == 0 and ours["layer1.1.conv2.weight"] == 1
    assert ours["layer4.0.bn2.bias"] == 4 and ours["fc.weight"] == 6


def test_a_model_wrapping_a_backbone_agrees_too() -> None:
    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.head = nn.Sequential(nn.Linear(32, 8), nn.ReLU(), nn.Linear(8, 2))
            self.backbone = transformers.AutoModel.from_config(tiny_config("bert"))

    model = Wrapper()
    ours, lrlint = written_depths(model), model_of_depth(model)
    assert ours == lrlint
    assert ours["head.0.weight"] == 5  # registered first, still a head
    assert ours["backbone.pooler.dense.weight"] == 4


def test_source_is_the_function_itself_and_fits_79_columns() -> None:
    text = source()
    namespace: dict[str, Any] = {}
    exec(compile(text, "<written>", "exec"), namespace)
    model = ResNet()
    assert [len(g["params"]) for g in namespace["param_groups_by_depth"](model, 0.1)] == [
        len(g["params"]) for g in param_groups_by_depth(model, 0.1)
    ]
    assert max(len(line) for line in text.splitlines()) <= 79
    assert not re.search(r"^(import|from) ", text, re.M)  # imports stay inside the function


def test_source_follows_the_files_indentation_and_name() -> None:
    text = source("layer_groups", "  ")
    assert text.startswith("def layer_groups(\n  model,")
    compile(text, "<written>", "exec")
    tabs = source(indent="\t")
    assert "\n\tfrom torch import nn\n" in tabs
    compile(tabs, "<written>", "exec")
