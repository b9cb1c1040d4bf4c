"""Run what `lrlint fix` writes, with real torch and real transformers models.

Each script names a hub model; the fixer decides on that name. The fixed script then loads a
tiny checkpoint saved to a temporary folder instead (only the id string is swapped, nothing is
mocked), builds its optimizer, and the test checks the real parameter groups: every trainable
parameter in exactly one group, rates that never fall with depth, heads at the base rate, the
frozen layers the strategy names, the user's other arguments kept.
"""

from __future__ import annotations

import itertools
import math
import textwrap
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrlint.depth import Tier, infer_layout  # noqa: E402
from lrlint.fix.fixer import FixOptions, fix_source  # noqa: E402
from tests.conftest import SPLIT_BY_KIND  # noqa: E402

TINY = dict(vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=2)
TINY_BLOCKS = 4
HUB_IDS = {
    "bert": "bert-base-uncased",
    "roberta": "roberta-base",
    "distilbert": "distilbert-base-uncased",
    "electra": "google/electra-small-discriminator",
}


def _config(family: str) -> Any:
    if family == "distilbert":
        return transformers.DistilBertConfig(
            vocab_size=99, dim=32, n_layers=TINY_BLOCKS, n_heads=2, hidden_dim=37
        )
    if family == "electra":
        return transformers.ElectraConfig(embedding_size=16, intermediate_size=37, **TINY)
    if family == "roberta":
        return transformers.RobertaConfig(intermediate_size=37, pad_token_id=1, **TINY)
    return transformers.BertConfig(intermediate_size=37, **TINY)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Tiny checkpoints on disk, loaded offline by the fixed scripts' from_pretrained."""
    root = tmp_path_factory.mktemp("checkpoints")
    saved = {}
    for family in HUB_IDS:
        model = transformers.AutoModelForSequenceClassification.from_config(_config(family))
        model.save_pretrained(root / family)
        saved[family] = str(root / family)
    transformers.BertModel(_config("bert")).save_pretrained(root / "bert-base")
    saved["bert-base"] = str(root / "bert-base")
    return saved


PLAIN = """
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("{model_id}", num_labels=2)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01, betas=(0.9, 0.98))

if __name__ == "__main__":
    for epoch in range(3):
        print(epoch)
"""

SEED = """
import torch.nn as nn
from torch.optim import AdamW
from transformers import BertModel

LEARNING_RATE = 2e-5


class SentenceAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.score = nn.Linear(hidden, 1)


class DocumentClassifier(nn.Module):
    def __init__(self, num_classes=4):
        super().__init__()
        self.bert = BertModel.from_pretrained("klue/bert-base")
        hidden = self.bert.config.hidden_size
        self.sentence_attention = SentenceAttention(hidden)
        self.classifier = nn.Linear(hidden, num_classes)


model = DocumentClassifier()
optimizer = AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=0.01)

if __name__ == "__main__":
    for epoch in range(5):
        print(epoch)
"""

LIGHTNING = """
import lightning.pytorch as pl
import torch
from transformers import AutoModel


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.encoder = AutoModel.from_pretrained("bert-base-uncased")
        self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)
        self.lr = 2e-5

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=0.01)
"""

TRAINER = """
from transformers import AutoModelForSequenceClassification, Trainer, TrainingArguments

model = AutoModelForSequenceClassification.from_pretrained("{model_id}", num_labels=2)
training_args = TrainingArguments(
    output_dir="out", learning_rate=3e-5, weight_decay=0.01, report_to="none", use_cpu=True
)
trainer = Trainer(model=model, args=training_args)

if __name__ == "__main__":
    trainer.train()
"""


def _fixed(script: str, options: FixOptions) -> str:
    source = textwrap.dedent(script).lstrip()
    result = fix_source(source, options)
    assert result.refused == [], result.refused
    assert len(result.fixed) == 1
    assert "lrlint" not in result.text.replace("# lrlint", "")  # never imports lrlint
    return result.text


