"""Each registered rule has a page in rules/ whose bad example fires and whose good example is
clean, so the documentation cannot drift from the code."""

from __future__ import annotations

import re

import pytest

from lrlint.docs import page, pages_dir
from lrlint.engine import CheckOptions, check_source
from lrlint.registry import RULES, enabled_codes
from tests.conftest import ALL_CODES

_HEADINGS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead")


def _block(text: str, heading: str) -> str:
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1, f"exactly one python block under {heading!r}"
    return blocks[0]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_page_exists_with_the_sections(rule) -> None:
    text = page(rule.code)
    assert text is not None, f"rules/{rule.code}.md is missing"
    assert text.startswith(f"# {rule.code} {rule.name}\n")
    for heading in _HEADINGS:
        assert heading in text


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_bad_example_fires(rule) -> None:
    code = _block(page(rule.code), "## Example")
    codes = {d.code for d in check_source(code, f"{rule.code}-bad.py", CheckOptions(ALL_CODES))}
    assert rule.code in codes


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_good_example_is_clean(rule) -> None:
    """Clean for the page's own rule and every rule on by default (an opt-in rule such as
    LR006 may rightly have an opinion about another page's good example)."""
    code = _block(page(rule.code), "## Use instead")
    enabled = enabled_codes(None, (rule.code,), ())
    assert check_source(code, f"{rule.code}-good.py", CheckOptions(enabled)) == []


def test_no_page_for_an_unregistered_rule() -> None:
    registered = {rule.code for rule in RULES}
    pages = {path.stem for path in pages_dir().glob("LR*.md")}
    assert pages == registered
