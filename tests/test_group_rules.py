"""LR003-LR008, the parameter-group rules. Each snippet marks where its rule must fire
(`# lrlint-expect: CODE`); a snippet without markers must leave that rule quiet."""

from __future__ import annotations

import pytest

from lrlint.engine import CheckOptions, check_source
from tests.conftest import expected, findings

SEED_MODEL = """
import torch
import torch.nn as nn
from torch.optim import AdamW
from transformers import BertModel


class SentenceAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.score = nn.Linear(hidden, 1)


class DocumentClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = BertModel.from_pretrained("klue/bert-base")
        self.sentence_attention = SentenceAttention(768)
        self.classifier = nn.Linear(768, 4)


model = DocumentClassifier()
"""

SEGMENTER = """
import torch
from torch import nn
from transformers import AutoModel
class Segmenter(nn.Module):
    def __init__(self, name):
        super().__init__()
        self.encoder = AutoModel.from_pretrained(name)
        self.decoder = nn.Sequential(nn.Linear(768, 256), nn.LayerNorm(256), nn.Linear(256, 2))
        for p in self.encoder.parameters():
            p.requires_grad = False
model = Segmenter("facebook/dinov2-small")
"""

LAUNCHED = """
import torch
from lightning import Fabric
from litgpt.utils import instantiate_torch_optimizer
def setup(devices=1, optimizer="OPTIMIZER"):
    fabric = Fabric(devices=devices)
    fabric.launch(main, devices, optimizer)
def main(fabric, devices, optimizer):
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.LayerNorm(4))
    opt = instantiate_torch_optimizer(optimizer, model.parameters())MARK
"""

RUNTIME = """
import argparse
import torch
from transformers import AutoModelForSequenceClassification
parser = argparse.ArgumentParser()
parser.add_argument("--model")
args = parser.parse_args()
model = AutoModelForSequenceClassification.from_pretrained(args.model)
"""

BERT = """
import torch
from torch.optim import AdamW
from transformers import BertForSequenceClassification
model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
"""

GPT2 = """
import torch
from transformers import GPT2LMHeadModel
model = GPT2LMHeadModel.from_pretrained("gpt2")
"""

CASES: dict[str, dict[str, str]] = {
    "LR003": {
        "bad: lower blocks faster than upper blocks": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR003
    {"params": model.bert.embeddings.parameters(), "lr": 1e-6},
    {"params": model.bert.encoder.layer[:6].parameters(), "lr": 2e-5},
    {"params": model.bert.encoder.layer[6:].parameters(), "lr": 1e-5},
    {"params": model.bert.pooler.parameters(), "lr": 2e-5},
    {"params": model.classifier.parameters(), "lr": 3e-5},
])
""",
        "bad: the new head slower than the backbone": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR003
    {"params": model.bert.parameters()},
    {"params": model.classifier.parameters(), "lr": 1e-6},
], lr=2e-5)
""",
        "bad: embeddings faster than the blocks": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR003
    {"params": model.bert.embeddings.parameters(), "lr": 5e-5},
    {"params": model.bert.encoder.parameters(), "lr": 1e-5},
    {"params": model.bert.pooler.parameters(), "lr": 2e-5},
    {"params": model.classifier.parameters(), "lr": 5e-5},
])
""",
        "bad: a decay loop with the exponent the wrong way round": BERT
        + """
lr, decay = 2e-5, 0.9
groups = [{"params": model.bert.embeddings.parameters(), "lr": lr * decay ** 13}]
for i, layer in enumerate(model.bert.encoder.layer):
    groups.append({"params": layer.parameters(), "lr": lr * decay ** i})
groups.append({"params": model.bert.pooler.parameters(), "lr": lr})
groups.append({"params": model.classifier.parameters(), "lr": lr})
optimizer = AdamW(groups)  # lrlint-expect: LR003
""",
        "quiet: the seed's improved code": SEED_MODEL
        + """
optimizer = AdamW([
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:6].parameters(), 'lr': 5e-6},
    {'params': model.bert.encoder.layer[6:].parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.sentence_attention.parameters(), 'lr': 2e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
], weight_decay=0.01)
""",
        "quiet: a correct layer-wise decay loop": BERT
        + """
lr, decay = 2e-5, 0.9
n = len(model.bert.encoder.layer)
groups = [{"params": model.bert.embeddings.parameters(), "lr": lr * decay ** (n + 1)}]
for i, layer in enumerate(model.bert.encoder.layer):
    groups.append({"params": layer.parameters(), "lr": lr * decay ** (n - i)})