def _run(text: str, swaps: dict[str, str]) -> dict[str, Any]:
    for hub_id, path in swaps.items():
        text = text.replace(f'"{hub_id}"', repr(path))
    namespace: dict[str, Any] = {"__name__": "fixed_script"}
    exec(compile(text, "fixed_script.py", "exec"), namespace)
    return namespace


def _groups(model: Any, optimizer: Any) -> dict[str, dict[str, Any]]:
    """Parameter name -> its group, asserting that no parameter is in two groups and that
    every trainable one is in a group."""
    by_id = {id(p): n for n, p in model.named_parameters()}
    found: dict[str, dict[str, Any]] = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            name = by_id[id(param)]
            assert name not in found, f"{name} is in two groups"
            found[name] = group
    for name, param in model.named_parameters():
        if param.requires_grad:
            assert name in found, f"{name} is trainable but in no group"
    return found


def _check_depth_order(model: Any, groups: dict[str, dict[str, Any]], base_lr: float) -> None:
    names = [n for n, _ in model.named_parameters()]
    layout = infer_layout(names)
    ranked = sorted((layout.depth(n), groups[n]["lr"], n) for n in names if n in groups)
    for (depth_a, lr_a, a), (depth_b, lr_b, b) in itertools.pairwise(ranked):
        assert lr_a <= lr_b + 1e-15, f"{a} ({depth_a}) at {lr_a} > {b} ({depth_b}) at {lr_b}"
    heads = [n for n in names if layout.depth(n).tier == Tier.HEAD]
    assert heads
    for name in heads:
        assert math.isclose(groups[name]["lr"], base_lr), name


CASES = [pytest.param(PLAIN, family, id=f"plain-{family}") for family in HUB_IDS] + [
    pytest.param(SEED, "bert-base", id="seed")
]


@pytest.mark.parametrize(("script", "family"), CASES)
def test_discriminative(script: str, family: str, checkpoints: dict[str, str]) -> None:
    text = _fixed(script.replace("{model_id}", HUB_IDS.get(family, "")), FixOptions())
    swaps = {HUB_IDS.get(family, "klue/bert-base"): checkpoints[family]}
    namespace = _run(text, swaps)
    model, optimizer = namespace["model"], namespace["optimizer"]
    groups = _groups(model, optimizer)
    assert len(groups) == len(list(model.parameters()))  # nothing was frozen, all are grouped
    _check_depth_order(model, groups, 2e-5)
    assert optimizer.defaults["weight_decay"] == 0.01
    if script is PLAIN:
        assert optimizer.defaults["betas"] == (0.9, 0.98)
    rates = sorted({round(g["lr"], 12) for g in optimizer.param_groups})
    assert rates == [1e-6, 5e-6, 1e-5, 2e-5]  # the seed's tiers for lr=2e-5


def test_seed_fix_is_the_seeds_improved_code(checkpoints: dict[str, str]) -> None:
    # the quotes follow the file's own style; the seed's note happens to use single quotes
    text = _fixed(SEED.replace("lr=LEARNING_RATE", "lr=2e-5"), FixOptions()).replace('"', "'")
    expected = [
        ("model.bert.embeddings", "1e-6"),
        ("model.bert.encoder.layer[:lower_blocks]", "5e-6"),
        ("model.bert.encoder.layer[lower_blocks:]", "1e-5"),
        ("model.bert.pooler", "1e-5"),
        ("model.sentence_attention", "2e-5"),
        ("model.classifier", "2e-5"),
    ]
    positions = []
    for module, lr in expected:
        line = f"{{'params': {module}.parameters(), 'lr': {lr}}}"
        assert line in text, line
        positions.append(text.index(line))
    assert positions == sorted(positions)  # in the seed's order
    assert "], weight_decay=0.01)" in text


