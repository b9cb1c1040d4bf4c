"""The Python API for tools and editors: `lrlint.check_source` and `lrlint.fix_source`.

    >>> import lrlint
    >>> findings = lrlint.check_source(code, path="train.py")
    >>> [f"{d.line}:{d.col} {d.code}" for d in findings]
    >>> result = lrlint.fix_source(code, strategy="discriminative")
    >>> result.text, result.fixed, result.refused

Both take text and return values; neither reads configuration nor writes a file, and
`check_source` reads other files only when asked to (`project=True`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from lrlint import registry
from lrlint.diagnostics import Diagnostic

if TYPE_CHECKING:
    from lrlint.fix.fixer import FixResult

Selector = str | Iterable[str] | None


def check_source(
    code: str,
    path: str = "<string>",
    *,
    select: Selector = None,
    extend_select: Selector = None,
    ignore: Selector = None,
    num_examples: int | None = None,
    project: bool = False,
    overlays: Mapping[str, str] | None = None,
) -> list[Diagnostic]:
    """The findings in one file's text, sorted, with `# noqa` applied.

    `path` names the file in the findings; a path ending in `.ipynb` means `code` is a notebook's
    JSON, and each finding then has its `cell` (1-based over all cells) and the line in that cell.
    `select`, `extend_select` and `ignore` take codes or prefixes (`"LR001,LR002"`, `["LR00"]`,
    `"ALL"`) as on the command line; the default is the rules that are on by default.
    `num_examples` is the number of labelled examples, for LR002.
    With `project=True`, the other modules of the file's project that its setup imports are
    read from disk (or from `overlays`, unsaved texts by path), as `lrlint check` reads them;
    by default nothing but `code` is read.
    Raises ValueError for an unknown rule selector.
    """
    from lrlint import engine, sources

    enabled = registry.enabled_codes(
        _selectors(select) if select is not None else None,
        _selectors(extend_select) or (),
        _selectors(ignore) or (),
    )
    options = engine.CheckOptions(enabled, num_examples)
    try:
        unit = sources.from_text(code, path)
    except sources.SourceError as exc:  # JSON that is not a notebook
        if registry.PARSE_ERROR not in enabled:
            return []
        return [Diagnostic(path, exc.line, exc.col, registry.PARSE_ERROR, str(exc))]
    if not project:
        return engine.check_unit(unit, options)
    from lrlint.project.modules import Project

    return engine.check_unit(unit, options, Project(overlays))


def fix_source(
    code: str,
    strategy: str = "discriminative",
    *,
    decay: float | None = None,
    layers: int | None = None,
    num_examples: int | None = None,
) -> FixResult:
    """Rewrite every LR001 site of one Python file's text, as `lrlint fix` does.

    `strategy` is "discriminative", "freeze", "gradual" or "auto" (which picks by
    `num_examples`); `decay` asks for per-layer geometric decay, `layers` for how many blocks
    `freeze` freezes. The result has `text` (unchanged when nothing could be fixed safely),
    `fixed` (the original lines that were fixed), `refused` (line and reason for each site left
    alone), `strategy` and `changed`. Raises ValueError for an unknown strategy or decay.
    """
    from lrlint.fix.fixer import STRATEGIES, FixOptions
    from lrlint.fix.fixer import fix_source as fix

    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r} (one of {', '.join(STRATEGIES)})")
    if decay is not None and not 0.0 < decay <= 1.0:
        raise ValueError(f"decay must be in (0, 1], not {decay}")
    return fix(code, FixOptions(strategy, decay, layers, num_examples))


def _selectors(value: Selector) -> tuple[str, ...] | None:
    if value is None:
        return None
    parts = value.split(",") if isinstance(value, str) else list(value)
    return tuple(part.strip() for part in parts if part.strip())
