"""The Python API: `lrlint.check_source` and `lrlint.fix_source`, loaded lazily."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lrlint
from tests.conftest import FIXTURES

BAD = (FIXTURES / "plain_loop.py").read_text("utf-8")


def test_check_source() -> None:
    (finding,) = lrlint.check_source(BAD, path="train.py")
    assert (finding.path, finding.line, finding.col, finding.code) == ("train.py", 45, 17, "LR001")
    assert finding.cell is None and "discriminative" in finding.message


def test_check_source_selection() -> None:
    codes = {d.code for d in lrlint.check_source(BAD, select="ALL")}
    assert codes == {"LR001", "LR006"}
    assert lrlint.check_source(BAD, ignore=["LR001"]) == []
    assert {d.code for d in lrlint.check_source(BAD, extend_select="LR006")} == {"LR001", "LR006"}
    assert {d.code for d in lrlint.check_source(BAD, num_examples=40)} == {"LR001", "LR002"}
    with pytest.raises(ValueError, match="unknown rule selector"):
        lrlint.check_source(BAD, select="LR777")


def test_check_source_of_a_notebook() -> None:
    text = (FIXTURES / "notebooks" / "finetune_sst2.ipynb").read_text("utf-8")
    (finding,) = lrlint.check_source(text, path="finetune_sst2.ipynb")
    assert (finding.cell, finding.line, finding.col, finding.code) == (8, 3, 13, "LR001")
    (broken,) = lrlint.check_source("{", path="x.ipynb")
    assert broken.code == "LR900"


def test_fix_source() -> None:
    result = lrlint.fix_source(BAD)
    assert result.changed and result.fixed == [45] and not result.refused
    assert lrlint.check_source(result.text) == []
    frozen = lrlint.fix_source(BAD, strategy="freeze", layers=4)
    assert "requires_grad" in frozen.text
    unchanged = lrlint.fix_source("print(1)\n")
    assert not unchanged.changed and unchanged.text == "print(1)\n"
    with pytest.raises(ValueError, match="unknown strategy"):
        lrlint.fix_source(BAD, strategy="slow")


def test_the_api_is_listed() -> None:
    assert {"check_source", "fix_source", "__version__"} <= set(dir(lrlint))
    with pytest.raises(AttributeError):
        lrlint.no_such_thing  # noqa: B018


def _loaded_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_import_lrlint_is_light() -> None:
    loaded = _loaded_after("import lrlint")
    assert not loaded & {"libcst", "click", "torch", "lrlint.engine", "lrlint.api"}


def test_the_api_loads_libcst_only_for_code_that_needs_it() -> None:
    loaded = _loaded_after("import lrlint\nlrlint.check_source('import numpy\\n')")
    assert "lrlint.api" in loaded and "libcst" not in loaded
    loaded = _loaded_after(f"import lrlint\nlrlint.check_source({BAD!r})")
    assert "libcst" in loaded and "torch" not in loaded
