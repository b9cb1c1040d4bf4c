"""The cheap text test that decides which files are worth parsing (LibCST parses ~0.6 MB/s)."""

from __future__ import annotations

import re

from lrlint.analysis.catalog import PREFILTER_TOKENS

_MAY_MATTER = re.compile("|".join(re.escape(token) for token in PREFILTER_TOKENS))


def may_have_findings(text: str) -> bool:
    return _MAY_MATTER.search(text) is not None
