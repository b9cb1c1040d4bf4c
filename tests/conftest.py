from __future__ import annotations

import os
import re
import tempfile
import textwrap
from pathlib import Path

import pytest

from lrlint.engine import CheckOptions, check_source
from lrlint.registry import BY_CODE

# The tests must not read or fill the user's cache (~/.cache/lrlint); subprocesses inherit this.
os.environ["LRLINT_CACHE_DIR"] = tempfile.mkdtemp(prefix="lrlint-test-cache-")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ALL_CODES = frozenset(BY_CODE)
_EXPECT = re.compile(r"#\s*lrlint-expect:\s*([A-Z0-9, ]+)")

# YOLO's `smart_optimizer` shape, as the body of a module-level function over `net`: biases in
# `lists[1]`, every other parameter in `lists[0]` (the split-lists idiom and its fix)
SPLIT_BY_KIND = """\
    lists = [], []
    for module in net.modules():
        for name, p in module.named_parameters(recurse=False):
            if name == "bias":
                lists[1].append(p)
            else:
                lists[0].append(p)
"""


def findings(
    code: str, select: frozenset[str] = ALL_CODES, num_examples: int | None = None
) -> set[tuple[int, str]]:
    """(line, code) of every finding in a snippet, with every rule enabled by default."""
    text = textwrap.dedent(code).lstrip("\n")
    result = check_source(text, "snippet.py", CheckOptions(select, num_examples))
    return {(d.line, d.code) for d in result}


def expected(code: str) -> set[tuple[int, str]]:
    """(line, code) for every `# lrlint-expect: LR001` marker in a snippet or file."""
    text = textwrap.dedent(code).lstrip("\n")
    marks = set()
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            marks |= {(number, c.strip()) for c in match.group(1).split(",") if c.strip()}
    return marks


def assert_marked(snippet: str, select: frozenset[str]) -> None:
    """A snippet's findings are exactly its `# lrlint-expect:` markers (and it has some)."""
    marks = expected(snippet)
    assert marks, "a snippet that fires must mark where it is reported"
    assert findings(snippet, select) == marks


@pytest.fixture
def lint():
    return findings
