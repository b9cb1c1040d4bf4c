"""Gradual unfreezing under DistributedDataParallel, run for real: two CPU processes (gloo).

DDP syncs only the parameters that required grad when it wrapped the model (Lightning
#20340), so a fix that thaws layers by `requires_grad` lets the replicas drift apart. Where
the script wraps its model so, the fix holds the lower stages out of the optimizer's steps
instead; this runs the fixed script on two ranks fed different data and compares them.
"""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrlint.fix.fixer import FixOptions, fix_source  # noqa: E402

EPOCHS = 6  # three stages of two epochs

SCRIPT = """
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP
from transformers import AutoModelForSequenceClassification


def main(checkpoint, rank, snapshots):
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model = DDP(model)
    generator = torch.Generator().manual_seed(rank)  # each rank its own data
    for epoch in range({epochs}):
        for _ in range(2):
            ids = torch.randint(0, 99, (4, 8), generator=generator)
            labels = torch.randint(0, 2, (4,), generator=generator)
            model(input_ids=ids, labels=labels).loss.backward()
            optimizer.step()
            optimizer.zero_grad()
        snapshots.append(
            {{n: p.detach().clone() for n, p in model.module.named_parameters()}}
        )
"""


def _worker(rank: int, text: str, checkpoint: str, out: str, port: int) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    try:
        namespace: dict[str, Any] = {"__name__": "fixed_script"}
        exec(compile(text, "fixed_script.py", "exec"), namespace)
        snapshots: list[dict[str, Any]] = []
        namespace["main"](checkpoint, rank, snapshots)
        torch.save(snapshots, Path(out) / f"rank{rank}.pt")
    finally:
        torch.distributed.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _train_on_two_ranks(text: str, tmp_path: Path) -> tuple[list[dict], list[dict], dict]:
    config = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        intermediate_size=37, num_labels=2,
    )  # fmt: skip
    model = transformers.BertForSequenceClassification(config)
    checkpoint = tmp_path / "tiny-bert"
    model.save_pretrained(checkpoint)
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.multiprocessing.spawn(
        _worker, args=(text, str(checkpoint), str(tmp_path), _free_port()), nprocs=2
    )
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in (0, 1)]
    return ranks[0], ranks[1], initial


def test_gradual_under_ddp_holds_the_stages_and_keeps_the_replicas_in_sync(
    tmp_path: Path,
) -> None:
    result = fix_source(
        textwrap.dedent(SCRIPT.format(epochs=EPOCHS)).lstrip(), FixOptions(strategy="gradual")
    )
    assert result.refused == [] and len(result.fixed) == 1
    text = result.text
    # nothing is frozen where DDP wraps the model: the unfreezing holds the optimizer's groups
    assert "param_groups_by_depth(model, epoch=epoch, optimizer=optimizer)" in text
    assert "epoch=0" not in text
    first, second, initial = _train_on_two_ranks(text, tmp_path)

    def moved(snapshot: dict, name: str) -> bool:
        return not torch.equal(snapshot[name], initial[name])

    embeddings = "bert.embeddings.word_embeddings.weight"
    bottom = "bert.encoder.layer.0.attention.self.query.weight"
    head = "classifier.weight"
    for epoch in range(EPOCHS):
        for name, value in first[epoch].items():  # every parameter, every epoch: in sync
            assert torch.equal(value, second[epoch][name]), f"{name} drifted at epoch {epoch}"
    # epochs 0-1: the heads train, the embeddings and lower blocks are held
    assert moved(first[1], head)
    assert not moved(first[1], embeddings) and not moved(first[1], bottom)
    # epochs 4-5: everything trains
    assert moved(first[5], embeddings) and moved(first[5], bottom)


