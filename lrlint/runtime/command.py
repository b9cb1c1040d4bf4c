"""`lrlint runtime SCRIPT [-- ARGS]`: run, catch, check, report."""

from __future__ import annotations

import sys
from pathlib import Path

from lrlint import registry


def run(
    script: str,
    arguments: list[str],
    configs: list[str],
    output_format: str,
    plot_path: str | None,
    select: tuple[str, ...] | None,
    verbose: bool,
) -> int:
    """Returns the exit code: 0 clean, 1 findings, 2 when the script did not reach its optimizer."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError as exc:
        print(
            f"lrlint: error: lrlint runtime needs torch and transformers: "
            f"pip install 'lrlint[runtime]' ({exc})",
            file=sys.stderr,
        )
        return 2
    from lrlint.runtime.groups import DEFAULT_CODES, check
    from lrlint.runtime.harness import RunError, run_script
    from lrlint.runtime.offline import Offline

    offline = Offline()
    for item in configs:
        model_id, equals, folder = item.rpartition("=")
        if equals:
            offline.configs[model_id] = folder
        else:
            offline.fallback = folder
    path = Path(script)
    if not path.is_file():
        print(f"lrlint: error: {script}: no such file", file=sys.stderr)
        return 2
    try:
        capture = run_script(path, arguments, offline)
    except RunError as exc:
        print(f"lrlint: error: {exc}", file=sys.stderr)
        if verbose and exc.details:
            print(exc.details, file=sys.stderr)
        return 2
    enabled = DEFAULT_CODES if select is None else registry.enabled_codes(select, (), ())
    report = check(
        capture.model,
        capture.optimizer if capture.optimizer is not None else capture.raw_groups,
        pretrained=capture.pretrained,
        scheduler=capture.scheduler,
        rates_after_step=capture.rates_after_step,
        configured_rates=capture.configured_rates,
        enabled=enabled,
    )
    report.notes.extend(capture.notes)
    if output_format == "json":
        print(report.to_json())
    else:
        print(report.render(), end="")
    if plot_path is not None:
        from lrlint.runtime.plot import plot

        plot(report, Path(plot_path))
    return 0 if report.ok else 1
