"""The project's own code is ruff-clean (lint and format), checked with the tests so CI holds it."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import ROOT

RUFF = shutil.which("ruff")


@pytest.mark.skipif(RUFF is None, reason="ruff comes with the test extra: pip install -e .[test]")
@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(command: list[str]) -> None:
    result = subprocess.run([RUFF, *command], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
