"""Run what `lrlint fix` writes for scripts that name their model at run time.

Each form (a plain loop whose checkpoint is a flag, a wrapper module with an `AutoModel`
backbone, a `no_decay` helper, a Trainer on its default optimizer, a LightningModule) is fixed
once, then run on tiny real models of many architectures saved to a temporary folder and
loaded through the Auto classes (nothing is mocked, nothing downloaded). The real parameter
groups must hold every trainable parameter exactly once, with rates that never fall with
depth, the heads at the configured rate and the embeddings lowest; `freeze` and `gradual`
must freeze and thaw what they say.
"""

from __future__ import annotations

import functools
import itertools
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from torch import nn  # noqa: E402

from lrlint.fix.fixer import FixOptions, fix_source  # noqa: E402

TINY = dict(hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=37)
DECODER = dict(vocab_size=99, num_key_value_heads=2, pad_token_id=0, **TINY)
SEQ2SEQ = dict(
    vocab_size=99,
    d_model=32,
    encoder_layers=2,
    decoder_layers=2,
    encoder_attention_heads=2,
    decoder_attention_heads=2,
    encoder_ffn_dim=37,
    decoder_ffn_dim=37,
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    decoder_start_token_id=1,
)
SPEECH = dict(
    conv_dim=(8, 8), conv_stride=(5, 2), conv_kernel=(10, 3), num_conv_pos_embeddings=4, **TINY
)


def _configs() -> dict[str, tuple[str, Any]]:
    """name -> (Auto class, tiny config): encoders, decoder-only LLMs, encoder-decoders,
    vision and speech models."""
    t = transformers
    text, lm, s2s = "Text", "CausalLM", "Seq2SeqLM"
    return {
        "bert": (text, t.BertConfig(vocab_size=99, **TINY)),
        "roberta": (text, t.RobertaConfig(vocab_size=99, pad_token_id=1, **TINY)),
        "xlm-roberta": (text, t.XLMRobertaConfig(vocab_size=99, pad_token_id=1, **TINY)),
        "electra": (text, t.ElectraConfig(vocab_size=99, embedding_size=16, **TINY)),
        "deberta-v2": (text, t.DebertaV2Config(vocab_size=99, **TINY)),
        "distilbert": (
            text,
            t.DistilBertConfig(vocab_size=99, dim=32, n_layers=4, n_heads=2, hidden_dim=37),
        ),
        "albert": (text, t.AlbertConfig(vocab_size=99, embedding_size=16, **TINY)),
        "modernbert": (
            text,
            t.ModernBertConfig(
                vocab_size=99, pad_token_id=0, bos_token_id=1, eos_token_id=2, **TINY
            ),
        ),
        "gpt2": (lm, t.GPT2Config(vocab_size=99, n_embd=32, n_layer=4, n_head=2)),
        "llama": (lm, t.LlamaConfig(**DECODER)),
        "mistral": (lm, t.MistralConfig(**DECODER)),
        "qwen2": (lm, t.Qwen2Config(**DECODER)),
        "phi": (lm, t.PhiConfig(vocab_size=99, pad_token_id=0, **TINY)),
        "gemma": (lm, t.GemmaConfig(head_dim=16, **DECODER)),
        "t5": (
            s2s,
            t.T5Config(vocab_size=99, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=2),
        ),
        "flan-t5": (
            s2s,
            t.T5Config(
                vocab_size=99,
                d_model=32,
                d_kv=8,
                d_ff=37,
                num_layers=2,
                num_heads=2,
                feed_forward_proj="gated-gelu",
                tie_word_embeddings=False,
            ),
        ),
        "bart": (s2s, t.BartConfig(**SEQ2SEQ)),
        "vit": ("Image", t.ViTConfig(image_size=32, patch_size=8, **TINY)),
        "swin": (
            "Image",
            t.SwinConfig(image_size=32, patch_size=4, embed_dim=8, depths=[1, 1], num_heads=[1, 2]),
        ),
        "convnext": ("Image", t.ConvNextConfig(hidden_sizes=[8, 16], depths=[1, 1], num_stages=2)),
        "resnet": ("Image", t.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1])),
        "wav2vec2": ("Audio", t.Wav2Vec2Config(vocab_size=99, **SPEECH)),
        "hubert": ("Audio", t.HubertConfig(vocab_size=99, **SPEECH)),
    }


