"""lrlint as a flake8 plugin, driven through the real flake8 command."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("flake8") is None, reason="flake8 comes with the test extra"
)

BAD = """\
import torch
from transformers import AutoModelForSequenceClassification

model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.01)
"""


def flake8(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_entry_point_is_registered() -> None:
    (entry,) = [e for e in entry_points(group="flake8.extension") if e.name == "LR"]
    assert entry.value == "lrlint.flake8_plugin:LrlintChecker"


def test_flake8_select_lr_reports_lr001(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD)
    result = flake8("--select", "LR001", "train.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (line,) = result.stdout.splitlines()
    assert re.match(r"^train\.py:5:13: LR001 every layer of the pretrained model", line)


def test_plain_flake8_runs_the_default_rules_and_select_lr_all(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD)
    default = flake8("train.py", cwd=tmp_path).stdout
    assert ": LR001 " in default and ": LR006 " not in default  # LR006 is opt-in
    assert ": E" not in default  # the script is pycodestyle-clean
    everything = flake8("--select", "LR", "train.py", cwd=tmp_path).stdout
    assert ": LR001 " in everything and ": LR006 " in everything  # as `lrlint check --select LR`
    extended = flake8("--extend-select", "LR006", "train.py", cwd=tmp_path).stdout
    assert ": LR006 " in extended


def test_noqa_and_num_examples(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text(BAD.replace("0.01)\n", "0.01)  # noqa: LR001\n"))
    assert flake8("--select", "LR001", "train.py", cwd=tmp_path).returncode == 0
    (tmp_path / "small.py").write_text(BAD)
    small = flake8("--select", "LR002", "--lrlint-num-examples", "40", "small.py", cwd=tmp_path)
    assert re.search(r"^small\.py:4:\d+: LR002 ", small.stdout, re.MULTILINE), small.stdout


def test_a_file_flake8_cannot_parse_is_e999_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import torch.optim\ndef f(a b):\n    pass\n")
    result = flake8("--select", "LR,E999", "broken.py", cwd=tmp_path)
    assert "E999" in result.stdout and "LR" not in result.stdout
    assert "Traceback" not in result.stderr
