"""`lrlint fix` as a user drives it: what it writes, and the promises around writing.
(What the written code does at run time: test_fix_runtime.py.)"""

from __future__ import annotations

import difflib
import os
import shutil
import stat
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint.cli import cli
from lrlint.engine import CheckOptions, check_source
from lrlint.fix.fixer import VERIFIED, FixOptions, fix_source
from lrlint.fix.writeback import WriteError, write_fixed
from lrlint.sources import text as source
from tests.conftest import FIXTURES, SPLIT_BY_KIND

FIXABLE = [
    "plain_loop.py",
    "trainer_script.py",
    "lightning_module.py",
    "accelerate_script.py",
    "seed_document_classifier.py",
    "small_data_finetune.py",
    "crlf_bom_korean.py",
]
STRATEGIES = [
    FixOptions("discriminative"),
    FixOptions("discriminative", decay=0.9),
    FixOptions("freeze"),
    FixOptions("gradual"),
]
# Combinations the fixer refuses on purpose: gradual unfreezing needs an epoch hook that
# Trainer and Lightning own, and --decay cannot keep a weight-decay split.
# Where today's static groups cannot be written (gradual with a Trainer or in a LightningModule,
# --decay over a no-decay split), the function that finds depth at run time is: no refusals.
REFUSED: set[tuple[str, float | None, str]] = set()
UNKNOWN_MODEL = """\
import torch
from transformers import AutoModel
from mylib import build_head

# a custom head lrlint cannot see into
class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = AutoModel.from_pretrained("bert-base-uncased")
        self.head = build_head(768)

model = Net()
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)
"""


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _text(name: str) -> str:
    return source.read(FIXTURES / name).text


def _counts(text: str) -> Counter[str]:
    return Counter(d.code for d in check_source(text, "t.py", CheckOptions(VERIFIED)))


@pytest.mark.parametrize("options", STRATEGIES, ids=lambda o: f"{o.strategy}-{o.decay}")
@pytest.mark.parametrize("name", FIXABLE)
def test_fix_is_clean_and_idempotent(name: str, options: FixOptions) -> None:
    original = _text(name)
    first = fix_source(original, options)
    if (options.strategy, options.decay, name) in REFUSED:
        assert first.refused and not first.changed  # refused with a reason, never guessed
        assert first.text == original
        return
    assert first.changed and not first.refused, first.refused
    before, after = _counts(original), _counts(first.text)
    assert after["LR001"] == 0
    for code in VERIFIED:
        assert after[code] <= before[code], code
    second = fix_source(first.text, options)
    assert second.text == first.text and not second.fixed  # idempotent


def test_fix_keeps_everything_outside_the_statement() -> None:
    original = _text("plain_loop.py")
    fixed = fix_source(original, FixOptions()).text
    diff = list(difflib.ndiff(original.splitlines(), fixed.splitlines()))
    removed = [line[2:] for line in diff if line.startswith("- ")]
    assert len(removed) == 1 and "AdamW(model.parameters()" in removed[0]
    added = "\n".join(line[2:] for line in diff if line.startswith("+ "))
    assert "weight_decay=0.01" in added  # the user's other argument survived
    assert "# lrlint-expect" in added  # and the comment at the end of the statement
    assert "import lrlint" not in fixed and "from lrlint" not in fixed


def test_imports_are_added_once() -> None:
    fixed = fix_source(_text("trainer_script.py"), FixOptions()).text
    assert fixed.count("import torch\n") == 1


def test_diff_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    shutil.copy(FIXTURES / "plain_loop.py", path)
    before = path.read_bytes()
    result = run("fix", "--diff", str(path))
    assert result.exit_code == 0
    assert path.read_bytes() == before
    assert "+++ b/" in result.stdout and "-    optimizer = torch.optim.AdamW" in result.stdout
    assert "would fix LR001" in result.stdout


def test_fix_writes_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    shutil.copy(FIXTURES / "plain_loop.py", path)
    result = run("fix", str(path))
    assert result.exit_code == 0
    assert f"{path}:45: fixed LR001 (discriminative)" in result.stdout
    assert "lower_blocks = len(model.bert.encoder.layer) // 2" in path.read_text()
    assert run("check", "--select", "LR001", str(path)).exit_code == 0
    assert run("fix", str(path)).stdout.strip() == "Nothing to fix."


