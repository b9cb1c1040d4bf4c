"""The `lrlint` command as users drive it: exit codes, formats, noqa, configuration, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint.cli import cli
from tests.conftest import FIXTURES, ROOT

UNIFORM = textwrap.dedent(
    """\
    import torch
    from transformers import AutoModelForSequenceClassification
    model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased")
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5){noqa}
    """
)
CLEAN = "import torch\nmodel = torch.nn.Linear(2, 2)\nopt = torch.optim.SGD(model.parameters(), lr=0.1)\n"
LINE = re.compile(
    r"^(?P<path>.+?):(?:cell (?P<cell>\d+):)?(?P<line>\d+):(?P<col>\d+): (?P<code>LR\d{3}) .+$"
)


def run(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return runner.invoke(cli, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ---- exit codes and formats ------------------------------------------------------------------
def test_clean_file_exits_0(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path / "train.py", CLEAN)))
    assert result.exit_code == 0
    assert result.stdout.strip() == "All checks passed."


def test_findings_exit_1_with_ruff_style_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "train.py", UNIFORM.format(noqa=""))
    result = run("check", str(path))
    assert result.exit_code == 1
    first, summary = result.stdout.strip().splitlines()
    match = LINE.match(first)
    assert match is not None
    assert (match["path"], match["line"], match["col"], match["code"]) == (
        str(path),
        "4",
        "13",
        "LR001",
    )
    assert summary == "Found 1 problem in 1 file."


def test_exit_zero(tmp_path: Path) -> None:
    result = run("check", "--exit-zero", str(write(tmp_path / "t.py", UNIFORM.format(noqa=""))))
    assert result.exit_code == 0
    assert "LR001" in result.stdout


def test_json_format(tmp_path: Path) -> None:
    path = write(tmp_path / "t.py", UNIFORM.format(noqa=""))
    result = run("check", "--format", "json", str(path))
    assert result.exit_code == 1
    (record,) = json.loads(result.stdout)
    assert record["code"] == "LR001"
    assert record["name"] == "uniform-lr"
    assert record["filename"] == str(path)
    assert record["location"] == {"row": 4, "column": 13}
    assert "discriminative" in record["message"]


def test_json_format_when_clean_is_an_empty_list(tmp_path: Path) -> None:
    result = run("check", "--format", "json", str(write(tmp_path / "t.py", CLEAN)))
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_output_is_sorted_by_path_then_line() -> None:
    result = run("check", "--select", "ALL", str(FIXTURES))
    keys = []
    for line in result.stdout.splitlines()[:-1]:
        match = LINE.match(line)
        assert match is not None, line
        keys.append((match["path"], int(match["cell"] or 0), int(match["line"])))
    assert keys == sorted(keys)
    scripts = [*FIXTURES.glob("*.py"), *FIXTURES.glob("notebooks/*.ipynb")]
    marked = [p for p in scripts if "lrlint-expect" in p.read_text("utf-8-sig")]
    assert result.stdout.splitlines()[-1] == f"Found {len(keys)} problems in {len(marked)} files."


# ---- noqa ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("comment", "silenced"),
    [
        ("  # noqa: LR001", True),
        ("  # noqa", True),
        ("  # NOQA:LR001,LR002", True),
        ("  # noqa: LR002", False),
        ("  # a comment", False),
    ],
)
def test_noqa(tmp_path: Path, comment: str, silenced: bool) -> None:
    result = run("check", str(write(tmp_path / "t.py", UNIFORM.format(noqa=comment))))
    assert (result.exit_code == 0) is silenced
    assert ("LR001" in result.stdout) is not silenced


# ---- selection ----------------------------------------------------------------------------------
def test_select_and_ignore(tmp_path: Path) -> None:
    write(tmp_path / "t.py", UNIFORM.format(noqa=""))
    assert "LR001" in run("check", str(tmp_path), "--select", "LR001").stdout
    assert run("check", str(tmp_path), "--select", "LR009").exit_code == 0
    assert run("check", str(tmp_path), "--ignore", "LR001").exit_code == 0
    assert run("check", str(tmp_path), "--select", "LR00", "--ignore", "LR0").exit_code == 0
    assert "LR001" in run("check", str(tmp_path), "--select", "ALL").stdout


def test_opt_in_rule_needs_selecting() -> None:
    seed = str(FIXTURES / "seed_document_classifier.py")
    assert "LR009" not in run("check", seed).stdout
    assert "LR009" in run("check", seed, "--extend-select", "LR009").stdout
    assert "LR009" in run("check", seed, "--select", "ALL").stdout


def test_unknown_selector_is_a_usage_error(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path / "t.py", CLEAN)), "--select", "LR123")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert "unknown rule selector 'LR123'" in result.stderr


# ---- configuration ----------------------------------------------------------------------------
def test_config_num_examples_and_command_line_precedence(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.lrlint]\nnum-examples = 50\n")
    write(tmp_path / "src" / "train.py", UNIFORM.format(noqa=""))
    result = run("check", "src", cwd=tmp_path)
    assert "LR002" in result.stdout  # 50 examples from the config
    result = run("check", "src", "--num-examples", "500", cwd=tmp_path)
    assert "LR002" not in result.stdout  # the command line wins
    assert "LR001" in result.stdout


def test_config_select_ignore_and_precedence(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.lrlint]\nignore = ["LR001"]\n')
    write(tmp_path / "train.py", UNIFORM.format(noqa=""))
    assert run("check", ".", cwd=tmp_path).exit_code == 0
    result = run("check", ".", "--ignore", "LR009", cwd=tmp_path)  # replaces the config's ignore
    assert "LR001" in result.stdout


def test_config_exclude(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.lrlint]\nexclude = ["legacy/", "old_*.py"]\n')
    write(tmp_path / "legacy" / "train.py", UNIFORM.format(noqa=""))
    write(tmp_path / "old_train.py", UNIFORM.format(noqa=""))
    write(tmp_path / "train.py", UNIFORM.format(noqa=""))
    result = run("check", ".", cwd=tmp_path)
    assert result.exit_code == 1
    assert "legacy" not in result.stdout
    assert "old_train" not in result.stdout
    assert "train.py:4:13: LR001" in result.stdout


def test_unknown_config_key_is_a_usage_error(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", "[tool.lrlint]\nselekt = ['LR001']\n")
    write(tmp_path / "t.py", CLEAN)
    result = run("check", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert "unknown key 'selekt'" in result.stderr


def test_isolated_ignores_the_config(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.lrlint]\nignore = ["LR001"]\n')
    write(tmp_path / "train.py", UNIFORM.format(noqa=""))
    assert run("check", ".", "--isolated", cwd=tmp_path).exit_code == 1


# ---- discovery and bad input -------------------------------------------------------------------
def test_default_excludes_and_virtualenvs(tmp_path: Path) -> None:
    bad = UNIFORM.format(noqa="")
    for folder in (".git", "build", "dist", ".venv", "__pycache__", "node_modules"):
        write(tmp_path / folder / "train.py", bad)
    write(tmp_path / "my-env" / "pyvenv.cfg", "home = /usr/bin\n")
    write(tmp_path / "my-env" / "lib" / "train.py", bad)
    outside = write(tmp_path.parent / f"{tmp_path.name}-elsewhere" / "train.py", bad)
    (tmp_path / "linked-venv").symlink_to(outside.parent, target_is_directory=True)
    (tmp_path / "dangling.py").symlink_to(tmp_path / "nowhere.py")
    write(tmp_path / "train.py", bad)
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout.count("LR001") == 1, result.stdout


def test_syntax_error_is_reported_and_other_files_still_checked(tmp_path: Path) -> None:
    write(  # a training script (the prefilter parses only files that build an optimizer)
        tmp_path / "a_broken.py",
        "import torch\ndef train(model optimizer):\n    return torch.optim.AdamW(model.parameters())\n",
    )
    write(tmp_path / "b_train.py", UNIFORM.format(noqa=""))
    result = run("check", str(tmp_path))
    assert result.exit_code == 1
    assert "a_broken.py:2:" in result.stdout and "LR900" in result.stdout
    assert "b_train.py:4:13: LR001" in result.stdout


def test_non_utf8_bytes_give_a_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"import torch.optim\n# caf\xe9\n")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert "LR900" in result.stdout and "utf-8" in result.stdout


def test_a_bad_encoding_declaration_is_lr900_in_every_format(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(
        b"# caf\xe9\nimport torch\nopt = torch.optim.AdamW(model.parameters(), lr=1e-3)\n"
    )
    result = run("check", str(path))
    assert result.exit_code == 1 and "LR900" in result.stdout
    (record,) = json.loads(run("check", "--format", "json", str(path)).stdout)
    assert record["code"] == "LR900"


def test_encoding_cookie_is_honoured(tmp_path: Path) -> None:
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\nimport torch.optim\n# caf\xe9\n")
    assert run("check", str(path)).exit_code == 0


def test_empty_file_is_clean(tmp_path: Path) -> None:
    assert run("check", str(write(tmp_path / "empty.py", ""))).exit_code == 0


def test_missing_path_is_a_one_line_error(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.py"))
    assert result.exit_code == 2
    assert result.stderr == f"lrlint: error: {tmp_path / 'nope.py'}: no such file or directory\n"


def test_folder_without_python(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "no python here")
    result = run("check", str(tmp_path))
    assert result.exit_code == 0
    assert "no Python files found" in result.stderr


# ---- rules and rule pages --------------------------------------------------------------------
def test_rules_lists_every_rule() -> None:
    result = run("rules")
    assert result.exit_code == 0
    from lrlint.registry import RULES

    for rule in RULES:
        default = "on" if rule.default_enabled else "off"
        fix = "yes" if rule.fixable else "no"
        line = rf"^{rule.code}\s+{rule.name}\s+{default}\s+{fix}\s+"
        assert re.search(line, result.stdout, re.MULTILINE), rule.code


def test_rule_prints_its_page() -> None:
    result = run("rule", "lr001")
    assert result.exit_code == 0
    assert result.stdout.startswith("# LR001 uniform-lr")


def test_unknown_rule_page() -> None:
    result = run("rule", "LR777")
    assert result.exit_code == 2


# ---- the installed command ---------------------------------------------------------------------
def _lrlint(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lrlint", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_bundled_example_through_the_real_command() -> None:
    result = _lrlint("check", "fixtures")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    codes = re.findall(r": (LR\d{3}) ", result.stdout)
    assert sorted(set(codes)) == ["LR001", "LR002", "LR900"]  # LR009 is opt-in


def test_parallel_and_serial_runs_agree() -> None:
    serial = _lrlint("check", "--select", "ALL", "--jobs", "1", "fixtures")
    parallel = _lrlint("check", "--select", "ALL", "--jobs", "2", "fixtures")
    assert serial.stdout == parallel.stdout
    assert serial.returncode == parallel.returncode == 1


def test_force_exclude_covers_excluded_folders_for_pre_commit(tmp_path: Path) -> None:
    """pre-commit names each file (`legacy/train.py`); an excluded folder above it counts."""
    write(tmp_path / "pyproject.toml", '[tool.lrlint]\nexclude = ["legacy/"]\n')
    path = write(tmp_path / "legacy" / "train.py", UNIFORM.format(noqa=""))
    before = path.read_text()
    assert run("check", "--force-exclude", "legacy/train.py", cwd=tmp_path).exit_code == 0
    assert run("check", "legacy/train.py", cwd=tmp_path).exit_code == 1
    result = run("fix", "--force-exclude", "legacy/train.py", cwd=tmp_path)
    assert (result.exit_code, result.stdout.strip()) == (0, "Nothing to fix.")
    assert path.read_text() == before
    assert "fixed LR001" in run("fix", "legacy/train.py", cwd=tmp_path).stdout