groups.append({"params": model.bert.pooler.parameters(), "lr": lr})
groups.append({"params": model.classifier.parameters(), "lr": lr})
optimizer = AdamW(groups)
""",
        "quiet: equal rates in a weight-decay split": BERT
        + """
no_decay = ["bias", "LayerNorm.weight"]
optimizer = AdamW([
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "quiet: a model trained from scratch": """
import torch
from transformers import BertConfig, BertForSequenceClassification
model = BertForSequenceClassification(BertConfig())
optimizer = torch.optim.AdamW([
    {"params": model.bert.parameters(), "lr": 1e-3},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
""",
        "quiet: rates that cannot be known": BERT
        + """
def build(model, head_lr, body_lr):
    return AdamW([
        {"params": model.bert.parameters(), "lr": body_lr},
        {"params": model.classifier.parameters(), "lr": head_lr},
    ])
""",
    },
    "LR004": {
        "bad: the seed's first sketch leaves out the pooler and sentence_attention": SEED_MODEL
        + """
optimizer = AdamW([  # lrlint-expect: LR004
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:6].parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[6:].parameters(), 'lr': 1e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
])
""",
        "bad: the first sketch on a plain BERT classifier": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR004
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:6].parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[6:].parameters(), 'lr': 1e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
])
""",
        "bad: a loop over only some blocks": BERT
        + """
groups = [{"params": model.bert.embeddings.parameters(), "lr": 1e-6}]
for i in range(6):
    groups.append({"params": model.bert.encoder.layer[i].parameters(), "lr": 1e-6 * (i + 2)})
groups.append({"params": model.bert.pooler.parameters(), "lr": 1e-5})
groups.append({"params": model.classifier.parameters(), "lr": 2e-5})
optimizer = AdamW(groups)  # lrlint-expect: LR004
""",
        "bad: Lightning configure_optimizers forgets the new head": """
import lightning.pytorch as pl
import torch
from transformers import AutoModel


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.encoder = AutoModel.from_pretrained("roberta-base")
        self.head = torch.nn.Linear(768, 2)

    def configure_optimizers(self):
        return torch.optim.AdamW([  # lrlint-expect: LR004
            {"params": self.encoder.embeddings.parameters(), "lr": 1e-6},
            {"params": self.encoder.encoder.parameters(), "lr": 1e-5},
            {"params": self.encoder.pooler.parameters(), "lr": 1e-5},
        ])
""",
        "quiet: the seed's improved code": SEED_MODEL
        + """
optimizer = AdamW([
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:6].parameters(), 'lr': 5e-6},
    {'params': model.bert.encoder.layer[6:].parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.sentence_attention.parameters(), 'lr': 2e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
], weight_decay=0.01)
""",
        "quiet: frozen embeddings are rightly left out": BERT
        + """
for p in model.bert.embeddings.parameters():
    p.requires_grad = False
optimizer = AdamW([
    {'params': model.bert.encoder.parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5},
])
""",
        "quiet: every block through a loop": BERT
        + """
groups = [{"params": model.bert.embeddings.parameters(), "lr": 1e-6}]
for i, layer in enumerate(model.bert.encoder.layer):
    groups.append({"params": layer.parameters(), "lr": 1e-6 * (i + 2)})
groups += [{"params": model.bert.pooler.parameters(), "lr": 1e-5},
           {"params": model.classifier.parameters(), "lr": 2e-5}]
optimizer = AdamW(groups)
""",
        "quiet: a freeze the interpreter cannot follow makes it say nothing": BERT
        + """
if args.freeze_embeddings:
    model.bert.embeddings.requires_grad_(False)