def test_a_symlinked_file_is_fixed_through_the_link(tmp_path: Path) -> None:
    real = tmp_path / "project" / "train.py"
    real.parent.mkdir()
    shutil.copy(FIXTURES / "plain_loop.py", real)
    link = tmp_path / "train_link.py"
    link.symlink_to(real)
    assert run("fix", str(link)).exit_code == 0
    assert link.is_symlink()
    assert "lower_blocks = len(model.bert.encoder.layer) // 2" in real.read_text()


def test_crlf_and_bom_survive_a_fix(tmp_path: Path) -> None:
    path = tmp_path / "korean.py"
    shutil.copy(FIXTURES / "crlf_bom_korean.py", path)
    assert run("fix", str(path)).exit_code == 0
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\n") == raw.count(b"\r\n")  # every line ending is still CRLF
    assert "# 학습률 설정" in raw.decode("utf-8-sig")
    assert b"lower_blocks" in raw


def test_unfixable_file_is_left_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(
        "import torch\nfrom transformers import AutoModel\n"
        "model = AutoModel.from_pretrained('bert-base-uncased')\n"
        "opt = torch.optim.AdamW(model.parameters(), **settings(), **more)\n"
    )
    before = path.read_bytes()
    result = run("fix", str(path))
    assert result.exit_code == 1
    assert "LR001 not fixed: the lr is passed through **keyword arguments" in result.stdout
    assert path.read_bytes() == before


def test_a_module_lrlint_cannot_see_into_gets_the_run_time_function() -> None:
    # the head comes from another file: no static group could name all of it, the function
    # that walks the real model at run time can
    result = fix_source(UNKNOWN_MODEL, FixOptions())
    assert result.fixed and not result.refused
    assert "param_groups_by_depth(model, 2e-5)" in result.text


def test_default_lr_is_torchs_default_for_the_optimizer() -> None:
    code = (
        "import torch\nfrom transformers import AutoModel\n"
        "model = AutoModel.from_pretrained('bert-base-uncased')\n"
        "opt = torch.optim.AdamW(model.parameters())\n"
    )
    result = fix_source(code, FixOptions())
    assert "torch.optim.AdamW(param_groups_by_depth(model, 0.001))" in result.text
    unknown = code.replace("torch.optim.AdamW", "Lion")
    assert fix_source(unknown, FixOptions()).text == unknown  # no default to read


