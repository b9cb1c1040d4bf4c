"""Reading a Python file as text without losing anything: encoding cookie, BOM and line endings."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path


class SourceError(Exception):
    """The file cannot be turned into text; the message is one line for the user."""

    def __init__(self, message: str, unreadable: bool = False, line: int = 1, col: int = 1) -> None:
        super().__init__(message)
        self.unreadable = unreadable  # True: the bytes could not be read; False: not decoded
        self.line, self.col = line, col  # where the text goes wrong (a notebook's JSON)


@dataclass(frozen=True)
class SourceText:
    text: str
    encoding: str  # as tokenize reports it; "utf-8-sig" means the file starts with a BOM
    newline: str  # the file's first line ending, "\n" when it has none

    @property
    def has_bom(self) -> bool:
        return self.encoding == "utf-8-sig"


def decode(raw: bytes) -> SourceText:
    """Decode bytes as Python does (PEP 263 cookie, BOM), keeping the line endings as they are."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:  # a bad cookie or a BOM that contradicts it
        raise SourceError(str(exc)) from None
    try:
        text = raw.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        detail = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
        where = f" at byte {exc.start}" if isinstance(exc, UnicodeDecodeError) else ""
        raise SourceError(f"cannot decode as {encoding}{where}: {detail}") from None
    return SourceText(text=text, encoding=encoding, newline=_first_newline(text))


def read(path: Path) -> SourceText:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"cannot read: {exc.strerror or exc}", unreadable=True) from None
    return decode(raw)


def _first_newline(text: str) -> str:
    match = re.search(r"\r\n|\r|\n", text)
    return match.group() if match else "\n"
