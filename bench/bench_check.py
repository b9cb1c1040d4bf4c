"""How fast is `lrlint check` next to its peers, measured in the same run on the same tree?

    python bench/bench_check.py                  # the installed torch + transformers packages
    python bench/bench_check.py PATH ...         # any tree
    python bench/bench_check.py --verify-prefilter   # also: findings with and without the prefilter

It times, wall clock, on every `.py` file of the tree:
- the floors: reading every file; `ast.parse` of every file (one process);
- ruff (`ruff check --no-cache --isolated`, its default rules);
- lrlint cold (`--no-cache`, all cores) and warm (a second run on a filled cache);
- TorchFix and Fixit, when installed (`pip install torchfix fixit`), on a fixed sample of the
  tree (every Nth file, `--sample-every`), since on the whole tree they take tens of minutes:
  the sample's time is reported, and scaled to the tree by bytes (marked "scaled").
Ratios are against ruff's time in this same run. Nothing here runs in the test suite.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def default_tree() -> list[Path]:
    import importlib.util

    roots = []
    for name in ("torch", "transformers"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin is not None:
            roots.append(Path(spec.origin).parent)
    return roots


def python_files(roots: list[Path]) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if p.is_file())


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - start, done.returncode, done.stdout


def floor_read(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        path.read_bytes()
    return time.perf_counter() - start


def floor_ast(files: list[Path]) -> float:
    start = time.perf_counter()
    for path in files:
        with contextlib.suppress(SyntaxError, ValueError):  # a broken file still costs its parse
            ast.parse(path.read_bytes())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--sample-every", type=int, default=25)
    parser.add_argument("--verify-prefilter", action="store_true")
    args = parser.parse_args()
    roots = args.paths or default_tree()
    if not roots:
        sys.exit("no tree: install torch and transformers here, or name the paths to measure")
    files = python_files(roots)
    size = sum(p.stat().st_size for p in files)
    print(f"tree: {', '.join(map(str, roots))}")
    print(f"{len(files)} files, {size / 1e6:.1f} MB, {os.cpu_count()} cores\n")
    lrlint = [sys.executable, "-m", "lrlint", "check", "--isolated", "--exit-zero"]
    rows: list[tuple[str, float, str]] = []

    rows.append(("read every file (floor)", floor_read(files), ""))
    rows.append(("ast.parse every file, 1 process (floor)", floor_ast(files), ""))
    ruff = shutil.which("ruff")
    ruff_time = None
    if ruff:
        ruff_time, _, _ = timed(
            [ruff, "check", "--no-cache", "--isolated", "--exit-zero", *map(str, roots)]
        )
        rows.append(("ruff check --no-cache (default rules)", ruff_time, ""))
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "LRLINT_CACHE_DIR": cache}
        cold, _, cold_out = timed([*lrlint, "--no-cache", *map(str, roots)], env)
        rows.append(("lrlint check --no-cache", cold, ""))
        timed([*lrlint, *map(str, roots)], env)  # fills the cache
        warm, _, warm_out = timed([*lrlint, *map(str, roots)], env)
        rows.append(("lrlint check, warm cache", warm, ""))
        assert cold_out == warm_out, "the cache changed the findings"
    sample = files[:: args.sample_every]
    sample_size = sum(p.stat().st_size for p in sample)
    scale = size / sample_size if sample_size else 0.0
    for name, command in (
        ("TorchFix", ["torchfix"]),
        ("Fixit", ["fixit", "lint"]),
    ):
        if shutil.which(command[0]) is None:
            rows.append((f"{name} (not installed: pip install {name.lower()})", float("nan"), ""))
            continue
        spent, _, _ = timed([*command, *map(str, sample)])
        rows.append((f"{name}, sample of {len(sample)} files", spent, ""))
        rows.append((f"{name}, whole tree (scaled by bytes)", spent * scale, "scaled"))

    single = single_script()
    width = max(len(name) for name, _, _ in rows)
    print(f"{'':{width}}  {'wall s':>9}  {'x ruff':>8}")
    for name, seconds, _ in rows:
        ratio = f"{seconds / ruff_time:8.2f}" if ruff_time and seconds == seconds else " " * 8
        print(f"{name:{width}}  {seconds:9.2f}  {ratio}")
    findings = cold_out.strip().splitlines()[-1] if cold_out.strip() else ""
    print(f"\nlrlint: {findings}")
    print(single)
    if args.verify_prefilter:
        verify_prefilter(files)


SCRIPT = Path(__file__).resolve().parent.parent / "fixtures" / "plain_loop.py"


def single_script(runs: int = 7) -> str:
    """One training script checked cold (what pre-commit and an editor pay per file), against
    the start-up of the library every check needs, `python -c "import libcst"`: medians of
    interleaved runs, so both see the same machine."""
    check = [sys.executable, "-m", "lrlint", "check", "--isolated", "--no-cache", "--exit-zero"]
    baseline, spent = [], []
    for _ in range(runs):
        baseline.append(timed([sys.executable, "-c", "import libcst"])[0])
        spent.append(timed([*check, str(SCRIPT)])[0])
    lib, one = sorted(baseline)[runs // 2], sorted(spent)[runs // 2]
    return (
        f"single script ({SCRIPT.name}): lrlint check {one:.2f} s, "
        f'python -c "import libcst" {lib:.2f} s: {one / lib:.2f}x'
    )


def verify_prefilter(files: list[Path]) -> None:
    """Check every file with and without the prefilter (slow: parses all) and compare."""
    from lrlint import engine
    from lrlint.engine import CheckOptions
    from lrlint.registry import BY_CODE
    from lrlint.sources import text as source

    options = CheckOptions(frozenset(BY_CODE))
    with_filter, without = [], []
    original = engine.worth_parsing
    start = time.perf_counter()
    for path in files:
        try:
            text = source.read(path).text
        except source.SourceError:
            continue
        with_filter += engine.check_source(text, str(path), options)
        engine.worth_parsing = lambda text, module_text=None: True
        try:
            without += engine.check_source(text, str(path), options)
        except Exception as exc:  # a crash here is a finding of its own
            print(f"internal error without prefilter: {path}: {exc!r}")
        finally:
            engine.worth_parsing = original
    same = sorted(with_filter) == sorted(without)
    print(
        f"prefilter: {len(with_filter)} findings with it, {len(without)} without "
        f"({'identical' if same else 'DIFFERENT'}); {time.perf_counter() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