AUTO = {
    "Text": "AutoModelForSequenceClassification",
    "CausalLM": "AutoModelForCausalLM",
    "Seq2SeqLM": "AutoModelForSeq2SeqLM",
    "Image": "AutoModelForImageClassification",
    "Audio": "AutoModelForAudioClassification",
}
ARCHITECTURES = sorted(_configs())


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """name -> (Auto class, folder of a tiny checkpoint)."""
    root = tmp_path_factory.mktemp("checkpoints")
    saved = {}
    for name, (kind, config) in _configs().items():
        auto = getattr(transformers, AUTO[kind])
        auto.from_config(config).save_pretrained(root / name)
        saved[name] = (AUTO[kind], str(root / name))
    return saved


# -- the forms, as users write them -----------------------------------------------------------

PLAIN_LOOP = """
import argparse

import torch
from transformers import {auto}

parser = argparse.ArgumentParser()
parser.add_argument("--model", default="bert-base-cased")
parser.add_argument("--lr", type=float, default=2e-5)
parser.add_argument("--epochs", type=int, default=6)
args = parser.parse_args()

model = {auto}.from_pretrained(args.model)
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
for epoch in range(args.epochs):
    seen.append([p.requires_grad for p in model.parameters()])
"""

WRAPPER = """
import os

import torch
from torch import nn
from transformers import AutoModel

CHECKPOINT = os.environ.get("CHECKPOINT", "roberta-base")


class Classifier(nn.Module):
    def __init__(self, name):
        super().__init__()
        self.backbone = AutoModel.from_pretrained(name)
        self.head = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))


model = Classifier(CHECKPOINT)
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)
"""

NO_DECAY = """
from dataclasses import dataclass

import torch
from transformers import {auto}


@dataclass
class Config:
    checkpoint: str = "distilbert-base-uncased"
    lr: float = 5e-5
    weight_decay: float = 0.01


cfg = Config(checkpoint=CHECKPOINT)
model = {auto}.from_pretrained(cfg.checkpoint)
no_decay = ["bias", "LayerNorm.weight"]
grouped = [
    {{"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": cfg.weight_decay}},
    {{"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0}},
]
optimizer = torch.optim.AdamW(grouped, lr=cfg.lr)
"""

TRAINER = """
import sys

from transformers import {auto}, Trainer, TrainingArguments

model = {auto}.from_pretrained(sys.argv[1])
args = TrainingArguments(output_dir=OUTPUT, learning_rate=3e-5, weight_decay=0.01, report_to=[])
trainer = Trainer(model=model, args=args)
"""

LIGHTNING = """
import lightning as L
import torch
from transformers import {auto}


class Module(L.LightningModule):
    def __init__(self, model_name: str, lr: float = 2e-5):
        super().__init__()
        self.save_hyperparameters()
        self.model = {auto}.from_pretrained(model_name)

    def training_step(self, batch, batch_idx):
        return self.model(**batch).loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)


module = Module(CHECKPOINT)
optimizer = module.configure_optimizers()
"""

RATES = {"plain": 2e-5, "wrapper": 3e-5, "no_decay": 5e-5, "trainer": 3e-5, "lightning": 2e-5}
FORMS = {
    "plain": PLAIN_LOOP,
    "wrapper": WRAPPER,
    "no_decay": NO_DECAY,
    "trainer": TRAINER,
    "lightning": LIGHTNING,
}


@functools.cache
def fixed(form: str, auto: str, strategy: str = "discriminative", **options: Any) -> str:
    text = textwrap.dedent(FORMS[form]).format(auto=auto).lstrip()
    result = fix_source(text, FixOptions(strategy=strategy, **options))
    assert result.fixed and not result.refused, result.refused
    assert "def param_groups_by_depth(" in result.text
    return result.text


