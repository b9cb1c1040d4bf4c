"""`lrlint runtime` and `lrlint.runtime.check` with real torch, transformers and Lightning.

Models come from tiny configs saved to a temporary folder (`--config`), so nothing is
downloaded; scripts are real scripts run to the point where their optimizer exists.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from lrlint.runtime import check  # noqa: E402
from lrlint.runtime.harness import RunError, run_script  # noqa: E402
from lrlint.runtime.offline import Offline  # noqa: E402

TINY_BERT = dict(
    vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=37
)

SEED_MODEL = """
import torch
import torch.nn as nn
from torch.optim import AdamW
from transformers import AutoTokenizer, BertModel


class SentenceAttention(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.score = nn.Linear(hidden, 1)


class DocumentClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = BertModel.from_pretrained("klue/bert-base")
        hidden = self.bert.config.hidden_size
        self.sentence_attention = SentenceAttention(hidden)
        self.classifier = nn.Linear(hidden, 4)

    def forward(self, ids):
        return self.classifier(self.bert(ids).pooler_output)


tokenizer = AutoTokenizer.from_pretrained("klue/bert-base")
batch = tokenizer(["a first document"], return_tensors="pt")
model = DocumentClassifier().to("cpu")
"""

FIRST_SKETCH = """
optimizer = AdamW([
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:2].parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[2:].parameters(), 'lr': 1e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
])
"""

IMPROVED = """
optimizer = AdamW([
    {'params': model.bert.embeddings.parameters(), 'lr': 1e-6},
    {'params': model.bert.encoder.layer[:2].parameters(), 'lr': 5e-6},
    {'params': model.bert.encoder.layer[2:].parameters(), 'lr': 1e-5},
    {'params': model.bert.pooler.parameters(), 'lr': 1e-5},
    {'params': model.sentence_attention.parameters(), 'lr': 2e-5},
    {'params': model.classifier.parameters(), 'lr': 2e-5}
], weight_decay=0.01)
"""

TRAIN_LOOP = """
for epoch in range(3):
    try:  # a broad except must not swallow the stop
        loss = model(batch["input_ids"]).sum()
        loss.backward()
        optimizer.step()
    except Exception:
        pass
