"""The ecosystem check: lrlint measured on real code that other people wrote.

    python bench/ecosystem.py                          # the project's corpus (bench/ecosystem/)
    python bench/ecosystem.py --files DIR --labels L.tsv [--labels M.tsv ...]
    python bench/ecosystem.py --save run.json          # keep this run's findings ...
    python bench/ecosystem.py --baseline run.json      # ... and show what a change moved

The corpus is a folder of files named as in its labels (`bench/ecosystem_files.py` lays ours
out from the manifest) and label rows `file, cell, line, codes, note` (see
bench/ecosystem/README.md). In one run it:
- checks every labelled file with `lrlint check --select ALL` and scores each rule against the
  labels: a finding matches a row on file, cell and line; `?CODE` counts neither way; a finding
  on a `-` row, on a row that does not list its code, or on no row is a false alarm;
- fixes a copy of the corpus with each strategy and reports the fix rate (LR001 sites fixed /
  LR001 sites reported) and, of the fixed files, how many parse, are idempotent (a second fix
  changes nothing) and check clean (LR001 gone where fixed, no other finding added);
- counts internal errors and tracebacks (each is a failure: exit 1), and times every step;
- then lists every miss and every false alarm as `file:cell:line CODE`, and the fix's refusals
  grouped by reason, for a reviewer to read.
lrlint runs as a command (`python -m lrlint`), exactly as users run it.
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FILES = HERE / "ecosystem" / "files"
DEFAULT_LABELS = HERE / "ecosystem" / "labels.tsv"
CODES = ("LR001", "LR002", "LR003", "LR004", "LR005", "LR006", "LR007", "LR008")
STRATEGIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("discriminative", ("--strategy", "discriminative")),
    ("decay 0.9", ("--strategy", "discriminative", "--decay", "0.9")),
    ("freeze", ("--strategy", "freeze")),
    ("gradual", ("--strategy", "gradual")),
    ("auto", ("--strategy", "auto")),
)
_FIXED = re.compile(r"^(?P<file>.+?):(?:cell (?P<cell>\d+):)?(?P<line>\d+): fixed LR001")
# a caller in another module that the fix of a helper rewrote (its loop gets the unfreezing)
_ADDED = re.compile(r"^(?P<file>.+?): added the gradual unfreezing for ")
_REFUSED = re.compile(r"^(?P<file>.+?):(?:cell (?P<cell>\d+):)?(?P<line>\d+): LR001 not fixed: ")
_MAGIC = re.compile(r"^\s*([%!]|[\w.\[\], ]+=\s*[!%])")

Key = tuple[str, int, int]  # file, cell (0 for a script), line


@dataclass
class Row:
    positive: set[str] = field(default_factory=set)
    arguable: set[str] = field(default_factory=set)
    note: str = ""


@dataclass
class Score:
    true: int = 0
    false: int = 0
    missed: int = 0

    @property
    def precision(self) -> float | None:
        return self.true / (self.true + self.false) if self.true + self.false else None

    @property
    def recall(self) -> float | None:
        return self.true / (self.true + self.missed) if self.true + self.missed else None


def read_labels(paths: list[Path]) -> dict[Key, Row]:
    rows: dict[Key, Row] = {}
    for path in paths:
        with path.open(newline="", encoding="utf-8") as handle:
            for record in csv.DictReader(handle, delimiter="\t"):
                line = int(record["line"] or 0)
                if line == 0:
                    rows.setdefault((record["file"], 0, 0), Row())
                    continue
                key = (record["file"], int(record["cell"] or 0), line)
                row = rows.setdefault(key, Row(note=record.get("note") or ""))
                for code in (record["codes"] or "").split(","):
                    code = code.strip()
                    if code.startswith("?"):
                        row.arguable.add(code[1:])
                    elif code.startswith("LR"):
                        row.positive.add(code)
    return rows


def lrlint(arguments: list[str], cwd: Path) -> tuple[int, str, str, float]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lrlint", *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def failures(stderr: str) -> list[str]:
    """Internal errors and tracebacks: lines a user should never see."""
    return [
        line
        for line in stderr.splitlines()
        if "internal error" in line or line.startswith("Traceback")
    ]


def check(files: list[str], root: Path, select: str = "ALL") -> tuple[list[dict], str, float]:
    code, out, err, seconds = lrlint(
        ["check", "--select", select, "--format", "json", "--no-cache", "--isolated",
         "--exit-zero", *files],
        root,
    )  # fmt: skip
    if code not in (0, 1, 2) or not out.strip():
        raise SystemExit(f"lrlint check failed ({code}):\n{err}")
    return json.loads(out), err, seconds


def finding_keys(records: list[dict]) -> set[tuple[str, int, int, str]]:
    return {
        (r["filename"], r["cell"] or 0, r["location"]["row"], r["code"])
        for r in records
        if r["code"] in CODES
    }


def score(
    rows: dict[Key, Row], found: set[tuple[str, int, int, str]]
) -> tuple[dict[str, Score], list[str], list[str]]:
    scores = {code: Score() for code in CODES}
    misses: list[str] = []
    alarms: list[str] = []
    for file, cell, line, code in sorted(found):
        row = rows.get((file, cell, line))
        if row is not None and code in row.positive:
            scores[code].true += 1
        elif row is not None and code in row.arguable:
            continue
        else:
            scores[code].false += 1
            alarms.append(f"{where(file, cell, line)} {code}" + (f"  [{row.note}]" if row else ""))
    for (file, cell, line), row in sorted(rows.items()):
        for code in sorted(row.positive):
            if (file, cell, line, code) not in found:
                scores[code].missed += 1
                misses.append(f"{where(file, cell, line)} {code}  [{row.note}]")
    return scores, misses, alarms


def where(file: str, cell: int, line: int) -> str:
    return f"{file}:{cell or ''}:{line}"


def parses(path: Path) -> bool:
    text = path.read_text(encoding="utf-8-sig")
    sources = [text]
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        sources = []
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            body = cell.get("source", "")
            body = "".join(body) if isinstance(body, list) else body
            if body.lstrip().startswith("%%"):
                continue
            # IPython lines are not Python: keep the line count, drop their text
            sources.append("\n".join("" if _MAGIC.match(x) else x for x in body.splitlines()))
    try:
        for source in sources:
            ast.parse(source)
    except SyntaxError:
        return False
    return True


@dataclass
class FixRun:
    name: str
    reported: int = 0
    fixed: int = 0
    files_fixed: int = 0
    parse: int = 0
    idempotent: int = 0
    clean: int = 0
    seconds: float = 0.0
    callers: int = 0  # other modules rewritten with a helper (checked with the fixed files)
    refusals: Counter[str] = field(default_factory=Counter)
    refused_at: dict[str, list[str]] = field(default_factory=dict)  # reason -> file:line
    failures: list[str] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)  # fixed files that fail a property


def fix_run(
    name: str, flags: tuple[str, ...], files_dir: Path, lr001_files: list[str], before: list[dict]
) -> FixRun:
    run = FixRun(name, reported=sum(1 for r in before if r["code"] == "LR001"))
    with tempfile.TemporaryDirectory(prefix="lrlint-ecosystem-") as temporary:
        copy = Path(temporary) / "files"
        shutil.copytree(files_dir, copy, symlinks=True)
        _, out, err, run.seconds = lrlint(["fix", "--color", "never", *flags, *lr001_files], copy)
        run.failures += failures(err)
        fixed_files = sorted({m["file"] for m in map(_FIXED.match, out.splitlines()) if m})
        run.fixed = sum(1 for line in out.splitlines() if _FIXED.match(line))
        for line in out.splitlines():
            match = _REFUSED.match(line)
            if match:
                reason = _reason(line[match.end() :])
                run.refusals[reason] += 1
                run.refused_at.setdefault(reason, []).append(
                    line[: match.end()].split(": LR001")[0]
                )
        run.files_fixed = len(fixed_files)
        if not fixed_files:
            return run
        # callers the fixes rewrote, by their corpus name when they have one; they must parse
        # and stay put on a second run too
        names = {os.path.realpath(copy / f): f for f in os.listdir(copy) if f.endswith(".py")}
        for match in filter(None, map(_ADDED.match, out.splitlines())):
            caller = names.get(os.path.realpath(copy / match["file"]), match["file"])
            if caller not in fixed_files:
                fixed_files.append(caller)
                run.callers += 1
        snapshot = {f: (copy / f).read_bytes() for f in fixed_files}
        _, _, err2, _ = lrlint(["fix", "--color", "never", *flags, *fixed_files], copy)
        run.failures += failures(err2)
        after, err3, _ = check(fixed_files, copy, select="ALL")
        run.failures += failures(err3)
        old = Counter((r["filename"], r["code"]) for r in before if r["filename"] in snapshot)
        new = Counter((r["filename"], r["code"]) for r in after)
        fixed_per_file = Counter(m["file"] for m in map(_FIXED.match, out.splitlines()) if m)
        for file in fixed_files:
            ok_parse = parses(copy / file)
            ok_idempotent = (copy / file).read_bytes() == snapshot[file]
            ok_clean = new[(file, "LR001")] <= old[(file, "LR001")] - fixed_per_file[file] and all(
                new[(file, code)] <= old[(file, code)] for code in CODES if code != "LR001"
            )
            run.parse += ok_parse
            run.idempotent += ok_idempotent
            run.clean += ok_clean
            if not (ok_parse and ok_idempotent and ok_clean):
                bad = [
                    label
                    for label, ok in (
                        ("does not parse", ok_parse),
                        ("not idempotent", ok_idempotent),
                        ("not clean", ok_clean),
                    )
                    if not ok
                ]
                run.broken.append(f"{file}: {', '.join(bad)}")
    return run


def _reason(text: str) -> str:
    """A refusal's reason with the user's names folded, so that alike reasons count together."""
    text = re.sub(r"`[^`]*`", "`…`", text)
    text = re.sub(r"\b(?:self|model|[a-z_]+)(?:\.[\w\[\]]+)+", "X", text)
    return text[:140]


def fraction(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="lrlint's ecosystem check")
    parser.add_argument("--files", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--labels", type=Path, action="append")
    parser.add_argument("--no-fix", action="store_true", help="score the check only")
    parser.add_argument(
        "--strategy",
        action="append",
        choices=[name for name, _ in STRATEGIES],
        help="fix with only these strategies (all by default)",
    )
    parser.add_argument("--save", type=Path, help="write this run's findings as JSON")
    parser.add_argument("--baseline", type=Path, help="a --save file to compare with")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = read_labels(args.labels or [DEFAULT_LABELS])
    files_dir = args.files.resolve()
    labelled = sorted({key[0] for key in rows})
    present = [f for f in labelled if (files_dir / f).is_file()]
    absent = [f for f in labelled if f not in present]
    records, err, check_seconds = check(present, files_dir)
    check_failures = failures(err)
    found = finding_keys(records)
    scores, misses, alarms = score({k: v for k, v in rows.items() if k[0] in present}, found)

    repos = {f.split("__")[0] + "/" + f.split("__")[1] for f in present if f.count("__") >= 2}
    print(f"# lrlint ecosystem check: {len(present)} files from {len(repos)} repositories")
    if absent:
        print(
            f"({len(absent)} labelled files are not in {files_dir}: run bench/ecosystem_files.py)"
        )
    print(f"check: {check_seconds:.1f} s wall, {len(check_failures)} internal errors")
    print()
    print("| rule | labels | found | true | false alarms | missed | precision | recall |")
    print("|---|---|---|---|---|---|---|---|")
    for code in CODES:
        s = scores[code]
        labels = s.true + s.missed
        print(
            f"| {code} | {labels} | {s.true + s.false} | {s.true} | {s.false} | {s.missed} "
            f"| {fraction(s.precision)} | {fraction(s.recall)} |"
        )

    runs: list[FixRun] = []
    if not args.no_fix:
        lr001_files = sorted({r["filename"] for r in records if r["code"] == "LR001"})
        for name, flags in STRATEGIES:
            if args.strategy and name not in args.strategy:
                continue
            runs.append(fix_run(name, flags, files_dir, lr001_files, records))
        print()
        print(
            "| fix strategy | LR001 reported | fixed | fix rate | files fixed | callers | parse "
            "| idempotent | check clean | wall s |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for run in runs:
            rate = run.fixed / run.reported if run.reported else None
            print(
                f"| {run.name} | {run.reported} | {run.fixed} | {fraction(rate)} "
                f"| {run.files_fixed} | {run.callers} | {run.parse} | {run.idempotent} "
                f"| {run.clean} "
                f"| {run.seconds:.1f} |"
            )

    all_failures = check_failures + [f for run in runs for f in run.failures]
    print()
    print(f"internal errors and tracebacks: {len(all_failures)}")
    for line in all_failures:
        print(f"  {line}")
    print(f"wall time: {time.perf_counter() - start:.1f} s")
    print()
    print(f"## misses ({len(misses)})")
    print("\n".join(misses) or "none")
    print()
    print(f"## false alarms ({len(alarms)})")
    print("\n".join(alarms) or "none")
    for run in runs:
        if run.refusals or run.broken:
            print()
            print(f"## fix {run.name}: refusals by reason, and fixed files that fail a check")
            for reason, count in run.refusals.most_common():
                print(f"{count:4d}  {reason}")
                for where in run.refused_at[reason]:
                    print(f"        {where}")
            for line in run.broken:
                print(f"  broken: {line}")
    if args.baseline is not None:
        _compare(json.loads(args.baseline.read_text()), sorted(map(list, found)))
    if args.save is not None:
        args.save.write_text(json.dumps(sorted(map(list, found)), indent=0) + "\n")
    return 1 if all_failures else 0


def _compare(old: list[list], new: list[list]) -> None:
    before = {tuple(x) for x in old}
    after = {tuple(x) for x in new}
    print()
    print(f"## against the baseline: {len(after - before)} new, {len(before - after)} gone")
    for file, cell, line, code in sorted(after - before):
        print(f"+ {where(file, cell, line)} {code}")
    for file, cell, line, code in sorted(before - after):
        print(f"- {where(file, cell, line)} {code}")


if __name__ == "__main__":
    sys.exit(main())
