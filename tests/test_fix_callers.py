"""`lrlint fix --strategy gradual` on a helper trained in other modules of the project: the
helper's file gets the groups, each caller's loop the unfreezing (yolov5's `smart_optimizer`,
RecFormer's `create_optimizer_and_scheduler`). Runs the fixed project on a tiny real BERT."""

from __future__ import annotations

import runpy
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint.cli import cli

HELPER = """
import torch


def build_optimizer(model, lr):
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    return optimizer, scheduler
"""

CALLER = """
import torch
from transformers import AutoModelForSequenceClassification

from helpers import build_optimizer

CHECKPOINT = "bert-base-uncased"
snapshots = []

model = AutoModelForSequenceClassification.from_pretrained(CHECKPOINT, num_labels=2)
optimizer, scheduler = build_optimizer(model, 1e-2)
model.bert.embeddings.position_embeddings.requires_grad_(False)  # the user's own freeze
for epoch in range(6):
    ids = torch.randint(0, 99, (4, 8))
    model(input_ids=ids, labels=torch.randint(0, 2, (4,))).loss.backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad()
    snapshots.append({n: p.detach().clone() for n, p in model.named_parameters()})
"""


def _project(tmp_path: Path, caller: str = CALLER) -> tuple[Path, Path]:
    (tmp_path / "pyproject.toml").write_text("")
    helper, train = tmp_path / "helpers.py", tmp_path / "train.py"
    helper.write_text(textwrap.dedent(HELPER).lstrip())
    train.write_text(textwrap.dedent(caller).lstrip())
    return helper, train


def _fix(*args: str) -> str:
    result = CliRunner().invoke(cli, ["fix", "--strategy", "gradual", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def test_the_callers_loop_gets_the_unfreezing_and_the_project_trains_top_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    transformers = pytest.importorskip("transformers")
    helper, train = _project(tmp_path)
    output = _fix(str(helper))
    assert "helpers.py:5: fixed LR001 (gradual)" in output
    assert "train.py: added the gradual unfreezing for" in output
    text = train.read_text()
    assert "from helpers import param_groups_by_depth\n" in text
    assert "    param_groups_by_depth(model, epoch=epoch, optimizer=optimizer)\n" in text
    assert "epoch=0" not in helper.read_text()  # held in the optimizer, nothing frozen

    # idempotent: a second run over both files changes nothing
    before = helper.read_bytes(), train.read_bytes()
    assert "Nothing to fix." in _fix(str(helper), str(train))
    assert (helper.read_bytes(), train.read_bytes()) == before

    config = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
        intermediate_size=37,
    )  # fmt: skip
    model = transformers.BertForSequenceClassification(config)
    model.save_pretrained(tmp_path / "tiny")
    initial = {n: p.detach().clone() for n, p in model.named_parameters()}
    train.write_text(text.replace('"bert-base-uncased"', repr(str(tmp_path / "tiny"))))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "helpers", raising=False)
    snapshots = runpy.run_path(str(train), run_name="__main__")["snapshots"]

    def moved(epoch: int, name: str) -> bool:
        return not bool((snapshots[epoch][name] == initial[name]).all())

    head, bottom = "classifier.weight", "bert.encoder.layer.0.attention.self.query.weight"
    embeddings, own = (
        "bert.embeddings.word_embeddings.weight",
        "bert.embeddings.position_embeddings.weight",
    )
    assert moved(1, head) and not moved(1, bottom) and not moved(1, embeddings)
    assert not moved(3, bottom) and moved(3, "bert.encoder.layer.3.attention.self.query.weight")
    assert moved(5, bottom) and moved(5, embeddings)
    assert not moved(5, own)  # the user's own freeze stays