def test_file_that_does_not_parse_is_untouched(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    shutil.copy(FIXTURES / "syntax_error.py", path)
    before = path.read_bytes()
    result = run("fix", str(path))
    assert result.exit_code == 2  # as for a notebook that does not parse: an error, said once
    assert "does not parse" in result.stderr
    assert path.read_bytes() == before


def test_read_only_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    shutil.copy(FIXTURES / "plain_loop.py", path)
    path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = path.read_bytes()
    result = run("fix", str(path))
    assert result.exit_code == 2
    assert "read-only" in result.stderr
    assert path.read_bytes() == before


def test_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text("x = 1\n")
    text = source.read(path)
    path.write_text("x = 2  # edited meanwhile\n")
    with pytest.raises(WriteError, match="changed on disk"):
        write_fixed(path, b"x = 1\n", text, "x = 3\n")
    assert path.read_text() == "x = 2  # edited meanwhile\n"
    assert [p.name for p in tmp_path.iterdir()] == ["train.py"]  # no temporary file left


def test_write_keeps_the_file_mode(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text("x = 1\n")
    path.chmod(0o750)
    raw = path.read_bytes()
    write_fixed(path, raw, source.decode(raw), "x = 2\n")
    assert path.read_text() == "x = 2\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o750


def test_auto_picks_the_strategy_from_the_data_size() -> None:
    assert fix_source(_text("plain_loop.py"), FixOptions("auto", num_examples=50)).strategy == (
        "freeze"
    )
    assert fix_source(_text("plain_loop.py"), FixOptions("auto", num_examples=500)).strategy == (
        "discriminative"
    )
    assert fix_source(_text("plain_loop.py"), FixOptions("auto", num_examples=5000)).strategy == (
        "gradual"
    )
    # small_data_finetune.py makes its 40 examples plain: freeze
    assert fix_source(_text("small_data_finetune.py"), FixOptions("auto")).strategy == "freeze"


def test_freeze_also_settles_lr002() -> None:
    original = _text("small_data_finetune.py")
    fixed = fix_source(original, FixOptions("freeze")).text
    codes = {d.code for d in check_source(fixed, "t.py", CheckOptions(frozenset({"LR002"})))}
    assert codes == set()
    assert {d.code for d in check_source(original, "t.py", CheckOptions(frozenset({"LR002"})))} == {
        "LR002"
    }


BERT_HEAD = (
    "import torch\nfrom transformers import BertForSequenceClassification\n"
    'model = BertForSequenceClassification.from_pretrained("bert-base-uncased")\n'
)


def test_a_positional_lr_stays_so_later_arguments_keep_their_places() -> None:
    code = (
        BERT_HEAD + "opt = torch.optim.AdamW(model.parameters(), 2e-5, (0.9, 0.999), 1e-8, 0.01)\n"
    )
    fixed = fix_source(code, FixOptions()).text
    assert "], 2e-5, (0.9, 0.999), 1e-8, 0.01)" in fixed


def test_an_lr_with_a_comment_keeps_its_comment() -> None:
    code = BERT_HEAD + (
        "opt = torch.optim.AdamW(\n"
        "    model.parameters(),  # every parameter\n"
        "    lr=2e-5,  # from the BERT paper\n"
        "    weight_decay=0.01,\n"
        ")\n"
    )
    fixed = fix_source(code, FixOptions()).text
    assert "# from the BERT paper" in fixed
    lines = fixed.splitlines()
    opening = next(i for i, line in enumerate(lines) if line.startswith("opt = "))
    assert lines[opening + 1] == "    ["  # the list stands where the argument stood
    assert lines[opening + 3].startswith("        {")  # its groups one level deeper
    assert any(line.startswith("    ],") for line in lines)


def test_tied_lm_head_is_grouped_once_at_run_time() -> None:
    # model.cls holds the tied word embeddings: a static group for it would hold them twice
    code = (
        "import torch\nfrom transformers import AutoModelForMaskedLM\n"
        'model = AutoModelForMaskedLM.from_pretrained("bert-base-uncased")\n'
        "opt = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    result = fix_source(code, FixOptions())
    assert result.fixed and "model.cls.parameters()" not in result.text
    assert "param_groups_by_depth(model, 2e-5)" in result.text


def test_data_parallel_groups_name_the_wrapped_module() -> None:
    code = BERT_HEAD + (
        "model = torch.nn.DataParallel(model)\n"
        "opt = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
    )
    fixed = fix_source(code, FixOptions()).text
    assert "model.module.bert.embeddings.parameters()" in fixed
    assert "model.bert" not in fixed.replace("model.module.bert", "")


def test_gradual_without_an_epoch_loop_is_refused() -> None:
    code = BERT_HEAD + (
        "opt = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
        "step = 0\n"
        "while step < 100:\n"
        "    step += 1\n"
    )
    result = fix_source(code, FixOptions("gradual"))
    assert result.text == code
    assert "epoch" in result.refused[0].reason


_SPLIT_HEAD = """\
import torch
from transformers import AutoModelForSequenceClassification

def split_optimizer(net, {params}):
"""


def test_an_added_group_that_shares_its_line_is_refused_not_rewritten() -> None:
    """Replacing `if decay: opt.add_param_group(...)` with a loop would drop the test."""
    source = (
        _SPLIT_HEAD.format(params="lr, decay")
        + SPLIT_BY_KIND
        + """\
    opt = torch.optim.SGD(lists[1], lr=lr)
    if decay: opt.add_param_group({"params": lists[0], "weight_decay": decay})
    return opt

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
optimizer = split_optimizer(model, 0.01, 1e-4)
"""
    )
    result = fix_source(source, FixOptions())
    assert result.text == source
    [refusal] = result.refused
    assert "shares its line" in refusal.reason


@pytest.mark.parametrize(
    "options",
    [FixOptions(), FixOptions(decay=0.9), FixOptions(strategy="freeze")],
    ids=["discriminative", "decay", "freeze"],
)
def test_every_branch_over_split_lists_is_fixed(options: FixOptions) -> None:
    """The added groups are cut once, at the first branch's fix; the other branches' optimizers
    still take an uncut list and are fixed too (whatever arguments the cut loop carries)."""
    source = (
        _SPLIT_HEAD.format(params="kind, lr")
        + SPLIT_BY_KIND
        + """\
    if kind == "Adam":
        opt = torch.optim.Adam(lists[1], lr=lr)
    else:
        opt = torch.optim.SGD(lists[1], lr=lr, momentum=0.9)
    opt.add_param_group({"params": lists[0], "weight_decay": 1e-4})
    return opt

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
optimizer = split_optimizer(model, "SGD", 0.01)
"""
    )
    result = fix_source(source, options)
    assert (result.fixed, result.refused) == ([13, 15], [])
    assert result.text.count("params=lists[1]") == 2
    assert result.text.count("opt.add_param_group(group)") == 1
