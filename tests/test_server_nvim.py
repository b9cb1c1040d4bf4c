"""`lrlint server` in a real editor: neovim's built-in LSP client, headless, opens a script,
shows LR001 on the right line, applies the quick fix and saves a file that then checks clean.

CI installs neovim (.ci/run); elsewhere the test skips, saying why, when `nvim` is absent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lrlint import api
from tests.conftest import ROOT

NVIM = shutil.which("nvim")
SCRIPT = ROOT / "tests" / "nvim_lsp.lua"
UNIFORM = (
    "import torch\n"
    "from transformers import BertForSequenceClassification\n"
    "\n"
    'model = BertForSequenceClassification.from_pretrained("bert-base-uncased")\n'
    "opt = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
)


@pytest.mark.skipif(
    NVIM is None and not os.environ.get("CI"),
    reason="neovim is not installed (apt-get install neovim); CI installs it and runs this",
)
def test_neovim_shows_lr001_applies_the_fix_and_saves_a_clean_file(tmp_path: Path) -> None:
    assert NVIM is not None, "CI must have neovim: .ci/run installs it"
    target = tmp_path / "train.py"
    target.write_text(UNIFORM, encoding="utf-8")
    report = tmp_path / "report.txt"
    env = {
        **os.environ,
        "LRLINT_SERVER": json.dumps([sys.executable, "-m", "lrlint", "server"]),
        "LRLINT_TARGET": str(target),
        "LRLINT_REPORT": str(report),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        # neovim's state, cache (its lsp.log) and config stay in the test's folder
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    run = subprocess.run(
        [NVIM, "--headless", "--clean", "-i", "NONE", "-c", f"luafile {SCRIPT}"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    steps = report.read_text(encoding="utf-8") if report.exists() else ""
    assert run.returncode == 0, f"{steps}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    assert "diagnostic LR001 line 5: every layer of the pretrained model" in steps
    assert "chose lrlint: fix LR001 with discriminative" in steps
    assert steps.rstrip().endswith("clean"), steps
    saved = target.read_text(encoding="utf-8")
    assert saved != UNIFORM
    assert api.check_source(saved, str(target)) == []
