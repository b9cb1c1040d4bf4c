"""lrlint on one document's text, as `lrlint check` would check the file on disk: the rules and
`num-examples` of the `[tool.lrlint]` table nearest the document, its excludes, and `# noqa`.
Nothing here imports pygls: it is plain lrlint, so it can be tested and reused without a client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from lrlint import api, config, registry, sources
from lrlint.diagnostics import Diagnostic
from lrlint.discovery import discover
from lrlint.fix.fixer import FixOptions, FixResult
from lrlint.fix.notebooks import fix_text

FIX_STRATEGIES = ("discriminative", "freeze", "gradual")
MAX_FIX_TRIALS = 5  # LR001 sites in a file up to which each check also tries the fixes
Place = tuple[int | None, int]  # (notebook cell or None, line), as a Diagnostic places itself


@dataclass(frozen=True)
class Settings:
    config: config.Config
    error: str | None = None  # a broken pyproject.toml: checked with the defaults, and said so

    @property
    def root(self) -> Path | None:
        return self.config.root


@dataclass
class Outcome:
    """What one check of a document found."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    # (cell, line) of an LR001 -> strategy -> why `lrlint fix --strategy ...` leaves it alone
    refusals: dict[Place, dict[str, str]] = field(default_factory=dict)
    error: str | None = None  # an internal error: logged to the client, never raised
    excluded: bool = False


class SettingsCache:
    """`[tool.lrlint]` per folder, read once and again only after `forget()` (a pyproject.toml
    changed): the checks of a busy editor do not re-read TOML on every keystroke."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, Settings] = {}
        self._lock = threading.Lock()

    def for_path(self, path: Path) -> Settings:
        folder = path.parent.resolve()
        with self._lock:
            cached = self._by_folder.get(folder)
        if cached is not None:
            return cached
        settings = _read_settings(folder)
        with self._lock:
            self._by_folder[folder] = settings
        return settings

    def forget(self) -> None:
        with self._lock:
            self._by_folder.clear()


def _read_settings(folder: Path) -> Settings:
    try:
        found = config.find_pyproject(folder)
        return Settings(config.load(found) if found else config.Config())
    except config.ConfigError as exc:
        return Settings(config.Config(), error=str(exc))


def is_excluded(path: Path, settings: Settings) -> bool:
    """True for a file on disk that the project's `exclude` leaves out (as `lrlint check
    --force-exclude` does, the way pre-commit runs it)."""
    if not settings.config.exclude or not path.is_file():
        return False
    found = discover([str(path)], settings.config.exclude, settings.root, force_exclude=True)
    return not found.files


def check(text: str, path: Path, settings: Settings) -> Outcome:
    """The findings in `text` (a script, or a notebook's JSON when `path` ends in .ipynb). An
    exception inside lrlint becomes `Outcome.error`: the server reports it and keeps serving."""
    if is_excluded(path, settings):
        return Outcome(excluded=True)
    cfg = settings.config
    try:
        enabled = registry.enabled_codes(cfg.select, cfg.extend_select, cfg.ignore)
        diagnostics = api.check_source(
            text,
            str(path),
            select=sorted(enabled),
            num_examples=cfg.num_examples,
            project=True,  # a fresh read of the modules it imports: their changes are seen
        )
    except RecursionError:
        return Outcome(error="internal error: the file nests too deeply to analyse")
    except Exception as exc:  # a bug in a rule must not take the server down
        return Outcome(error=f"internal error: {type(exc).__name__}: {exc}")
    return Outcome(diagnostics)


def worth_trying_fixes(outcome: Outcome) -> bool:
    """Whether to run the fixer for `refusals` after a check: only for a few LR001 sites, since
    the fixer verifies each site by checking the whole file again (its cost grows faster than
    the number of sites: about 6 s for 20, 36 s for 50)."""
    sites = sum(d.code == "LR001" for d in outcome.diagnostics)
    return 0 < sites <= MAX_FIX_TRIALS


def fix(text: str, strategy: str, num_examples: int | None) -> FixResult:
    """`lrlint fix --strategy` on a script's text (a notebook's JSON: `fix_text`)."""
    return api.fix_source(text, strategy, num_examples=num_examples)


def refusals(text: str, path: Path, num_examples: int | None) -> dict[Place, dict[str, str]]:
    """For each LR001 place, the strategies the fixer refuses there and why."""
    found: dict[Place, dict[str, str]] = {}
    for strategy in FIX_STRATEGIES:
        if sources.is_notebook(path):
            options = FixOptions(strategy, num_examples=num_examples)
            for cell, line, why in fix_text(text, options).refused:
                found.setdefault((cell, line), {})[strategy] = why
            continue
        for refusal in fix(text, strategy, num_examples).refused:
            found.setdefault((None, refusal.line), {})[strategy] = refusal.reason
    return found
