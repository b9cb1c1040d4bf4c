"""The bundled training scripts: every finding is where a `# lrlint-expect:` marker says, and
nowhere else (all rules selected)."""

from __future__ import annotations

import pytest

from lrlint.engine import CheckOptions, check_file
from lrlint.sources import text as source
from tests.conftest import ALL_CODES, FIXTURES, expected

SCRIPTS = sorted(FIXTURES.glob("*.py"))


def test_the_fixture_set_is_complete() -> None:
    names = {path.stem for path in SCRIPTS}
    for required in (
        "plain_loop",
        "trainer_script",
        "lightning_module",
        "accelerate_script",
        "seed_document_classifier",
        "from_scratch",
        "inference_only",
        "not_ml",
        "syntax_error",
        "crlf_bom_korean",
    ):
        assert required in names


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_findings_match_the_markers(path) -> None:
    text = source.read(path).text
    result = check_file(str(path), CheckOptions(ALL_CODES))
    assert result.error is None
    assert {(d.line, d.code) for d in result.diagnostics} == expected(text)


def test_crlf_bom_fixture_really_has_both() -> None:
    raw = (FIXTURES / "crlf_bom_korean.py").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\r\n") == raw.count(b"\n") > 10
    assert "학습" in raw.decode("utf-8-sig")


def test_column_is_not_shifted_by_the_bom() -> None:
    result = check_file(str(FIXTURES / "crlf_bom_korean.py"), CheckOptions(frozenset({"LR001"})))
    (diagnostic,) = result.diagnostics
    line = source.read(FIXTURES / "crlf_bom_korean.py").text.splitlines()[diagnostic.line - 1]
    assert line[diagnostic.col - 1 :].startswith("AdamW(")
