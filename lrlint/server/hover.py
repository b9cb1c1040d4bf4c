"""Hover on a finding: the rule's code, name and summary, the "Why is this bad?" section of
its page, and a link to the whole page."""

from __future__ import annotations

from lrlint import registry
from lrlint.docs import page
from lrlint.server.conversion import rule_url


def why(code: str) -> str | None:
    """The rule page's "Why is this bad?" section, without its heading."""
    text = page(code)
    if text is None:
        return None
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.startswith("## ") and "why" in line.lower():
            body = []
            for following in lines[index + 1 :]:
                if following.startswith("## "):
                    break
                body.append(following)
            return "\n".join(body).strip() or None
    return None


def markdown(code: str, message: str | None = None) -> str:
    info = registry.BY_CODE.get(code)
    if info is None:
        return f"**{code}**"
    parts = [f"**{code}** `{info.name}`: {info.summary}"]
    if message:
        parts.append(message)
    reason = why(code)
    if reason:
        parts.append(f"**Why is this bad?**\n\n{reason}")
    parts.append(f"[{code}: the rule's page]({rule_url(code)})")
    return "\n\n".join(parts)
