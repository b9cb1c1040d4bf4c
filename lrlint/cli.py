"""The `lrlint` command. Exit codes: 0 clean, 1 findings, 2 usage or internal error."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lrlint import __version__, registry

if TYPE_CHECKING:
    from lrlint.config import Config
    from lrlint.diagnostics import Diagnostic
    from lrlint.engine import CheckOptions, FileResult

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Above this many files, a terminal gets a progress bar on stderr.
PROGRESS_THRESHOLD = 300
_COLOR_HELP = "Colour: auto (on a terminal, unless NO_COLOR is set), always or never."


def _codes(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _error(message: str) -> None:
    click.echo(f"lrlint: error: {message}", err=True)


def _configuration_options(command: Callable[..., None]) -> Callable[..., None]:
    """--config, --isolated and --force-exclude, the same for `check` and `fix`."""
    options = (
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False, exists=True),
            help="Read [tool.lrlint] from this pyproject.toml instead of the nearest one.",
        ),
        click.option("--isolated", is_flag=True, help="Ignore every configuration file."),
        click.option(
            "--force-exclude",
            is_flag=True,
            help="Apply excludes to files named on the command line too (for pre-commit).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lrlint")
def cli() -> None:
    """A linter for the optimizer setup of fine-tuning scripts."""


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", help="Rules to enable, replacing the defaults (codes, prefixes or ALL).")
@click.option("--extend-select", help="Rules to enable on top of the selection (e.g. LR009).")
@click.option("--ignore", help="Rules to disable (codes or prefixes).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "sarif", "github"]),
    default="text",
    show_default=True,
    help="Output format: text, json (ruff's shape), sarif (SARIF 2.1.0, for code scanning) or "
    "github (GitHub Actions annotations).",
)
@click.option(
    "--statistics", is_flag=True, help="Count the findings per rule instead of listing them."
)
@click.option(
    "--color",
    "color_choice",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help=_COLOR_HELP,
)
@click.option(
    "--show-source/--no-show-source",
    default=None,
    help="Quote each reported line with a caret under the place (default: on a terminal).",
)
@click.option(
    "--num-examples",
    type=click.IntRange(min=0),
    help="How many labelled examples the fine-tuning uses (for LR002).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@_configuration_options
@click.option(
    "--jobs", "-j", type=click.IntRange(min=1), help="Worker processes (default: all cores)."
)
@click.option(
    "--no-cache",
    is_flag=True,
    help="Check every file again instead of reusing results for unchanged files "
    "(the cache lives in $LRLINT_CACHE_DIR, else ~/.cache/lrlint).",
)
def check(
    paths: tuple[str, ...],
    select: str | None,
    extend_select: str | None,
    ignore: str | None,
    output_format: str,
    statistics: bool,
    color_choice: str,
    show_source: bool | None,
    num_examples: int | None,
    exit_zero: bool,
    config_path: str | None,
    isolated: bool,
    force_exclude: bool,
    jobs: int | None,
    no_cache: bool,
) -> None:
    """Check training scripts (files or folders; default: the current folder)."""
    from lrlint import config as config_module
    from lrlint.discovery import discover
    from lrlint.engine import CheckOptions

    targets = paths or (".",)
    if statistics and output_format in ("sarif", "github"):
        _error(f"--statistics works with --format text or json, not {output_format}")
        sys.exit(EXIT_ERROR)
    try:
        settings = _settings(targets, config_path, isolated)
        enabled = registry.enabled_codes(
            _codes(select) if select is not None else settings.select,
            _codes(extend_select) or settings.extend_select,
            _codes(ignore) if ignore is not None else settings.ignore,
        )
    except (config_module.ConfigError, registry.SelectorError) as exc:
        _error(str(exc))
        sys.exit(EXIT_ERROR)

    found_files = discover(targets, settings.exclude, settings.root, force_exclude)
    for missing in found_files.missing:
        _error(f"{missing}: no such file or directory")
    if not found_files.files and not found_files.missing:
        click.echo("warning: no Python files found under the given paths (.py, .ipynb)", err=True)

    options = CheckOptions(
        enabled=enabled,
        num_examples=num_examples if num_examples is not None else settings.num_examples,
    )
    results = _check_with_progress(found_files.files, options, jobs, not no_cache)
    diagnostics = sorted(d for result in results for d in result.diagnostics)
    failed = [result for result in results if result.error is not None]
    for result in failed:
        _error(f"{result.path}: {result.error}")
    _report(diagnostics, output_format, statistics, color_choice, show_source)

    if failed or found_files.missing:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if diagnostics and not exit_zero else EXIT_CLEAN)


def _check_with_progress(
    files: list[str], options: CheckOptions, jobs: int | None, use_cache: bool
) -> list[FileResult]:
    """check_files, with a progress bar on stderr when it is a terminal and there are many
    files (a pipe or a CI log gets no bar), and the cache unless --no-cache."""
    from lrlint.engine import check_files
    from lrlint.reporting.style import is_terminal

    cache = None
    if use_cache:
        from lrlint.cache import Cache

        cache = Cache(["check", sorted(options.enabled), options.num_examples])
    if len(files) <= PROGRESS_THRESHOLD or not is_terminal(sys.stderr):
        return check_files(files, options, jobs, cache)
    with click.progressbar(
        length=len(files), label="Checking", file=sys.stderr, show_pos=True, show_eta=True
    ) as bar:
        return check_files(files, options, jobs, cache, progress=bar.update)


def _report(
    diagnostics: list[Diagnostic],
    output_format: str,
    statistics: bool,
    color_choice: str,
    show_source: bool | None,
) -> None:
    from lrlint.reporting import github, json_format, sarif, text
    from lrlint.reporting.style import Style, is_terminal, use_color

    if output_format == "json":
        rendered = (json_format.statistics if statistics else json_format.render)(diagnostics)
        click.echo(rendered, nl=False)
    elif output_format == "sarif":
        click.echo(sarif.render(diagnostics), nl=False)
    elif output_format == "github":
        click.echo(github.render(diagnostics), nl=False)
    else:
        color = use_color(color_choice, sys.stdout)
        style = Style(color)
        if statistics:
            rendered = text.statistics(diagnostics, style)
        else:
            frames = is_terminal(sys.stdout) if show_source is None else show_source
            rendered = text.render(diagnostics, style, show_source=frames)
        click.echo(rendered, nl=False, color=color)


def _settings(targets: tuple[str, ...], config_path: str | None, isolated: bool) -> Config:
    """`[tool.lrlint]` from --config, else the nearest pyproject.toml; none with --isolated."""
    from lrlint import config as config_module

    if isolated:
        return config_module.Config()
    if config_path is not None:
        return config_module.load(Path(config_path))
    start = Path(targets[0])
    found = config_module.find_pyproject(start if start.is_dir() else start.parent)
    return config_module.load(found) if found else config_module.Config()


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--strategy",
    type=click.Choice(["discriminative", "freeze", "gradual", "auto"]),
    default="discriminative",
    show_default=True,
    help="What to write: rates rising with depth, frozen lower layers, top-down unfreezing, "
    "or a choice by --num-examples (<100 freeze, 100-1000 discriminative, >1000 gradual).",
)
@click.option(
    "--decay",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    help="Per-layer geometric decay (block i of L at lr * X**(L - i)) instead of four tiers.",
)
@click.option("--layers", type=click.IntRange(min=0), help="Blocks to freeze (freeze strategy).")
@click.option(
    "--num-examples", type=click.IntRange(min=0), help="Labelled examples (for --strategy auto)."
)
@click.option("--diff", "show_diff", is_flag=True, help="Print a unified diff; write nothing.")
@click.option(
    "--color",
    "color_choice",
    type=click.Choice(["auto", "always", "never"]),
    default="auto",
    show_default=True,
    help=_COLOR_HELP,
)
@_configuration_options
def fix(
    paths: tuple[str, ...],
    strategy: str,
    decay: float | None,
    layers: int | None,
    num_examples: int | None,
    show_diff: bool,
    color_choice: str,
    config_path: str | None,
    isolated: bool,
    force_exclude: bool,
) -> None:
    """Rewrite uniform-rate optimizers (LR001) into plain PyTorch that trains each layer at its
    own speed. Exit 0 when everything was fixed (or nothing needed it), 1 when a finding could
    not be fixed, 2 on error."""
    from lrlint import config as config_module
    from lrlint.discovery import discover
    from lrlint.fix.apply import fix_files
    from lrlint.fix.fixer import FixOptions

    targets = paths or (".",)
    try:
        settings = _settings(targets, config_path, isolated)
    except config_module.ConfigError as exc:
        _error(str(exc))
        sys.exit(EXIT_ERROR)
    found_files = discover(targets, settings.exclude, settings.root, force_exclude)
    for missing in found_files.missing:
        _error(f"{missing}: no such file or directory")
    options = FixOptions(
        strategy=strategy,
        decay=decay,
        layers=layers,
        num_examples=num_examples if num_examples is not None else settings.num_examples,
    )
    from lrlint.reporting.style import Style, use_color

    style = Style(use_color(color_choice, sys.stdout))
    outcome = fix_files(found_files.files, options, write=not show_diff, style_diff=style.diff)
    for line in outcome.lines:
        click.echo(line, color=style.color)
    for message in outcome.errors:
        _error(message)
    if outcome.errors or found_files.missing:
        sys.exit(EXIT_ERROR)
    sys.exit(EXIT_FINDINGS if outcome.refused else EXIT_CLEAN)


@cli.command(context_settings={"ignore_unknown_options": True})
@click.argument("script", type=click.Path())
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
@click.option(
    "--config",
    "configs",
    multiple=True,
    help="A folder with a model's config.json, for a model id not on disk "
    "(DIR for any model, or ID=DIR; repeatable).",
)
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), help="Write a PNG chart.")
@click.option("--select", help="Rules to check (default: LR001, LR003, LR004, LR005, LR007).")
@click.option("--verbose", is_flag=True, help="Show the script's traceback when it fails.")
def runtime(
    script: str,
    arguments: tuple[str, ...],
    configs: tuple[str, ...],
    output_format: str,
    plot_path: str | None,
    select: str | None,
    verbose: bool,
) -> None:
    """Run SCRIPT (with its ARGUMENTS after --) up to its optimizer and check the real groups
    against the real model. Needs the runtime extra: pip install 'lrlint[runtime]'."""
    from lrlint.runtime.command import run  # imports torch only once it runs

    try:
        code = run(
            script,
            list(arguments),
            list(configs),
            output_format,
            plot_path,
            _codes(select),
            verbose,
        )
    except registry.SelectorError as exc:
        _error(str(exc))
        sys.exit(EXIT_ERROR)
    sys.exit(code)


@cli.command(name="rules")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text")
def list_rules(output_format: str) -> None:
    """List every rule: code, name, default, fix."""
    if output_format == "json":
        import json

        records = [
            {
                "code": r.code,
                "name": r.name,
                "default": r.default_enabled,
                "fix": r.fixable,
                "summary": r.summary,
            }
            for r in registry.RULES
        ]
        click.echo(json.dumps(records, indent=2))
        return
    name_width = max(len(r.name) for r in registry.RULES) + 2
    click.echo(f"{'code':<7}{'name':<{name_width}}{'default':<9}{'fix':<5}summary")
    for r in registry.RULES:
        default = "on" if r.default_enabled else "off"
        fix = "yes" if r.fixable else "no"
        click.echo(f"{r.code:<7}{r.name:<{name_width}}{default:<9}{fix:<5}{r.summary}")


@cli.command(name="rule")
@click.argument("code")
def show_rule(code: str) -> None:
    """Print a rule's page (what it does, why, a bad and a good example)."""
    from lrlint.docs import page

    info = registry.BY_CODE.get(code.upper())
    text = page(code) if info is not None else None
    if text is None:
        _error(f"unknown rule {code!r}; `lrlint rules` lists them")
        sys.exit(EXIT_ERROR)
    click.echo(text, nl=not text.endswith("\n"))


@cli.command()
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk LSP over stdin and stdout (the only transport; accepted for clients that pass it).",
)
def server(stdio: bool) -> None:
    """Run the language server: lrlint's findings, quick fixes and hovers in the editor, over
    stdio. Needs the lsp extra: pip install 'lrlint[lsp]'."""
    try:
        import pygls  # noqa: F401
    except ImportError:
        _error("`lrlint server` needs pygls: pip install 'lrlint[lsp]'")
        sys.exit(EXIT_ERROR)
    from lrlint.server import main as serve

    serve()


def main() -> None:
    try:
        cli(prog_name="lrlint")
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # the last line of defence: one line, never a traceback
        _error(f"internal error: {type(exc).__name__}: {exc}")
        sys.exit(EXIT_ERROR)