@pytest.mark.parametrize("family", ["bert", "roberta"])
def test_decay(family: str, checkpoints: dict[str, str]) -> None:
    options = FixOptions(decay=0.8)
    text = _fixed(PLAIN.replace("{model_id}", HUB_IDS[family]), options)
    namespace = _run(text, {HUB_IDS[family]: checkpoints[family]})
    model, optimizer = namespace["model"], namespace["optimizer"]
    groups = _groups(model, optimizer)
    _check_depth_order(model, groups, 2e-5)
    layout = infer_layout([n for n, _ in model.named_parameters()])
    for name, group in groups.items():
        depth = layout.depth(name)
        if depth.tier == Tier.BLOCK:
            assert math.isclose(group["lr"], 2e-5 * 0.8 ** (TINY_BLOCKS - depth.index)), name
        if depth.tier == Tier.EMBEDDINGS:
            assert math.isclose(group["lr"], 2e-5 * 0.8 ** (TINY_BLOCKS + 1)), name


@pytest.mark.parametrize(("script", "family"), CASES)
def test_freeze(script: str, family: str, checkpoints: dict[str, str]) -> None:
    text = _fixed(script.replace("{model_id}", HUB_IDS.get(family, "")), FixOptions("freeze"))
    namespace = _run(text, {HUB_IDS.get(family, "klue/bert-base"): checkpoints[family]})
    model, optimizer = namespace["model"], namespace["optimizer"]
    layout = infer_layout([n for n, _ in model.named_parameters()])
    bottom = TINY_BLOCKS * 3 // 4
    for name, param in model.named_parameters():
        depth = layout.depth(name)
        should_freeze = depth.tier == Tier.EMBEDDINGS or (
            depth.tier == Tier.BLOCK and depth.index < bottom
        )
        assert param.requires_grad is not should_freeze, name
    _groups(model, optimizer)


def test_freeze_layers_option(checkpoints: dict[str, str]) -> None:
    text = _fixed(PLAIN.replace("{model_id}", HUB_IDS["bert"]), FixOptions("freeze", layers=1))
    namespace = _run(text, {HUB_IDS["bert"]: checkpoints["bert"]})
    model = namespace["model"]
    frozen_blocks = {
        n.split(".")[3]
        for n, p in model.named_parameters()
        if not p.requires_grad and ".layer." in n
    }
    assert frozen_blocks == {"0"}


@pytest.mark.parametrize(("script", "family"), CASES)
def test_gradual(script: str, family: str, checkpoints: dict[str, str]) -> None:
    text = _fixed(script.replace("{model_id}", HUB_IDS.get(family, "")), FixOptions("gradual"))
    assert "unfreeze_for_epoch(epoch)" in text  # called at the top of the epoch loop
    namespace = _run(text, {HUB_IDS.get(family, "klue/bert-base"): checkpoints[family]})
    model, optimizer = namespace["model"], namespace["optimizer"]
    groups = _groups(model, optimizer)
    assert len(groups) == len(list(model.parameters()))  # every parameter from the start
    layout = infer_layout([n for n, _ in model.named_parameters()])

    def trainable_tiers() -> set[Tier]:
        return {layout.depth(n).tier for n, p in model.named_parameters() if p.requires_grad}

    assert trainable_tiers() <= {Tier.HEAD, Tier.FINAL}  # epoch 0: heads first
    namespace["unfreeze_for_epoch"](2)
    assert Tier.BLOCK in trainable_tiers() and Tier.EMBEDDINGS not in trainable_tiers()
    namespace["unfreeze_for_epoch"](4)
    assert all(p.requires_grad for p in model.parameters())


def test_lightning_configure_optimizers(checkpoints: dict[str, str]) -> None:
    pytest.importorskip("lightning")
    text = _fixed(LIGHTNING, FixOptions())
    namespace = _run(text, {"bert-base-uncased": checkpoints["bert-base"]})
    module = namespace["Classifier"]()
    optimizer = module.configure_optimizers()
    groups = _groups(module, optimizer)
    assert len(groups) == len(list(module.parameters()))
    _check_depth_order(module, groups, 2e-5)
    assert optimizer.defaults["weight_decay"] == 0.01