optimizer = AdamW([
    {'params': model.bert.encoder.parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5},
])
""",
    },
    "LR005": {
        "bad: the whole model and its head": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR005
    {"params": model.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
""",
        "bad: a name filter that matches too much": BERT
        + """
groups = [{"params": model.bert.embeddings.parameters(), "lr": 1e-6}]
for i in range(12):
    groups.append({
        "params": [p for n, p in model.named_parameters() if f"encoder.layer.{i}" in n],
        "lr": 1e-6 * (i + 2),
    })
optimizer = AdamW(groups)  # lrlint-expect: LR005
""",
        "bad: overlapping slices": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR005
    {"params": model.bert.encoder.layer[:7].parameters(), "lr": 5e-6},
    {"params": model.bert.encoder.layer[6:].parameters(), "lr": 1e-5},
])
""",
        "bad: a bias group on top of a full group": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR005
    {"params": [p for n, p in model.named_parameters()], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if "bias" in n], "weight_decay": 0.0},
], lr=2e-5)
""",
        "quiet: a name filter with the trailing dot": BERT
        + """
groups = [{"params": model.bert.embeddings.parameters(), "lr": 1e-6}]
for i in range(12):
    groups.append({
        "params": [p for n, p in model.named_parameters() if f"encoder.layer.{i}." in n],
        "lr": 1e-6 * (i + 2),
    })
groups.append({"params": model.bert.pooler.parameters(), "lr": 2e-5})
groups.append({"params": model.classifier.parameters(), "lr": 2e-5})
optimizer = AdamW(groups)
""",
        "quiet: disjoint slices": BERT
        + """
optimizer = AdamW([
    {"params": model.bert.encoder.layer[:6].parameters(), "lr": 5e-6},
    {"params": model.bert.encoder.layer[6:].parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 2e-5},
])
""",
        "quiet: the no_decay split": BERT
        + """
no_decay = ["bias", "LayerNorm.weight"]
optimizer = AdamW([
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "quiet: the seed's improved code": SEED_MODEL
        + """
optimizer = AdamW([
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:6].parameters(), 'lr': 5e-6},
    {'params': model.bert.encoder.layer[6:].parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.sentence_attention.parameters(), 'lr': 2e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
])
""",
    },
    "LR006": {
        "bad: decay on everything": BERT
        + """
optimizer = AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)  # lrlint-expect: LR006
""",
        "bad: AdamW's own default decay": BERT
        + """
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)  # lrlint-expect: LR006
""",
        "bad: a BERT exclusion list on GPT-2 misses ln_1, ln_2 and ln_f": GPT2
        + """
no_decay = ["bias", "LayerNorm.weight"]
optimizer = torch.optim.AdamW([  # lrlint-expect: LR006
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.1},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=3e-4)
""",
        "bad: decay in an explicit group": BERT
        + """
optimizer = AdamW([  # lrlint-expect: LR006
    {"params": model.bert.parameters(), "lr": 1e-5, "weight_decay": 0.01},
    {"params": model.classifier.parameters(), "lr": 2e-5, "weight_decay": 0.0},
])
""",
        "quiet: the ndim split (nanoGPT, timm)": GPT2
        + """
decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
optimizer = torch.optim.AdamW([
    {"params": decay, "weight_decay": 0.1},
    {"params": no_decay, "weight_decay": 0.0},
], lr=3e-4)
""",
        "quiet: the BERT exclusion list on BERT": BERT
        + """