print("TRAINING FINISHED")  # never reached: the run stops at the first forward pass
"""


@pytest.fixture(scope="module")
def bert_config(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny-bert")
    transformers.BertConfig(**TINY_BERT).save_pretrained(folder)
    return str(folder)


def _script(tmp_path: Path, body: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body).lstrip())
    return path


def _capture(path: Path, config: str, *argv: str):
    return run_script(path, list(argv), Offline(fallback=config))


def _report(path: Path, config: str, **options):
    capture = _capture(path, config)
    return check(
        capture.model,
        capture.optimizer if capture.optimizer is not None else capture.raw_groups,
        pretrained=capture.pretrained,
        scheduler=capture.scheduler,
        rates_after_step=capture.rates_after_step,
        configured_rates=capture.configured_rates,
        **options,
    )


def test_seed_first_sketch_reports_the_pooler_and_sentence_attention(
    tmp_path: Path, bert_config: str
) -> None:
    report = _report(_script(tmp_path, SEED_MODEL + FIRST_SKETCH + TRAIN_LOOP), bert_config)
    (finding,) = report.findings
    assert finding.code == "LR004"
    assert "bert.pooler.dense.weight" in finding.message
    assert "sentence_attention" in finding.message
    assert report.family == "bert" and report.model == "DocumentClassifier"


def test_a_run_leaves_the_environment_and_the_disk_as_they_were(
    tmp_path: Path, bert_config: str
) -> None:
    import os
    import tempfile

    before_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    before_dirs = set(Path(tempfile.gettempdir()).glob("lrlint-runtime-*"))
    _capture(
        _script(tmp_path, SEED_MODEL + IMPROVED + TRAIN_LOOP), bert_config
    )  # a stand-in tokenizer
    assert {k: os.environ.get(k) for k in before_env} == before_env
    assert set(Path(tempfile.gettempdir()).glob("lrlint-runtime-*")) == before_dirs


def test_seed_improved_code_is_clean(tmp_path: Path, bert_config: str) -> None:
    report = _report(_script(tmp_path, SEED_MODEL + IMPROVED + TRAIN_LOOP), bert_config)
    assert report.ok, report.findings
    modules = {row.module: row for row in report.rows}
    assert modules["bert.pooler"].lr == [1e-5]
    assert modules["classifier"].lr == [2e-5] and modules["classifier"].head
    assert modules["bert.embeddings"].weight_decay == [0.01]


def test_api_on_a_model_and_optimizer_built_here() -> None:
    model = transformers.BertForSequenceClassification(transformers.BertConfig(**TINY_BERT))
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
    report = check(model, optimizer)
    assert [f.code for f in report.findings] == ["LR001"]
    with pytest.raises(AssertionError, match="LR001"):
        report.raise_for_findings()
    for p in model.bert.embeddings.parameters():
        p.requires_grad = False
    assert check(model, torch.optim.AdamW(model.parameters(), lr=2e-5)).ok
    assert "bert.embeddings" in check(model, torch.optim.AdamW(model.parameters())).frozen


def test_a_head_only_optimizer_is_left_out_modules_not_one_rate() -> None:
    model = transformers.BertForSequenceClassification(transformers.BertConfig(**TINY_BERT))
    report = check(model, torch.optim.SGD(model.classifier.parameters(), lr=1e-3))
    assert [f.code for f in report.findings] == ["LR004"]


def test_rates_from_a_layer_wise_decay_loop(tmp_path: Path, bert_config: str) -> None:
    decay = """
    from transformers import BertForSequenceClassification
    import torch
    model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
    layers = model.bert.encoder.layer
    groups = [{"params": model.bert.embeddings.parameters(), "lr": 2e-5 * 0.8 ** (len(layers) + 1)}]
    for i, layer in enumerate(layers):
        groups.append({"params": layer.parameters(), "lr": 2e-5 * 0.8 ** (len(layers) - i)})
    groups.append({"params": model.bert.pooler.parameters(), "lr": 2e-5})
    groups.append({"params": model.classifier.parameters(), "lr": 2e-5})
    optimizer = torch.optim.AdamW(groups)
    """
    assert _report(_script(tmp_path, decay), bert_config).ok
    inverted = decay.replace("(len(layers) - i)", "i")
    report = _report(_script(tmp_path, inverted, "inverted.py"), bert_config)
    assert [f.code for f in report.findings] == ["LR003"]


def test_overlapping_groups_are_caught_before_torch_refuses(
    tmp_path: Path, bert_config: str
) -> None:
    overlap = """
    from transformers import BertForSequenceClassification
    import torch
    model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
    optimizer = torch.optim.AdamW([
        {"params": model.parameters(), "lr": 1e-5},
        {"params": model.classifier.parameters(), "lr": 1e-4},
    ])
    """
    report = _report(_script(tmp_path, overlap), bert_config)
    assert "LR005" in [f.code for f in report.findings]
    assert "classifier.weight" in next(f.message for f in report.findings if f.code == "LR005")


def test_scheduler_rewrites_are_read_through_initial_lr_and_flattening_shows(
    tmp_path: Path, bert_config: str
) -> None:
    script = """
    from transformers import BertForSequenceClassification, get_linear_schedule_with_warmup
    import torch
    model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
    optimizer = torch.optim.AdamW([
        {"params": model.bert.parameters(), "lr": 1e-5},
        {"params": model.classifier.parameters(), "lr": 1e-4},
    ])
    scheduler = SCHEDULER
    """
    warmup = script.replace("SCHEDULER", "get_linear_schedule_with_warmup(optimizer, 10, 100)")
    report = _report(_script(tmp_path, warmup), bert_config)
    assert report.ok and report.scheduler == "LambdaLR"
    assert {g["lr"] for g in report.groups} == {1e-5, 1e-4}  # not the warm-up's 0.0
    one_cycle = script.replace(
        "SCHEDULER", "torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-4, total_steps=100)"
    )
    report = _report(_script(tmp_path, one_cycle, "one_cycle.py"), bert_config)
    assert [f.code for f in report.findings] == ["LR007"]


def test_trainer_default_optimizer_is_caught_inside_train(
    tmp_path: Path, bert_config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("accelerate")
    monkeypatch.chdir(tmp_path)
    script = """
    import torch
    from transformers import BertForSequenceClassification, Trainer, TrainingArguments

    class Texts(torch.utils.data.Dataset):
        def __len__(self):
            return 8
        def __getitem__(self, i):
            return {"input_ids": torch.tensor([1, 2, 3]), "labels": torch.tensor(0)}

    model = BertForSequenceClassification.from_pretrained("bert-base-uncased")
    args = TrainingArguments("out", learning_rate=3e-5, report_to="none", use_cpu=True)
    trainer = Trainer(model=model, args=args, train_dataset=Texts())
    trainer.train()
    """
    capture = _capture(_script(tmp_path, script), bert_config)
    assert type(capture.model).__name__ == "BertForSequenceClassification"
    report = check(capture.model, capture.optimizer, pretrained=capture.pretrained)
    assert [f.code for f in report.findings] == ["LR001"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_lightning_finetuning_callback_groups_are_replayed(
    tmp_path: Path, bert_config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("lightning")
    monkeypatch.chdir(tmp_path)
    script = """
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import BackboneFinetuning
    from transformers import AutoModel

    class Classifier(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.backbone = AutoModel.from_pretrained("bert-base-uncased")
            self.head = torch.nn.Linear(self.backbone.config.hidden_size, 2)

        def training_step(self, batch, batch_idx):
            return self.head(self.backbone(batch).pooler_output).sum()

        def configure_optimizers(self):
            trainable = filter(lambda p: p.requires_grad, self.parameters())
            return torch.optim.AdamW(trainable, lr=1e-3)

    loader = torch.utils.data.DataLoader(torch.ones(8, 4, dtype=torch.long), batch_size=4)
    trainer = pl.Trainer(
        max_epochs=5, callbacks=[BackboneFinetuning(unfreeze_backbone_at_epoch=2)],
        logger=False, enable_checkpointing=False, accelerator="cpu",
    )
    trainer.fit(Classifier(), loader)
    """
    capture = _capture(_script(tmp_path, script), bert_config)
    assert any("BackboneFinetuning" in note for note in capture.notes)
    report = check(capture.model, capture.optimizer, pretrained=capture.pretrained)
    assert report.ok, report.findings  # the backbone group was added at epoch 2
    rates = {row.module.split(".")[0]: row.lr for row in report.rows}
    assert rates["head"] == [1e-3] and max(rates["backbone"]) < 1e-3


# ---- bad input: one line, exit 2 ------------------------------------------------------------
def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lrlint", "runtime", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("raise ValueError('no data found')\n", "raised ValueError: no data found before"),
        ("print('nothing to train')\n", "finished without building an optimizer"),
        ("import sys\nsys.exit(3)\n", "exited (code 3) before building an optimizer"),
        (
            "import argparse\np = argparse.ArgumentParser()\np.add_argument('--data', required=True)\n"
            "p.parse_args()\n",
            "required: --data",
        ),
    ],
    ids=["raises", "no-optimizer", "sys-exit", "missing-arguments"],
)
def test_scripts_that_never_reach_an_optimizer(
    tmp_path: Path, bert_config: str, body: str, said: str
) -> None:
    path = _script(tmp_path, body)
    with pytest.raises(RunError, match=said.replace("(", r"\(").replace(")", r"\)")):
        _capture(path, bert_config)


def test_cli_exit_codes_json_and_plot(tmp_path: Path, bert_config: str) -> None:
    bad = _script(tmp_path, SEED_MODEL + FIRST_SKETCH + TRAIN_LOOP, "bad.py")
    good = _script(tmp_path, SEED_MODEL + IMPROVED + TRAIN_LOOP, "good.py")
    result = _cli(str(bad), "--config", bert_config, "--plot", "chart.png", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "LR004" in result.stdout and "TRAINING FINISHED" not in result.stdout
    png = (tmp_path / "chart.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
    result = _cli(str(good), "--config", bert_config, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["findings"] == [] and data["family"] == "bert"
    failing = _script(tmp_path, "raise RuntimeError('boom')\n", "fails.py")
    result = _cli(str(failing), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
    assert "Traceback" in _cli(str(failing), "--verbose", cwd=tmp_path).stderr


def test_model_id_without_a_local_config_names_the_id(tmp_path: Path) -> None:
    body = (
        "from transformers import AutoModel\nimport torch\n"
        "m = AutoModel.from_pretrained('nobody/no-such-model')\n"
        "opt = torch.optim.AdamW(m.parameters())\n"
    )
    result = _cli(str(_script(tmp_path, body)), cwd=tmp_path)
    assert result.returncode == 2
    assert "'nobody/no-such-model'" in result.stderr and "--config" in result.stderr


def test_llama_shaped_config_on_the_meta_device(tmp_path: Path) -> None:
    folder = tmp_path / "llama"
    transformers.LlamaConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=96,
        num_hidden_layers=3,
        num_attention_heads=4,
        num_key_value_heads=2,
    ).save_pretrained(folder)
    body = """
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-3.1-8B")
    model.to("cpu")
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5)
    """
    capture = run_script(
        _script(tmp_path, body), [], Offline(configs={"meta-llama/Llama-3.1-8B": str(folder)})
    )
    assert all(p.is_meta for p in capture.model.parameters())  # no weights were made
    report = check(capture.model, capture.optimizer, pretrained=capture.pretrained)
    assert report.family == "llama"
    assert [f.code for f in report.findings] == ["LR001"]


def _notebook(tmp_path: Path, *sources: str) -> Path:
    cells = [
        {"cell_type": "markdown", "metadata": {"collapsed": True}, "source": ["# Fine-tune"]},
        *(
            {
                "cell_type": "code",
                "execution_count": None,
                "metadata": {"scrolled": False},
                "outputs": [],
                "source": source.splitlines(keepends=True),
            }
            for source in sources
        ),
    ]
    path = tmp_path / "finetune.ipynb"
    path.write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
    )
    return path


def test_a_notebook_runs_its_code_cells_in_order(tmp_path: Path, bert_config: str) -> None:
    # JSON's true/false/null must never reach Python; magics and shell lines are left out
    path = _notebook(
        tmp_path,
        "%pip install -q transformers\n!nvidia-smi\n" + SEED_MODEL,
        FIRST_SKETCH + TRAIN_LOOP,
    )
    result = _cli(str(path), "--config", bert_config, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "LR004" in result.stdout
    failing = _notebook(tmp_path, "x = 1\n", "pip install peft\nraise RuntimeError('boom')\n")
    result = _cli(str(failing), cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (
        "raised RuntimeError: boom before building an optimizer (cell 3, line 2)" in result.stderr
    )