@pytest.mark.parametrize("family", ["bert", "distilbert"])
def test_trainer(
    family: str, checkpoints: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = _fixed(TRAINER.replace("{model_id}", HUB_IDS[family]), FixOptions())
    assert "optimizers=(optimizer, None)" in text
    namespace = _run(text, {HUB_IDS[family]: checkpoints[family]})
    trainer = namespace["trainer"]
    optimizer = trainer.create_optimizer()  # the Trainer keeps the optimizer it was given
    assert optimizer is namespace["optimizer"]
    groups = _groups(trainer.model, optimizer)
    assert len(groups) == len(list(trainer.model.parameters()))
    _check_depth_order(trainer.model, groups, 3e-5)
    # as Trainer's own default: weights decayed, biases and norm weights not
    for name, group in groups.items():
        dims = dict(trainer.model.named_parameters())[name].ndim
        assert group["weight_decay"] == (0.01 if dims >= 2 else 0.0), name


SPLIT_LISTS = (
    """
import torch
from transformers import AutoModelForSequenceClassification


def split_optimizer(net, lr):
"""
    + SPLIT_BY_KIND
    + """\
    opt = torch.optim.SGD(lists[1], lr=lr, momentum=0.9)
    opt.add_param_group({"params": lists[0], "weight_decay": 1e-4})  # weights decay
    return opt


model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
optimizer = split_optimizer(model, 0.01)
for epoch in range(3):
    optimizer.step()
"""
)


@pytest.mark.parametrize("strategy", ["discriminative", "gradual"])
def test_lists_split_by_kind_and_added_later_are_each_cut_by_depth(
    strategy: str, checkpoints: dict[str, str]
) -> None:
    """YOLO's `smart_optimizer` shape: the optimizer takes the biases, the weights are added
    with `add_param_group`; both are cut by depth and keep their weight decay."""
    result = fix_source(SPLIT_LISTS.lstrip(), FixOptions(strategy=strategy))
    assert result.refused == [] and len(result.fixed) == 1
    text = result.text
    assert "import lrlint" not in text and "from lrlint" not in text
    assert "# weights decay" in text  # the added group's comment stays on its line
    namespace = _run(text, {HUB_IDS["bert"]: checkpoints["bert"]})
    model, optimizer = namespace["model"], namespace["optimizer"]
    groups = _groups(model, optimizer)
    assert len(groups) == len(list(model.parameters()))  # every parameter, in one group each
    _check_depth_order(model, groups, 0.01)
    for name, group in groups.items():
        assert group["weight_decay"] == (0.0 if name.endswith("bias") else 1e-4), name
    assert fix_source(text, FixOptions(strategy=strategy)).text == text  # idempotent


KEYWORDS = """
import torch
from transformers import AutoModelForSequenceClassification

config = {{"optimizer": {{"args": {args}}}}}
model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
optimizer = torch.optim.Adam(model.parameters(), **config["optimizer"]["args"])
"""


@pytest.mark.parametrize(
    ("args", "head_lr"), [('{"lr": 3e-5, "weight_decay": 0.01}', 3e-5), ("{}", 1e-3)]
)
def test_rate_from_keyword_arguments(
    args: str, head_lr: float, checkpoints: dict[str, str]
) -> None:
    """detoxify's `Adam(self.parameters(), **self.config["optimizer"]["args"])`: the tiers come
    from the mapping's lr, or Adam's default when it holds none, and its other keys still
    reach the optimizer."""
    result = fix_source(KEYWORDS.format(args=args).lstrip(), FixOptions())
    assert result.refused == [] and len(result.fixed) == 1
    text = result.text
    assert '["args"].get("lr", 0.001)' in text
    namespace = _run(text, {HUB_IDS["bert"]: checkpoints["bert"]})
    model, optimizer = namespace["model"], namespace["optimizer"]
    groups = _groups(model, optimizer)
    assert len(groups) == len(list(model.parameters()))
    _check_depth_order(model, groups, head_lr)
    assert optimizer.defaults["weight_decay"] == (0.01 if "weight_decay" in args else 0)
