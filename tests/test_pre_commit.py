"""The pre-commit hooks, driven through the real `pre-commit` tool: `try-repo` installs lrlint
from a git commit of this working tree into a fresh hook environment (PyPI for libcst and click,
never torch) and runs it on a project holding a bad training script and a notebook."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pre_commit") is None or shutil.which("git") is None,
    reason="needs git and pre-commit (in the test extra)",
)
# What installing lrlint from a checkout reads (pyproject.toml's wheel and readme settings).
SHIPPED = ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml", "lrlint", "rules")


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", "-c", "user.name=lrlint", "-c", "user.email=lrlint@example.com",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, check=True, capture_output=True,
    )  # fmt: skip


def _snapshot(destination: Path) -> Path:
    """This working tree, uncommitted changes included, as a one-commit git repository."""
    destination.mkdir()
    for name in SHIPPED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(source, destination / name)
    _git("init", "-q", cwd=destination)
    _git("add", "-A", cwd=destination)
    _git("commit", "-q", "-m", "snapshot", cwd=destination)
    return destination


def _pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PRE_COMMIT", "GIT_"))}
    env.update(PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", *args],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip


def test_hooks_fail_on_lr001_then_fix_then_pass(tmp_path: Path) -> None:
    repo = _snapshot(tmp_path / "lrlint")
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy2(FIXTURES / "plain_loop.py", project / "train.py")
    shutil.copy2(FIXTURES / "notebooks" / "finetune_sst2.ipynb", project / "finetune.ipynb")
    (project / "utils.py").write_text("def add(a, b):\n    return a + b\n")
    _git("init", "-q", cwd=project)
    _git("add", "-A", cwd=project)
    home = tmp_path / "pre-commit-home"

    check = _pre_commit("try-repo", str(repo), "lrlint", "--all-files", cwd=project, home=home)
    output = check.stdout + check.stderr
    assert check.returncode == 1, output
    assert "train.py:45:17: LR001 " in output
    assert "finetune.ipynb:cell 8:3:13: LR001 " in output
    assert "Found 2 problems in 2 files." in output

    fix = _pre_commit("try-repo", str(repo), "lrlint-fix", "--all-files", cwd=project, home=home)
    output = fix.stdout + fix.stderr
    assert fix.returncode == 1, output  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in output
    assert "train.py:45: fixed LR001 (discriminative)" in output
    assert "finetune.ipynb:cell 8:3: fixed LR001 (discriminative)" in output
    assert '"outputs"' in (project / "finetune.ipynb").read_text("utf-8")

    again = _pre_commit("try-repo", str(repo), "lrlint", "--all-files", cwd=project, home=home)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Passed" in again.stdout


def test_hook_environment_has_no_torch(tmp_path: Path) -> None:
    repo = _snapshot(tmp_path / "lrlint")
    project = tmp_path / "project"
    project.mkdir()
    _git("init", "-q", cwd=project)
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {repo}\n  rev: {revision}\n  hooks:\n  - id: lrlint\n  - id: lrlint-fix\n"
    )
    home = tmp_path / "pre-commit-home"
    result = _pre_commit("install-hooks", cwd=project, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    (site,) = home.glob("repo*/py_env-*/lib/python*/site-packages")
    installed = {path.name.split("-")[0].lower() for path in site.iterdir()}
    assert {"lrlint", "libcst", "click"} <= installed
    assert not installed & {"torch", "transformers", "lightning", "accelerate"}
