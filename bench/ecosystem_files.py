"""Lay out the ecosystem corpus's files from fetched repository snapshots.

    python bench/ecosystem_files.py                       # the project's corpus
    python bench/ecosystem_files.py --manifest M.tsv --into DIR

Third-party code is never committed: the manifest names each file by repository, commit and
path, and this script takes them byte for byte from the git snapshots under `/work/.mirror`
(`--mirrors`), which the session's `fetch` tool brings. For each repository it writes its Python
sources, notebooks and project markers at the pinned commit under `DIR/_repos/<owner>__<repo>/`
with an empty `.git` folder at its root (so that imports of the project's own modules resolve
as they would in a clone), and each
labelled file as `DIR/<file>`, a symbolic link into that tree (Python puts the real folder of a
script on `sys.path`, and so does lrlint). Repositories without a snapshot are listed at the end.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_MANIFEST = HERE / "ecosystem" / "manifest.tsv"
DEFAULT_INTO = HERE / "ecosystem" / "files"
# What a checkout needs for the static pass: sources, notebooks and what marks a project root.
_KEPT_SUFFIXES = (".py", ".ipynb")
_KEPT_NAMES = frozenset({"pyproject.toml", "setup.cfg", "setup.py"})
_MAX_BYTES = 2_000_000


def read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def git_dir(mirrors: Path, repo: str) -> Path | None:
    base = mirrors / repo.replace("/", "+")
    for candidate in (base / "repo" / ".git", base / "repo"):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def git(directory: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", f"--git-dir={directory}", *args], capture_output=True, check=True
    ).stdout


def tree_files(directory: Path, commit: str) -> list[tuple[str, int]]:
    """(path, size) of the kept blobs of the commit's tree."""
    out = git(directory, "ls-tree", "-r", "-l", "-z", commit)
    found = []
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        mode, kind, _, size = meta.split()
        name = path.decode("utf-8", "surrogateescape")
        if kind != b"blob" or mode == b"120000" or not size.isdigit():
            continue  # a link, a submodule, or a blob the snapshot lacks (4 MiB and more)
        if name.endswith(_KEPT_SUFFIXES) or name.rsplit("/", 1)[-1] in _KEPT_NAMES:
            found.append((name, int(size)))
    return found


def lay_out(repo: str, commit: str, directory: Path, into: Path) -> Path:
    root = into / "_repos" / repo.replace("/", "__")
    stamp = root / ".commit"
    if stamp.is_file() and stamp.read_text().strip() == commit and (root / ".git").is_dir():
        return root
    for name, size in tree_files(directory, commit):
        if size > _MAX_BYTES:
            continue
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(git(directory, "cat-file", "blob", f"{commit}:{name}"))
    # A clone's root holds `.git`: mark it so, or the project root of its scripts would be
    # looked for above it (in this checkout)
    (root / ".git").mkdir(parents=True, exist_ok=True)
    stamp.write_text(commit + "\n")
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, action="append")
    parser.add_argument("--into", type=Path, default=DEFAULT_INTO)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args(argv)
    rows = [row for m in args.manifest or [DEFAULT_MANIFEST] for row in read_manifest(m)]
    args.into.mkdir(parents=True, exist_ok=True)
    missing: dict[str, int] = {}
    laid = 0
    for row in rows:
        repo, commit = row["repo"], row["commit"]
        directory = git_dir(args.mirrors, repo)
        if directory is None:
            missing[repo] = missing.get(repo, 0) + 1
            continue
        try:
            root = lay_out(repo, commit, directory, args.into)
        except subprocess.CalledProcessError as exc:
            stderr = exc.stderr.decode(errors="replace").strip().splitlines()
            print(f"{repo}@{commit[:10]}: {stderr[-1] if stderr else exc}", file=sys.stderr)
            missing[repo] = missing.get(repo, 0) + 1
            continue
        target = root / row["path"]
        if not target.is_file():
            print(f"{row['file']}: {row['path']} is not in {repo}@{commit[:10]}", file=sys.stderr)
            continue
        link = args.into / row["file"]
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, link.parent))
        laid += 1
    print(f"{laid} of {len(rows)} files laid out in {args.into}")
    for repo, count in sorted(missing.items()):
        print(f"  no snapshot of {repo} ({count} files): fetch github:{repo}")
    return 1 if missing else 0


if __name__ == "__main__":
    raise SystemExit(main())
