"""The result cache: unchanged files are not checked again, changed ones always are, and a
different configuration never reads another's results."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint import engine
from lrlint.cache import Cache
from lrlint.cli import cli
from lrlint.engine import CheckOptions, check_files
from tests.conftest import FIXTURES

OPTIONS = CheckOptions(frozenset({"LR001", "LR002", "LR900"}))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("plain_loop.py", "from_scratch.py", "syntax_error.py"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def _files(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("*.py"))


def _settings() -> list[object]:
    return ["test", sorted(OPTIONS.enabled), OPTIONS.num_examples]


def test_warm_run_reads_the_cache_and_finds_the_same(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path_factory.mktemp("cache")
    cold = check_files(_files(project), OPTIONS, 1, Cache(_settings(), directory))
    assert any(r.diagnostics for r in cold)
    checked: list[str] = []
    monkeypatch.setattr(engine, "check_file", lambda p, o: checked.append(p))
    warm = check_files(_files(project), OPTIONS, 1, Cache(_settings(), directory))
    assert checked == []  # nothing was checked again
    assert [r.diagnostics for r in warm] == [r.diagnostics for r in cold]


def test_a_changed_file_is_checked_again(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("cache")
    check_files(_files(project), OPTIONS, 1, Cache(_settings(), directory))
    script = project / "plain_loop.py"
    script.write_text(script.read_text().replace("lr=2e-5", "lr=3e-5"))
    warm = check_files([str(script)], OPTIONS, 1, Cache(_settings(), directory))
    assert "lr=3e-05" in warm[0].diagnostics[0].message


def test_a_touched_but_unchanged_file_is_recognised_by_its_content(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path_factory.mktemp("cache")
    check_files(_files(project), OPTIONS, 1, Cache(_settings(), directory))
    script = project / "plain_loop.py"
    os.utime(script, ns=(1, 1))  # a new modification time, the same bytes
    checked: list[str] = []
    monkeypatch.setattr(engine, "check_file", lambda p, o: checked.append(p))
    check_files([str(script)], OPTIONS, 1, Cache(_settings(), directory))
    assert checked == []


def test_other_settings_use_another_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    directory = tmp_path_factory.mktemp("cache")
    assert (
        Cache(["check", ["LR001"], None], directory).path
        != Cache(["check", ["LR001"], 50], directory).path
    )


def test_cli_no_cache_writes_nothing(
    project: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("LRLINT_CACHE_DIR", str(directory))
    runner = CliRunner()
    first = runner.invoke(cli, ["check", "--no-cache", str(project)])
    assert list(directory.iterdir()) == []
    second = runner.invoke(cli, ["check", str(project)])
    third = runner.invoke(cli, ["check", str(project)])
    assert len(list(directory.iterdir())) == 1
    assert first.stdout == second.stdout == third.stdout
    assert first.exit_code == second.exit_code == third.exit_code == 1
