"""Writing a fixed file without ever losing it: same encoding, BOM and line endings, a
temporary file renamed over the original, and no write if the file changed meanwhile."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from lrlint.sources import SourceText


class WriteError(Exception):
    """The file was left as it was; the message says why, in one line."""


def write_fixed(path: Path, original: bytes, source: SourceText, text: str) -> None:
    # A symbolic link is written through, as editors do: renaming over the link itself would
    # replace it with a copy and leave the file it points to unfixed.
    path = path.resolve()
    try:
        info = path.stat()
    except OSError as exc:
        raise WriteError(f"cannot write: {exc.strerror or exc}") from None
    if not info.st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(
        path, os.W_OK
    ):
        raise WriteError("the file is read-only; nothing written")
    data = text.encode(source.encoding)  # "utf-8-sig" writes the BOM back
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed below
        dir=path.parent, prefix=f".{path.name}.", suffix=".lrlint-tmp", delete=False
    )
    temporary = Path(handle.name)
    try:
        with handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, stat.S_IMODE(info.st_mode))
        if path.read_bytes() != original:
            raise WriteError("the file changed on disk while it was being fixed; nothing written")
        os.replace(temporary, path)
    except OSError as exc:
        raise WriteError(f"cannot write: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
