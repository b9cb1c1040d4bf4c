"""What a person at a terminal sees: colour and a source frame with a caret on a terminal, plain
lines when piped, NO_COLOR respected, a progress bar for big runs, and a coloured fix diff."""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint.cli import PROGRESS_THRESHOLD, cli
from lrlint.reporting.style import use_color
from tests.conftest import FIXTURES, ROOT

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
UNIFORM = (
    "import torch\n"
    "from transformers import AutoModel\n"
    'model = AutoModel.from_pretrained("bert-base-uncased")\n'
    "{target} = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
)


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def write(tmp_path: Path, text: str, name: str = "train.py") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- when colour is on -----------------------------------------------------------------------
class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("choice", "tty", "env", "expected"),
    [
        ("auto", True, {}, True),
        ("auto", False, {}, False),
        ("auto", True, {"NO_COLOR": "1"}, False),
        ("auto", True, {"NO_COLOR": ""}, True),  # an empty NO_COLOR does not count
        ("auto", True, {"TERM": "dumb"}, False),
        ("auto", False, {"FORCE_COLOR": "1"}, True),
        ("always", False, {"NO_COLOR": "1"}, True),  # an explicit flag wins
        ("never", True, {}, False),
    ],
)
def test_use_color(
    monkeypatch, choice: str, tty: bool, env: dict[str, str], expected: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR", "TERM"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert use_color(choice, _Stream(tty)) is expected


# ---- the frame -------------------------------------------------------------------------------
def test_piped_output_is_plain(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, UNIFORM.format(target="optimizer"))))
    assert not ANSI.search(result.stdout)
    assert "|" not in result.stdout and "^" not in result.stdout


def test_colour_and_frame_on_request(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="optimizer"))
    result = run("check", "--color", "always", "--show-source", str(path))
    assert ANSI.search(result.stdout)
    plain = ANSI.sub("", result.stdout).splitlines()
    assert plain[0].startswith(f"{path}:4:13: LR001 ")
    assert plain[1:4] == [
        "  |",
        "4 | optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)",
        "  |             ^^^^^^^^^^^^^^^^^",
    ]
    assert plain[-1] == "Found 1 problem in 1 file."


def test_caret_under_wide_characters_and_tabs(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="최적화"))
    lines = run("check", "--show-source", str(path)).stdout.splitlines()
    assert lines[2] == "4 | 최적화 = torch.optim.AdamW(model.parameters(), lr=2e-5)"
    assert lines[3] == "  |" + " " * 10 + "^" * 17  # three wide characters take six columns
    tabbed = UNIFORM.format(target="optimizer").replace("optimizer =", "def f():\n\topt =")
    lines = run(
        "check", "--show-source", str(write(tmp_path, tabbed, "tabs.py"))
    ).stdout.splitlines()
    assert lines[2] == "5 |     opt = torch.optim.AdamW(model.parameters(), lr=2e-5)"
    assert lines[3].index("^") == lines[2].index("torch")


def test_frame_for_a_notebook_quotes_the_cell() -> None:
    path = FIXTURES / "notebooks" / "finetune_sst2.ipynb"
    lines = run("check", "--show-source", str(path)).stdout.splitlines()
    assert lines[0].startswith(f"{path}:cell 8:3:13: LR001")
    assert lines[2].startswith("3 | optimizer = AdamW(model.parameters(), lr=2e-5)")
    assert lines[3] == "  |             ^^^^^"


def test_no_show_source_and_never(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="optimizer"))
    result = run("check", "--color", "never", "--no-show-source", str(path))
    assert len(result.stdout.splitlines()) == 2 and not ANSI.search(result.stdout)


# ---- a real terminal -------------------------------------------------------------------------
def _on_a_terminal(args: list[str], env: dict[str, str], stream: str = "stdout") -> tuple[str, str]:
    """Run `python -m lrlint ARGS` with stdout (or stderr) on a pseudo-terminal; return what the
    terminal showed and what went to the pipe."""
    primary, secondary = pty.openpty()
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    pipes[stream] = secondary
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    full_env.update(env, TERM="xterm", COLUMNS="120")
    process = subprocess.Popen(
        [sys.executable, "-m", "lrlint", *args], cwd=ROOT, env=full_env, **pipes
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal closed
            break
        if not chunk:
            break
        shown += chunk
    other = process.communicate()[0 if stream == "stderr" else 1]
    os.close(primary)
    return shown.decode("utf-8").replace("\r\n", "\n"), other.decode("utf-8")


def test_a_real_terminal_gets_colour_and_frames(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="optimizer"))
    shown, _ = _on_a_terminal(["check", str(path)], {})
    assert ANSI.search(shown)
    assert "^^^^^" in shown and "4 |" in ANSI.sub("", shown)


def test_no_color_on_a_real_terminal_keeps_the_frame(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="optimizer"))
    shown, _ = _on_a_terminal(["check", str(path)], {"NO_COLOR": "1"})
    assert not ANSI.search(shown)
    assert "4 | optimizer = torch.optim.AdamW" in shown


def test_progress_bar_on_a_terminal_for_many_files(tmp_path: Path) -> None:
    for number in range(PROGRESS_THRESHOLD + 20):
        write(tmp_path, f"x = {number}\n", f"util_{number}.py")
    write(tmp_path, UNIFORM.format(target="optimizer"), "train.py")
    shown, stdout = _on_a_terminal(["check", "--jobs", "2", str(tmp_path)], {}, stream="stderr")
    assert "Checking" in shown and f"{PROGRESS_THRESHOLD + 21}/{PROGRESS_THRESHOLD + 21}" in shown
    assert stdout.count("LR001") == 1 and "Checking" not in stdout
    piped = subprocess.run(
        [sys.executable, "-m", "lrlint", "check", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.stderr == "" and piped.stdout == stdout


# ---- lrlint fix ------------------------------------------------------------------------------
def test_fix_diff_in_colour(tmp_path: Path) -> None:
    path = write(tmp_path, UNIFORM.format(target="optimizer"))
    coloured = run("fix", "--diff", "--color", "always", str(path)).stdout
    assert "\x1b[31m-optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)" in coloured
    assert "\x1b[32m+optimizer = torch.optim.AdamW([" in coloured
    plain = run("fix", "--diff", str(path)).stdout
    assert not ANSI.search(plain) and ANSI.sub("", coloured) == plain
