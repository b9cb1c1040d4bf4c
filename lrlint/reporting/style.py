"""Colour for the terminal: on when stdout is a terminal, off when piped or when `NO_COLOR` is
set (https://no-color.org), and `--color always|never` wins over both."""

from __future__ import annotations

import os
from typing import IO

import click

COLOR_CHOICES = ("auto", "always", "never")


def is_terminal(stream: IO[str] | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def use_color(choice: str, stream: IO[str] | None) -> bool:
    if choice == "always":
        return True
    if choice == "never":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return is_terminal(stream) and os.environ.get("TERM") != "dumb"


class Style:
    """ANSI styles, or none: every method returns its text unchanged when colour is off."""

    def __init__(self, color: bool) -> None:
        self.color = color

    def _s(self, text: str, **kwargs: object) -> str:
        return click.style(text, **kwargs) if self.color and text else text  # type: ignore[arg-type]

    def path(self, text: str) -> str:
        return self._s(text, bold=True)

    def code(self, text: str) -> str:
        return self._s(text, fg="red", bold=True)

    def caret(self, text: str) -> str:
        return self._s(text, fg="red", bold=True)

    def gutter(self, text: str) -> str:
        return self._s(text, fg="blue", bold=True)

    def dim(self, text: str) -> str:
        return self._s(text, dim=True)

    def bold(self, text: str) -> str:
        return self._s(text, bold=True)

    def good(self, text: str) -> str:
        return self._s(text, fg="green", bold=True)

    def diff(self, text: str) -> str:
        """A unified diff with removed lines red, added lines green and hunk headers cyan."""
        if not self.color:
            return text
        out = []
        for line in text.split("\n"):
            if line.startswith(("+++", "---")):
                out.append(self._s(line, bold=True))
            elif line.startswith("@@"):
                out.append(self._s(line, fg="cyan"))
            elif line.startswith("+"):
                out.append(self._s(line, fg="green"))
            elif line.startswith("-"):
                out.append(self._s(line, fg="red"))
            else:
                out.append(line)
        return "\n".join(out)


PLAIN = Style(color=False)