WRAPPED = """
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained(args.model, num_labels=2)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
{wrap}
for epoch in range(3):
    for batch in loader:
        model(**batch).loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(
    "wrap",
    [
        "model, optimizer = accelerator.prepare(model, optimizer)",
        "fabric_model, optimizer = fabric.setup(model, optimizer)",
        "model = smart_DDP(model)",  # a project's own wrapper, by its name
    ],
)
def test_a_wrapper_that_syncs_gets_the_held_stages(wrap: str) -> None:
    result = fix_source(WRAPPED.format(wrap=wrap).lstrip(), FixOptions(strategy="gradual"))
    assert result.refused == [] and len(result.fixed) == 1
    assert "epoch=epoch, optimizer=optimizer)" in result.text
    assert "epoch=0" not in result.text


@pytest.mark.parametrize(
    ("wrap", "named"),
    [
        (
            "model, optimizer, _, _ = deepspeed.initialize(model=model, optimizer=optimizer)",
            "deepspeed.initialize",
        ),
        (
            "accelerator = Accelerator(fsdp_plugin=FullyShardedDataParallelPlugin())\n"
            "model, optimizer = accelerator.prepare(model, optimizer)",
            "accelerator.prepare",
        ),
    ],
)
def test_a_sharding_wrapper_is_refused_with_the_reason(wrap: str, named: str) -> None:
    text = WRAPPED.format(wrap=wrap).lstrip()
    result = fix_source(text, FixOptions(strategy="gradual"))
    assert result.text == text and not result.fixed
    (refusal,) = result.refused
    assert f"the model goes through {named}(...)" in refusal.reason
    assert fix_source(text, FixOptions()).fixed  # discriminative needs no thawing: fixed


LIGHTNING = """
import lightning as L
import torch
from transformers import AutoModelForSequenceClassification


class Module(L.LightningModule):
    def __init__(self, name):
        super().__init__()
        self.model = AutoModelForSequenceClassification.from_pretrained(name, num_labels=2)

    def training_step(self, batch, batch_idx):
        ids, labels = batch
        return self.model(input_ids=ids, labels=labels).loss

    def configure_optimizers(self):
        return torch.optim.AdamW(self.parameters(), lr=1e-2)
"""


def test_a_lightning_fit_holds_the_stages_through_its_step_closure(tmp_path: Path) -> None:
    """Lightning steps with a closure (backward runs inside `optimizer.step`, after any step
    pre-hook): the held stages step at lr 0, so they stay put all the same. A real fit."""
    lightning = pytest.importorskip("lightning")
    result = fix_source(textwrap.dedent(LIGHTNING).lstrip(), FixOptions(strategy="gradual"))
    assert result.refused == [] and len(result.fixed) == 1
    assert "def on_train_epoch_start(self):" in result.text
    namespace: dict[str, Any] = {"__name__": "fixed_module"}
    exec(compile(result.text, "fixed_module.py", "exec"), namespace)
    config = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        intermediate_size=37, num_labels=2,
    )  # fmt: skip
    transformers.BertForSequenceClassification(config).save_pretrained(tmp_path / "tiny")
    module = namespace["Module"](str(tmp_path / "tiny"))
    initial = {n: p.detach().clone() for n, p in module.named_parameters()}
    snapshots: list[dict[str, Any]] = []

    class Record(lightning.Callback):
        def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
            snapshots.append({n: p.detach().clone() for n, p in pl_module.named_parameters()})

    data = torch.utils.data.TensorDataset(torch.randint(0, 99, (8, 8)), torch.randint(0, 2, (8,)))
    trainer = lightning.Trainer(
        max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False, callbacks=[Record()],
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
    )  # fmt: skip
    trainer.fit(module, torch.utils.data.DataLoader(data, batch_size=4))

    def moved(epoch: int, name: str) -> bool:
        return not torch.equal(snapshots[epoch][name], initial[name])

    head, bottom = (
        "model.classifier.weight",
        "model.bert.encoder.layer.0.attention.self.query.weight",
    )
    assert moved(1, head) and not moved(1, bottom)
    assert not moved(1, "model.bert.embeddings.word_embeddings.weight")
    assert moved(5, bottom) and moved(5, "model.bert.embeddings.word_embeddings.weight")