no_decay = ["bias", "LayerNorm.weight"]
optimizer = AdamW([
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "quiet: Adam without decay": BERT
        + """
optimizer = torch.optim.Adam(model.parameters(), lr=2e-5)
""",
        "quiet: decay switched off": BERT
        + """
optimizer = AdamW(model.parameters(), lr=2e-5, weight_decay=0.0)
""",
        "bad: a list without the norm weights, whatever the model named at run time": RUNTIME
        + """
no_decay = ["bias", "LayerNorm.bias"]
optimizer = torch.optim.AdamW([  # lrlint-expect: LR006
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "bad: exact names never match a parameter's full name": RUNTIME
        + """
no_decay = {"bias", "LayerNorm.weight"}
optimizer = torch.optim.AdamW([  # lrlint-expect: LR006
    {"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if n in no_decay], "weight_decay": 0.0},
], lr=2e-5)
""",
        "bad: a lower-cased list misses BERT's LayerNorm": RUNTIME.replace(
            "args.model", "'bert-base-cased'"
        )
        + """
skip = [s.lower() for s in ["bias", "LayerNorm.weight"]]
optimizer = torch.optim.AdamW([  # lrlint-expect: LR006
    {"params": [p for n, p in model.named_parameters() if not any(s in n for s in skip)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(s in n for s in skip)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "bad: lower blocks frozen, the rest's norms still decayed": RUNTIME
        + """
for block in model.base_model.encoder.layer[:6]:
    block.requires_grad_(False)
optimizer = torch.optim.AdamW([  # lrlint-expect: LR006
    {"params": [p for n, p in model.named_parameters() if "bias" not in n], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if "bias" in n], "weight_decay": 0.0},
], lr=2e-5)
""",
        "quiet: the BERT list over a model named at run time (it may be BERT)": RUNTIME
        + """
no_decay = ["bias", "LayerNorm.weight"]
optimizer = torch.optim.AdamW([
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
        "bad: a decoder trains beside an encoder frozen in the model's class": SEGMENTER
        + """
optimizer = torch.optim.AdamW(model.decoder.parameters(), lr=1e-4)  # lrlint-expect: LR006
""",
        "quiet: the part it takes is frozen in the model's class": SEGMENTER
        + """
optimizer = torch.optim.AdamW(model.encoder.parameters(), lr=1e-4)
""",
        "bad: litgpt's optimizer named by the launcher's flag, AdamW's own decay": LAUNCHED.replace(
            "OPTIMIZER", "AdamW"
        ).replace("MARK", "  # lrlint-expect: LR006"),
        "quiet: the launcher's flag names SGD, which does not decay": LAUNCHED.replace(
            "OPTIMIZER", "SGD"
        ).replace("MARK", ""),
        "quiet: a list that names every family's norms": RUNTIME
        + """
no_decay = ["bias", "norm", "Norm", "ln_", "bn"]
optimizer = torch.optim.AdamW([
    {"params": [p for n, p in model.named_parameters() if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in model.named_parameters() if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
], lr=2e-5)
""",
    },
    "LR007": {
        "bad: OneCycleLR with one max_lr": BERT
        + """
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-4, total_steps=1000)  # lrlint-expect: LR007
""",
        "bad: CyclicLR with scalar rates": BERT
        + """
from torch.optim.lr_scheduler import CyclicLR
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
scheduler = CyclicLR(optimizer, base_lr=1e-6, max_lr=1e-4, cycle_momentum=False)  # lrlint-expect: LR007
""",
        "bad: a loop that writes one rate into every group": BERT
        + """
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
for group in optimizer.param_groups:
    group["lr"] = 3e-5  # lrlint-expect: LR007
""",
        "bad: a hand-written warm-up that flattens": BERT
        + """
base_lr = 2e-5
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
for step in range(1, 11):
    for g in optimizer.param_groups:
        g["lr"] = base_lr * step / 10  # lrlint-expect: LR007
""",
        "quiet: OneCycleLR with a list": BERT
        + """
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=[1e-5, 1e-4], total_steps=1000)
""",
        "quiet: a loop that scales each group's own rate": BERT
        + """
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
for group in optimizer.param_groups:
    group["lr"] *= 0.5
""",
        "quiet: one group, one rate": BERT
        + """
optimizer = AdamW(model.parameters(), lr=2e-5)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-4, total_steps=1000)
""",
        "quiet: a multiplicative scheduler keeps the ratios": BERT
        + """
from transformers import get_linear_schedule_with_warmup
optimizer = AdamW([
    {"params": model.bert.parameters(), "lr": 1e-5},
    {"params": model.classifier.parameters(), "lr": 1e-4},
])
scheduler = get_linear_schedule_with_warmup(optimizer, 100, 1000)
""",
    },
    "LR008": {
        "bad: unfrozen after an optimizer over the trainable parameters": BERT
        + """
for p in model.bert.parameters():
    p.requires_grad = False
optimizer = AdamW(filter(lambda p: p.requires_grad, model.parameters()), lr=2e-5)
for epoch in range(4):
    if epoch == 2:
        for p in model.bert.encoder.layer[6:].parameters():
            p.requires_grad = True  # lrlint-expect: LR008
""",
        "bad: an optimizer over the head only": BERT
        + """
model.bert.requires_grad_(False)
optimizer = AdamW(model.classifier.parameters(), lr=1e-3)
model.bert.encoder.layer[-2:].requires_grad_(True)  # lrlint-expect: LR008
""",
        "bad: a list comprehension on requires_grad": BERT
        + """
for p in model.bert.embeddings.parameters():
    p.requires_grad = False
optimizer = AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
for p in model.bert.embeddings.parameters():
    p.requires_grad = True  # lrlint-expect: LR008
""",
        "bad: gradual unfreezing in a helper": BERT
        + """
def unfreeze_top(model, k):
    for layer in model.bert.encoder.layer[-k:]:
        layer.requires_grad_(True)  # lrlint-expect: LR008

model.bert.requires_grad_(False)
optimizer = AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
for epoch in range(3):
    unfreeze_top(model, 4)
""",
        "quiet: every parameter in the optimizer from the start": BERT
        + """
for p in model.bert.parameters():
    p.requires_grad = False
optimizer = AdamW(model.parameters(), lr=2e-5)
for epoch in range(4):
    if epoch == 2:
        for p in model.bert.encoder.layer[6:].parameters():
            p.requires_grad = True
""",
        "quiet: add_param_group after unfreezing": BERT
        + """
model.bert.requires_grad_(False)
optimizer = AdamW(model.classifier.parameters(), lr=1e-3)
model.bert.encoder.layer[-2:].requires_grad_(True)
optimizer.add_param_group({"params": model.bert.encoder.layer[-2:].parameters(), "lr": 1e-5})
""",
        "quiet: the optimizer is rebuilt after unfreezing": BERT
        + """
model.bert.requires_grad_(False)
optimizer = AdamW(model.classifier.parameters(), lr=1e-3)
model.bert.requires_grad_(True)
optimizer = AdamW(model.parameters(), lr=2e-5)
""",
        "quiet: nothing is ever unfrozen": BERT
        + """
model.bert.embeddings.requires_grad_(False)
optimizer = AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)
""",
    },
}

PARAMS = [
    pytest.param(code, snippet, id=f"{code}: {name}")
    for code, cases in CASES.items()
    for name, snippet in cases.items()
]


@pytest.mark.parametrize(("code", "snippet"), PARAMS)
def test_rule(code: str, snippet: str) -> None:
    marks = {mark for mark in expected(snippet) if mark[1] == code}
    assert findings(snippet, frozenset({code})) == marks


def test_each_rule_has_four_bad_and_four_quiet_cases() -> None:
    for code, cases in CASES.items():
        bad = [s for s in cases.values() if any(m[1] == code for m in expected(s))]
        assert len(bad) >= 4, code
        assert len(cases) - len(bad) >= 4, code


def _message(snippet: str, code: str) -> str:
    from lrlint.engine import CheckOptions, check_source

    (diagnostic,) = check_source(snippet.lstrip("\n"), "t.py", CheckOptions(frozenset({code})))
    return diagnostic.message


def test_lr004_names_the_left_out_modules() -> None:
    message = _message(
        CASES["LR004"]["bad: the seed's first sketch leaves out the pooler and sentence_attention"],
        "LR004",
    )
    assert "model.bert.pooler" in message
    assert "model.sentence_attention" in message
    assert "never be trained" in message


def test_lr005_names_the_shared_blocks() -> None:
    message = _message(CASES["LR005"]["bad: a name filter that matches too much"], "LR005")
    assert "model.bert.encoder.layer.10-11" in message


def test_lr003_names_the_rates() -> None:
    message = _message(CASES["LR003"]["bad: the new head slower than the backbone"], "LR003")
    assert "new head" in message and "lr=1e-06" in message and "lr=2e-05" in message


SPENT = """
import torch
from transformers import BertForTokenClassification
model = BertForTokenClassification.from_pretrained("bert-base-cased", num_labels=9)
no_decay = ["bias", "LayerNorm.weight"]
named = NAMED
head = list(model.classifier.named_parameters())
groups = [
    {"params": [p for n, p in named if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
    {"params": [p for n, p in named if any(nd in n for nd in no_decay)], "weight_decay": 0.0},
    {"params": [p for n, p in head], "lr": 1e-3},
]
optimizer = torch.optim.AdamW(groups, lr=3e-5)
"""


def test_a_named_parameters_generator_kept_in_a_name_is_spent_by_the_first_group() -> None:
    """The second comprehension over `named` sees nothing: BERT's biases and norms are in no
    group (BERT-NER-Pytorch's span script); a list of them is read twice."""
    spent = SPENT.replace("NAMED", "model.bert.named_parameters()")
    assert findings(spent, frozenset({"LR004"})) == {(12, "LR004")}
    listed = SPENT.replace("NAMED", "list(model.bert.named_parameters())")
    assert findings(listed, frozenset({"LR004"})) == set()


def test_a_name_spent_elsewhere_is_not_blamed_for_this_optimizer() -> None:
    snippet = """
import torch
from transformers import BertForTokenClassification
model = BertForTokenClassification.from_pretrained("bert-base-cased", num_labels=9)
named = model.bert.named_parameters()
total = sum(p.numel() for n, p in named)
again = [n for n, p in named]
optimizer = torch.optim.AdamW([{"params": model.bert.parameters(), "lr": 3e-5}], lr=3e-5)
"""
    text = snippet.lstrip("\n")
    [finding] = check_source(text, "snippet.py", CheckOptions(frozenset({"LR004"})))
    assert "classifier" in finding.message and "generator" not in finding.message