def test_diff_mode_shows_both_files_and_writes_neither(tmp_path: Path) -> None:
    helper, train = _project(tmp_path)
    before = helper.read_bytes(), train.read_bytes()
    output = _fix("--diff", str(helper))
    assert "+    param_groups_by_depth(model, epoch=epoch, optimizer=optimizer)" in output
    assert "train.py: would add the gradual unfreezing" in output
    assert (helper.read_bytes(), train.read_bytes()) == before


def test_a_caller_through_the_module_uses_the_module(tmp_path: Path) -> None:
    caller = CALLER.replace("from helpers import build_optimizer", "import helpers").replace(
        "= build_optimizer(", "= helpers.build_optimizer("
    )
    helper, train = _project(tmp_path, caller)
    _fix(str(helper))
    text = train.read_text()
    assert "    helpers.param_groups_by_depth(model, epoch=epoch, optimizer=optimizer)\n" in text
    assert "from helpers import param_groups_by_depth" not in text


def test_a_caller_without_a_loop_refuses_and_writes_nothing(tmp_path: Path) -> None:
    caller = CALLER.split("for epoch")[0]  # builds the optimizer, never trains in this file
    helper, train = _project(tmp_path, caller)
    before = helper.read_bytes(), train.read_bytes()
    output = _fix(str(helper))
    assert "helpers.py:5: LR001 not fixed: no training loop after the optimizer" in output
    assert "(train.py:10 has no training loop after the call)" in output
    assert (helper.read_bytes(), train.read_bytes()) == before


def test_a_caller_importing_through_a_package_is_refused(tmp_path: Path) -> None:
    """`from tools import build_optimizer`, re-exported by tools/__init__.py: the package does
    not re-export the written function, so no import of it would run."""
    (tmp_path / "pyproject.toml").write_text("")
    package = tmp_path / "tools"
    package.mkdir()
    helper = package / "helpers.py"
    helper.write_text(textwrap.dedent(HELPER).lstrip())
    (package / "__init__.py").write_text("from .helpers import build_optimizer\n")
    train = tmp_path / "train.py"
    train.write_text(
        textwrap.dedent(CALLER).lstrip().replace("from helpers import", "from tools import")
    )
    before = helper.read_bytes(), train.read_bytes()
    output = _fix(str(helper))
    assert "imports the helper other than from its module" in output, output
    assert (helper.read_bytes(), train.read_bytes()) == before


def test_every_loop_of_a_caller_gets_the_unfreezing(tmp_path: Path) -> None:
    """Two functions of train.py train what the helper returns: both loops thaw."""
    body = textwrap.dedent(CALLER).lstrip()
    head, loop = body.split("optimizer, scheduler = build_optimizer(model, 1e-2)\n")
    indented = textwrap.indent(
        "optimizer, scheduler = build_optimizer(model, 1e-2)\n" + loop, "    "
    )
    caller = head + "\n\ndef main():\n" + indented + "\n\ndef again():\n" + indented
    helper, train = _project(tmp_path, caller)
    output = _fix(str(helper))
    assert "train.py: added the gradual unfreezing" in output
    text = train.read_text()
    assert text.count("param_groups_by_depth(model, epoch=epoch, optimizer=optimizer)") == 2
    assert text.count("from helpers import param_groups_by_depth") == 1


def test_a_helper_with_a_loop_of_its_own_and_callers_elsewhere_is_refused(
    tmp_path: Path,
) -> None:
    """The helper's own file trains it in `demo()`; train.py's loop would get nothing and
    train with the lower layers frozen for good."""
    demo = (
        "\n\ndef demo(model):\n"
        "    optimizer, scheduler = build_optimizer(model, 1e-3)\n"
        "    for epoch in range(3):\n"
        "        optimizer.step()\n"
    )
    helper, train = _project(tmp_path)
    helper.write_text(helper.read_text() + demo)
    before = helper.read_bytes(), train.read_bytes()
    output = _fix(str(helper))
    assert "build_optimizer is also called from train.py:10" in output, output
    assert (helper.read_bytes(), train.read_bytes()) == before