def run(text: str, checkpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setattr(sys, "argv", ["train.py", "--model", checkpoint])
    if "sys.argv[1]" in text:
        monkeypatch.setattr(sys, "argv", ["train.py", checkpoint])
    monkeypatch.setenv("CHECKPOINT", checkpoint)
    module = types.ModuleType("__fixed__")  # dataclasses look their module up
    monkeypatch.setitem(sys.modules, "__fixed__", module)
    namespace: dict[str, Any] = module.__dict__
    namespace.update(CHECKPOINT=checkpoint, OUTPUT=str(tmp_path / "out"), seen=[])
    exec(compile(text, "<fixed>", "exec"), namespace)
    if "trainer" in namespace:
        namespace["optimizer"] = namespace["trainer"].optimizer
        namespace["model"] = namespace["trainer"].model
    if "module" in namespace:
        namespace["model"] = namespace["module"]
    return namespace


def check_groups(model: nn.Module, optimizer: Any, rate: float) -> list[dict]:
    groups = optimizer.param_groups
    trainable = [p for p in model.parameters() if p.requires_grad]
    held = [id(p) for g in groups for p in g["params"]]
    assert len(held) == len(set(held))  # torch would raise, but say it plainly
    assert {id(p) for p in trainable} <= set(held)
    by_depth = sorted(groups, key=lambda g: g["depth"])
    rates = [g["initial_lr"] if "initial_lr" in g else g["lr"] for g in by_depth]
    assert rates == sorted(rates)  # never falls with depth
    inner = model if hasattr(model, "get_output_embeddings") else getattr(model, "model", None)
    output = inner.get_output_embeddings() if inner is not None else None
    tied = output is not None and output.weight is inner.get_input_embeddings().weight
    # the new heads at the configured rate; an LM head tied to the embeddings is no new head,
    # and the top is then the backbone's final part, at half of it
    assert rates[-1] == pytest.approx(rate / 2 if tied else rate)
    assert by_depth[0]["depth"] == 0 and rates[0] == min(rates) < rate  # embeddings lowest
    assert len({g["depth"] for g in groups}) >= 4
    return by_depth


@pytest.mark.parametrize("form", ["plain", "no_decay", "trainer", "lightning"])
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_discriminative_groups_for_any_model(
    form: str,
    arch: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auto, path = checkpoints[arch]
    space = run(fixed(form, auto), path, tmp_path, monkeypatch)
    groups = check_groups(space["model"], space["optimizer"], RATES[form])
    if form == "plain":  # the user's weight decay kept
        assert {g["weight_decay"] for g in groups} == {0.01}
    if form == "no_decay":  # the user's own split kept inside every tier
        model = space["model"]
        no_decay = {
            id(p) for n, p in model.named_parameters() if "bias" in n or "LayerNorm.weight" in n
        }
        for g in groups:
            assert g["weight_decay"] == (0.0 if id(g["params"][0]) in no_decay else 0.01)
    if form == "trainer":  # as the Trainer does: biases and norms undecayed
        for g in groups:
            assert g["weight_decay"] == (0.0 if g["params"][0].ndim < 2 else 0.01)


@pytest.mark.parametrize("arch", ["bert", "llama", "t5", "vit", "wav2vec2", "bart"])
def test_wrapper_module_with_an_automodel_backbone(
    arch: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, path = checkpoints[arch]
    if arch in ("t5", "bart"):
        pytest.skip("AutoModel of an encoder-decoder wants decoder inputs: same code path")
    space = run(fixed("wrapper", "AutoModel"), path, tmp_path, monkeypatch)
    groups = check_groups(space["model"], space["optimizer"], RATES["wrapper"])
    head = {id(p) for p in space["model"].head.parameters()}
    assert {id(p) for p in groups[-1]["params"]} == head


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_freeze_freezes_the_embeddings_and_lower_blocks(
    arch: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auto, path = checkpoints[arch]
    space = run(fixed("plain", auto, "freeze"), path, tmp_path, monkeypatch)
    model, optimizer = space["model"], space["optimizer"]
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    params = list(model.parameters())
    frozen = [p for p in params if not p.requires_grad]
    assert frozen and len(frozen) < len(params)
    assert held == {id(p) for p in params if p.requires_grad}  # the optimizer trains the rest
    depths = {id(p): g["depth"] for g in optimizer.param_groups for p in g["params"]}
    assert min(depths.values()) > 0  # no embedding trains
    from lrlint.depth.layerwise import param_groups_by_depth

    every = {id(p): g["depth"] for g in param_groups_by_depth(model) for p in g["params"]}
    top_frozen = max(every[id(p)] for p in frozen)
    assert all(every[id(p)] > top_frozen for p in params if p.requires_grad)  # bottom up


@pytest.mark.parametrize("form", ["plain", "trainer", "lightning"])
@pytest.mark.parametrize("arch", ["bert", "gpt2", "t5", "swin", "wav2vec2", "deberta-v2"])
def test_gradual_unfreezes_top_down_with_everything_in_the_optimizer(
    form: str,
    arch: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    auto, path = checkpoints[arch]
    text = fixed(form, auto, "gradual")
    space = run(text, path, tmp_path, monkeypatch)
    model, optimizer = space["model"], space["optimizer"]
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert held == {id(p) for p in model.parameters()}  # all of it from the start
    depth = {id(p): g["depth"] for g in optimizer.param_groups for p in g["params"]}

    def trainable_at(epoch: int) -> set[int]:
        if form == "plain":
            return {
                id(p) for p, on in zip(model.parameters(), space["seen"][epoch], strict=True) if on
            }
        if form == "trainer":
            callback = next(
                c
                for c in space["trainer"].callback_handler.callbacks
                if type(c).__name__.startswith("UnfreezeByEpoch")
            )
            state = transformers.TrainerState(epoch=float(epoch))
            # the Trainer's callbacks get its optimizer: the stages are held out of its steps
            # (torchrun's DDP syncs only what trained when it wrapped the model)
            callback.on_epoch_begin(space["args"], state, None, model=model, optimizer=optimizer)
        else:  # before the epoch's first step, whatever its strategy
            monkeypatch.setattr(type(model), "current_epoch", epoch, raising=False)
            monkeypatch.setattr(type(model), "optimizers", lambda self: optimizer)
            model.on_train_epoch_start()
        if form != "plain":
            assert all(p.requires_grad for p in model.parameters())  # nothing is frozen
            return {id(p) for g in optimizer.param_groups if not g["held"] for p in g["params"]}
        return {id(p) for p in model.parameters() if p.requires_grad}

    stages = [trainable_at(epoch) for epoch in (0, 2, 4)]
    assert stages[0] < stages[1] < stages[2] == held  # thawing grows, top-down
    for before, after in itertools.pairwise(stages):
        assert min(depth[i] for i in before) > max(depth[i] for i in after - before)
    if form == "plain":
        assert stages[0] == trainable_at(1)  # two epochs a stage


def test_decay_is_geometric_per_block(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    auto, path = checkpoints["bert"]
    space = run(fixed("plain", auto, decay=0.8), path, tmp_path, monkeypatch)
    rates = {g["depth"]: g["lr"] for g in space["optimizer"].param_groups}
    blocks = 4
    for d in range(1, blocks + 1):  # block i of L at lr * X ** (L - i)
        assert rates[d] == pytest.approx(2e-5 * 0.8 ** (blocks - (d - 1)))
    assert rates[0] == pytest.approx(2e-5 * 0.8 ** (blocks + 1))


def test_a_literal_checkpoint_keeps_the_static_groups() -> None:
    text = (
        "import torch\nfrom transformers import AutoModelForSequenceClassification\n"
        "model = AutoModelForSequenceClassification.from_pretrained('bert-base-uncased')\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    result = fix_source(text, FixOptions())
    assert result.fixed
    assert "model.bert.embeddings.parameters()" in result.text
    assert "param_groups_by_depth" not in result.text


def test_the_function_is_written_once_and_the_fix_is_idempotent() -> None:
    text = textwrap.dedent(PLAIN_LOOP).format(auto="AutoModel").lstrip()
    text += "optimizer2 = torch.optim.SGD(model.parameters(), lr=1e-3)\n"
    once = fix_source(text, FixOptions())
    assert len(once.fixed) == 2 and once.text.count("def param_groups_by_depth(") == 1
    assert fix_source(once.text, FixOptions()).text == once.text
    assert "\n\n\nparser = argparse" in once.text  # two blank lines after the function


def test_t5_of_unknown_size_is_fixed_not_crashed() -> None:
    text = (
        "import torch\nfrom transformers import T5ForConditionalGeneration\n"
        "model = T5ForConditionalGeneration.from_pretrained('google/flan-t5-base')\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n"
    )
    result = fix_source(text, FixOptions())
    assert result.fixed and not result.refused


def test_gradual_counts_epochs_of_a_loop_without_an_epoch_name(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = textwrap.dedent(PLAIN_LOOP).format(auto="AutoModelForSequenceClassification")
    text = text.replace("for epoch in range(args.epochs):", "for _ in range(args.epochs):")
    result = fix_source(text.lstrip(), FixOptions(strategy="gradual"))
    assert result.fixed and "for epoch, _ in enumerate(range(args.epochs)):" in result.text
    space = run(result.text, checkpoints["bert"][1], tmp_path, monkeypatch)
    trainable = [sum(on) for on in space["seen"]]
    assert trainable[0] == trainable[1] < trainable[2] == trainable[3] < trainable[4]


def test_gradual_joins_an_existing_epoch_hook_once() -> None:
    text = textwrap.dedent(LIGHTNING).format(auto="AutoModel").lstrip()
    text = text.replace(
        "    def configure_optimizers(self):",
        "    def on_train_epoch_start(self):\n        print('epoch')\n\n"
        "    def configure_optimizers(self):",
    )
    text = text.replace(
        "        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)",
        "        if self.hparams.lr > 1e-3:\n"
        "            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)\n"
        "        return torch.optim.AdamW(self.parameters(), lr=self.hparams.lr)",
    )
    result = fix_source(text, FixOptions(strategy="gradual"))
    assert len(result.fixed) == 2 and not result.refused
    hook = (
        "    def on_train_epoch_start(self):\n"
        "        param_groups_by_depth(self, epoch=self.current_epoch, optimizer=self.optimizers())"
    )
    assert hook in result.text
    assert result.text.count("epoch=self.current_epoch") == 1


@pytest.mark.parametrize(
    "checkpoint", ["'google/flan-t5-base'", "'t5-small'", "MODEL_NAME", "'google/mt5-small'"]
)
def test_t5_notebooks_are_fixed_without_an_internal_error(checkpoint: str) -> None:
    import json

    from lrlint.fix.notebooks import fix_text

    cells = [
        "import torch\nfrom transformers import T5ForConditionalGeneration\n",
        "MODEL_NAME = input()\n" if checkpoint == "MODEL_NAME" else "# the model\n",
        f"model = T5ForConditionalGeneration.from_pretrained({checkpoint})\n",
        "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-4)\n",
    ]
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": c,
                "outputs": [],
                "execution_count": None,
            }
            for c in cells
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    outcome = fix_text(json.dumps(notebook, indent=1), FixOptions())
    assert outcome.fixed == [(4, 1)] and not outcome.refused


HELPER = """
import torch
from transformers import AutoModelForSequenceClassification


def get_optimizer(model, lr):
    no_decay = ["bias", "LayerNorm.weight"]
    groups = [
        {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=lr)


def main(name):
    net = AutoModelForSequenceClassification.from_pretrained(name)
    optimizer = get_optimizer(net, 2e-5)
    for epoch in range(6):
        seen.append([p.requires_grad for p in net.parameters()])
    return net, optimizer


model, optimizer = main(CHECKPOINT)
"""


def test_gradual_thaws_in_the_loop_that_calls_the_optimizer_helper(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = fix_source(textwrap.dedent(HELPER).lstrip(), FixOptions(strategy="gradual"))
    assert result.fixed and not result.refused, result.refused
    assert "        param_groups_by_depth(net, epoch=epoch)\n" in result.text
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    trainable = [sum(on) for on in space["seen"]]
    assert trainable[0] < trainable[2] < trainable[4] == len(space["seen"][0])
    check_groups(space["model"], space["optimizer"], 2e-5)


def test_written_lines_fit_the_line_length() -> None:
    text = textwrap.dedent(TRAINER).format(auto="AutoModelForSequenceClassification").lstrip()
    text = text.replace("args = ", "training_arguments_for_this_run = ").replace(
        "args=args", "args=training_arguments_for_this_run"
    )
    result = fix_source(text, FixOptions())
    added = set(result.text.splitlines()) - set(text.splitlines())
    # the statements the fix adds fit; the user's own Trainer(...) line only gains a keyword
    added = {line for line in added if "Trainer(" not in line}
    assert added and max(len(line) for line in added) <= 88
    assert "optimizers=(optimizer, None)" in result.text


@pytest.mark.parametrize(
    "load",
    [
        "AutoModelForSequenceClassification.from_pretrained(args.model)",  # a flag with a default
        'AutoModelForSequenceClassification.from_pretrained(os.environ["MODEL"])',
        'AutoModelForSequenceClassification.from_pretrained(yaml.safe_load(f)["model"])',
        "AutoModelForSequenceClassification.from_pretrained(cfg.model.name)",
    ],
)
def test_a_checkpoint_named_at_run_time_never_gets_static_paths(load: str) -> None:
    text = (
        "import argparse, os, yaml\nimport torch\n"
        "from transformers import AutoModelForSequenceClassification\n"
        "parser = argparse.ArgumentParser()\n"
        'parser.add_argument("--model", default="bert-base-cased")\n'
        "args = parser.parse_args()\n"
        f"model = {load}\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    result = fix_source(text, FixOptions())
    assert result.fixed and "model.bert" not in result.text
    assert "param_groups_by_depth(model, 2e-5)" in result.text


def test_the_line_length_comes_from_the_projects_formatter(tmp_path: Path) -> None:
    from lrlint.fix.anymodel import line_length

    (tmp_path / "src").mkdir()
    script = tmp_path / "src" / "train.py"
    assert line_length(script) == 88
    (tmp_path / "pyproject.toml").write_text("[tool.black]\nline-length = 120\n")
    assert line_length(script) == 120
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert line_length(script) == 100
    text = textwrap.dedent(PLAIN_LOOP).format(auto="AutoModel").lstrip()
    wide = fix_source(text, FixOptions(line_length=120)).text
    narrow = fix_source(text, FixOptions(line_length=88)).text
    assert "torch.optim.AdamW(param_groups_by_depth(model, args.lr), lr=args.lr" in wide
    assert "param_groups = param_groups_by_depth(model, args.lr)\n" in narrow


def test_the_written_function_gets_two_blank_lines_where_code_follows_the_imports_at_once() -> None:
    text = (
        "import torch\nfrom transformers import AutoModel\n"
        "model = AutoModel.from_pretrained(MODEL)\n"
        "optimizer = torch.optim.AdamW(model.parameters(), lr=3e-5)\n"
    )
    for newline in ("\n", "\r\n"):
        once = fix_source(text.replace("\n", newline), FixOptions())
        assert once.fixed
        blank = newline * 3
        assert f"in sorted(out)]{blank}model = AutoModel" in once.text
        assert fix_source(once.text, FixOptions()).text == once.text


# lit-llama's layout: the optimizer is built in main() and passed to train(), whose loop counts
# steps up to a bound (no epochs)
STEP_LOOPS = {
    "guard": """
        for iter_num, batch in enumerate(loader):
            if iter_num >= max_iters:
                break
            seen.append([p.requires_grad for p in model.parameters()])
            optimizer.step()
    """,
    "range": """
        for step in range(max_iters):
            seen.append([p.requires_grad for p in model.parameters()])
            optimizer.step()
    """,
    "hands the optimizer to a step function": """
        total = min(max_iters, len(loader))
        for i, batch in enumerate(loader):
            if i >= total:
                break
            seen.append([p.requires_grad for p in model.parameters()])
            one_step(model, batch, optimizer)
    """,
    "while": """
        state = {"step": 0}
        while state["step"] < max_iters:
            seen.append([p.requires_grad for p in model.parameters()])
            optimizer.step()
            state["step"] += 1
    """,
}
STEP_SCRIPT = """
import torch
from transformers import AutoModelForCausalLM

max_iters = 12


def one_step(model, batch, optimizer):
    optimizer.step()


def train(model, optimizer, loader):
{loop}

def main(name):
    net = AutoModelForCausalLM.from_pretrained(name)
    optimizer = torch.optim.AdamW(net.parameters(), lr=3e-4)
    train(net, optimizer, [None] * 100)
    return net, optimizer


model, optimizer = main(CHECKPOINT)
"""


def _step_script(loop: str) -> str:
    body = textwrap.indent(textwrap.dedent(loop).strip("\n"), "    ")
    return textwrap.dedent(STEP_SCRIPT).lstrip().replace("{loop}", body + "\n")


@pytest.mark.parametrize("loop", sorted(STEP_LOOPS))
def test_gradual_thaws_by_step_in_a_loop_that_counts_steps(
    loop: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _step_script(STEP_LOOPS[loop])
    result = fix_source(text, FixOptions(strategy="gradual"))
    assert result.fixed and not result.refused, result.refused
    assert "a stage thaws every third of the steps" in result.text
    assert fix_source(result.text, FixOptions(strategy="gradual")).text == result.text
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    model, optimizer = space["model"], space["optimizer"]
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert held == {id(p) for p in model.parameters()}  # all of it from the start
    trainable = [sum(on) for on in space["seen"]]
    assert len(trainable) == 12  # the guard still ends the loop where it did
    # a third of the 12 steps a stage: heads first, then the upper blocks, then everything
    assert len(set(trainable[:4])) == len(set(trainable[4:8])) == len(set(trainable[8:])) == 1
    assert trainable[0] < trainable[4] < trainable[8] == len(space["seen"][0])


def test_gradual_refuses_a_step_loop_whose_bound_may_be_infinite() -> None:
    text = _step_script(STEP_LOOPS["while"]).replace(
        "max_iters = 12", 'max_iters = int(os.environ.get("STEPS", 0)) or float("inf")'
    )
    result = fix_source(text, FixOptions(strategy="gradual"))
    assert not result.fixed and result.text == text
    assert "finite bound" in result.refused[0].reason


def test_gradual_refuses_a_loop_that_never_steps_the_optimizer() -> None:
    text = _step_script(STEP_LOOPS["range"]).replace("optimizer.step()", "print(step)")
    result = fix_source(text, FixOptions(strategy="gradual"))
    assert not result.fixed and "steps" in result.refused[0].reason


EPOCH_RUNS = """
import torch
from transformers import AutoModelForCausalLM


class Epoch:
    def __init__(self, model, optimizer):
        self.model, self.optimizer = model, optimizer

    def run(self, loader):
        seen.append([p.requires_grad for p in self.model.parameters()])


model = AutoModelForCausalLM.from_pretrained(CHECKPOINT)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
train_epoch = Epoch(model, optimizer)
for fold in range(2):
    for i in range(6):
        train_epoch.run(None)
"""


def test_gradual_thaws_by_epoch_in_the_innermost_loop_that_runs_an_epoch(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = fix_source(EPOCH_RUNS.lstrip(), FixOptions(strategy="gradual"))
    assert result.fixed and not result.refused, result.refused
    assert "    for i in range(6):\n        param_groups_by_depth(model, epoch=i)\n" in result.text
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    trainable = [sum(on) for on in space["seen"]]
    everything = len(space["seen"][0])
    # each fold thaws again from the heads: two epochs a stage
    assert trainable[:6] == trainable[6:]
    assert trainable[0] == trainable[1] < trainable[2] == trainable[3] < trainable[4] == everything


PER_PARAMETER = """
import torch
from transformers import AutoModelForCausalLM

model = AutoModelForCausalLM.from_pretrained(CHECKPOINT)
optimizers = {p: torch.optim.AdamW([p], lr=3e-4) for p in model.parameters()}
"""


@pytest.mark.parametrize("strategy", ["discriminative", "freeze"])
def test_one_optimizer_per_parameter_gets_the_rate_of_its_depth(
    strategy: str,
    checkpoints: dict[str, tuple[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lrlint.depth.layerwise import param_groups_by_depth

    result = fix_source(PER_PARAMETER.lstrip(), FixOptions(strategy=strategy))
    assert result.fixed and not result.refused, result.refused
    assert fix_source(result.text, FixOptions(strategy=strategy)).text == result.text
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    model, optimizers = space["model"], space["optimizers"]
    assert set(map(id, optimizers)) == {id(p) for p in model.parameters()}
    for p, optimizer in optimizers.items():  # each still steps its own parameter only
        (group,) = optimizer.param_groups
        assert [id(q) for q in group["params"]] == [id(p)]
    trained = [p for p in model.parameters() if p.requires_grad]
    # the rate of each trained parameter is the rate its depth has in lrlint's own model
    expected = {id(p): g["lr"] for g in param_groups_by_depth(model, 3e-4) for p in g["params"]}
    rates = {id(p): optimizers[p].param_groups[0]["lr"] for p in trained}
    assert rates == {i: expected[i] for i in rates}
    assert max(rates.values()) == pytest.approx(3e-4)
    if strategy == "freeze":  # the embeddings and lower blocks frozen, the rest trained
        assert 0 < len(trained) < len(optimizers) and len(set(rates.values())) >= 2
    else:
        assert len(trained) == len(optimizers) and len(set(rates.values())) >= 4


CONFIG_FACTORY = """
import torch
from hydra.utils import instantiate
from transformers import AutoModelForCausalLM

cfg = {"optimizer": {"_target_": "torch.optim.AdamW", "lr": 2e-4}}
model = AutoModelForCausalLM.from_pretrained(CHECKPOINT)
optimizer = instantiate(cfg["optimizer"], model.parameters())
"""


def test_a_config_built_optimizer_takes_its_rate_from_the_config(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = fix_source(CONFIG_FACTORY.lstrip(), FixOptions())
    assert result.fixed and not result.refused, result.refused
    assert 'cfg["optimizer"].get("lr")' in result.text
    # hydra is not installed here: a stand-in with hydra's call shape (the optimizer class
    # named by `_target_`, the params passed on, the rest as keywords) builds a real optimizer
    hydra = types.ModuleType("hydra")
    utils = types.ModuleType("hydra.utils")

    def instantiate(config: dict, *args: Any) -> Any:
        options = {k: v for k, v in config.items() if k != "_target_"}
        return getattr(torch.optim, config["_target_"].rsplit(".", 1)[1])(*args, **options)

    utils.instantiate = instantiate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hydra", hydra)
    monkeypatch.setitem(sys.modules, "hydra.utils", utils)
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    check_groups(space["model"], space["optimizer"], 2e-4)


ACTOR_CRITIC = """
import itertools
import torch
from transformers import AutoModelForCausalLM


class Job:
    def __init__(self, name):
        self.actor = AutoModelForCausalLM.from_pretrained(name)
        self.critic = torch.nn.Linear(32, 1)
        self.opt = torch.optim.AdamW(
            itertools.chain(self.actor.parameters(), self.critic.parameters()), lr=1e-5
        )


job = Job(CHECKPOINT)
model, optimizer = job.actor, job.opt
"""


def test_models_of_an_object_that_is_no_model_are_cut_by_the_pretrained_ones_depth(
    checkpoints: dict[str, tuple[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = fix_source(ACTOR_CRITIC.lstrip(), FixOptions())
    assert result.fixed and not result.refused, result.refused
    assert "param_groups = param_groups_by_depth(\n            self.actor," in result.text
    space = run(result.text, checkpoints["llama"][1], tmp_path, monkeypatch)
    by_depth = check_groups(space["model"], space["optimizer"], 1e-5)
    critic = space["job"].critic
    held = [id(p) for g in by_depth for p in g["params"]]
    assert {id(p) for p in critic.parameters()} <= set(held)  # the new critic at the top rate
    assert all(id(p) in map(id, by_depth[-1]["params"]) for p in critic.parameters())
