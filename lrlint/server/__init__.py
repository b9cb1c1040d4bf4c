"""`lrlint server`: a Language Server Protocol server over stdio (the `lsp` extra, pygls).

The modules, each with one job: `protocol` (the pygls server and its handlers), `documents`
(open documents and the per-document scheduler), `checking` (lrlint on a document's text with
its project's configuration), `conversion` (findings to LSP diagnostics), `edits` (minimal text
edits between two texts), `actions` (quick fixes and the fix-all source action), `hover` (a
finding's summary and why), `notebooks` (LSP notebook documents as .ipynb JSON and back).
Only `protocol` and the modules that build LSP values import pygls or lsprotocol.
"""

from __future__ import annotations


def main() -> None:
    """Serve over stdin/stdout until the client says exit."""
    from lrlint.server.protocol import serve

    serve()
