"""SARIF 2.1.0, the format GitHub code scanning and other CI dashboards read: the tool with every
rule's metadata (its page from `rules/` as help), and one result per finding.

A notebook finding points at the .ipynb line that holds the code (what GitHub can show), and
says the cell, line and column in its message and properties. Fixes are not included: they are
whole-statement rewrites that `lrlint fix` verifies before writing, not patches to paste.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path, PurePath

from lrlint import __version__
from lrlint.diagnostics import Diagnostic
from lrlint.docs import page
from lrlint.registry import BY_CODE, RULES
from lrlint.reporting import severity
from lrlint.reporting.sources import Sources

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT = "%SRCROOT%"


def render(diagnostics: Sequence[Diagnostic], sources: Sources | None = None) -> str:
    sources = sources or Sources()
    index = {rule.code: number for number, rule in enumerate(RULES)}
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "lrlint",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_rule(rule.code) for rule in RULES],
            }
        },
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {ROOT: {"uri": Path.cwd().resolve().as_uri() + "/"}},
        "results": [_result(d, index, sources) for d in diagnostics],
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(code: str) -> dict[str, object]:
    info = BY_CODE[code]
    text = page(code) or ""
    rule: dict[str, object] = {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": _section(text, "What it does") or info.summary},
        "defaultConfiguration": {
            "enabled": info.default_enabled,
            "level": severity(code),
        },
        "properties": {"tags": ["fine-tuning", "optimizer"], "fixable": info.fixable},
    }
    if text:
        rule["help"] = {"text": text, "markdown": text}
    return rule


def _section(text: str, heading: str) -> str:
    """A rule page's section as plain text: its first paragraph."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?:\n\n|\n## |\Z)", text, re.M | re.S)
    return " ".join(match.group(1).split()) if match else ""


def _result(d: Diagnostic, index: dict[str, int], sources: Sources) -> dict[str, object]:
    region: dict[str, int] = {"startLine": sources.file_line(d)}
    message = d.message
    properties: dict[str, object] = {}
    if d.cell is None:
        region["startColumn"] = d.col
    else:
        message = f"cell {d.cell}, line {d.line}, column {d.col}: {d.message}"
        properties = {"cell": d.cell, "cellLine": d.line, "cellColumn": d.col}
    location = {"physicalLocation": {"artifactLocation": _artifact(d.path), "region": region}}
    result: dict[str, object] = {
        "ruleId": d.code,
        "level": severity(d.code),
        "message": {"text": message},
        "locations": [location],
    }
    if d.code in index:
        result["ruleIndex"] = index[d.code]
    if properties:
        result["properties"] = properties
    return result


def _artifact(path: str) -> dict[str, str]:
    """A path relative to the working directory (the checkout, in CI), else a file URI."""
    pure = PurePath(path)
    if pure.is_absolute():
        resolved = Path(path).resolve()
        try:
            relative = resolved.relative_to(Path.cwd().resolve())
        except ValueError:
            return {"uri": resolved.as_uri()}
        return {"uri": relative.as_posix(), "uriBaseId": ROOT}
    return {"uri": pure.as_posix().removeprefix("./"), "uriBaseId": ROOT}
