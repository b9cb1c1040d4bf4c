"""The language server: pygls's LanguageServer with lrlint's handlers. Each handler is short and
hands over to a module with one job (checking, conversion, actions, hover, notebooks); checks
run in worker threads through the scheduler, so every request is answered while a file is
being checked. A failure inside lrlint is logged to the client and the server keeps serving."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from lrlint import __version__
from lrlint.diagnostics import Diagnostic
from lrlint.server import actions, checking, hover, notebooks
from lrlint.server.conversion import Units, split_lines, to_lsp
from lrlint.server.documents import (
    CellSnapshot,
    Checked,
    Documents,
    Scheduler,
    Snapshot,
    same_project,
    timed,
)

DEFAULT_DEBOUNCE = 0.3  # seconds after the last keystroke before a check starts
Found = list[tuple[Diagnostic, types.Diagnostic]]


class LrlintServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "lrlint",
            __version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[
                    types.NotebookDocumentFilterWithCells(
                        cells=[types.NotebookCellLanguage(language="python")],
                        notebook="jupyter-notebook",
                    )
                ],
                save=True,
            ),
        )
        self.documents = Documents()
        self.settings = checking.SettingsCache()
        self.scheduler = Scheduler(self.check_now)
        self.debounce = DEFAULT_DEBOUNCE
        self.open: set[str] = set()  # keys: script URIs and notebook URIs
        self.shut_down = False

    # ---- reading the client's documents ---------------------------------------------------
    @property
    def units(self) -> Units:
        return self.workspace.position_codec.client_num_units  # type: ignore[no-any-return]

    def snapshot(self, key: str) -> Snapshot | None:
        """The document as it is now; None once it was closed."""
        if key not in self.open:
            return None
        book = self.workspace.get_notebook_document(notebook_uri=key)
        if book is not None:
            cells = []
            for cell in book.cells:
                document = self.workspace.get_text_document(cell.document)
                self.documents.cell_to_notebook[cell.document] = key
                kind = notebooks.cell_kind(
                    cell.kind == types.NotebookCellKind.Code, document.language_id
                )
                cells.append(CellSnapshot(cell.document, kind, document.source, document.version))
            text = notebooks.to_json([(cell.kind, cell.text) for cell in cells])
            return Snapshot(key, path_of(key, ".ipynb"), text, book.version, tuple(cells))
        document = self.workspace.text_documents.get(key)
        if document is None:
            return None
        return Snapshot(key, path_of(key, ".py"), document.source, document.version)

    def request_check(self, key: str, delay: float) -> None:
        self.open.add(key)
        self.scheduler.schedule(key, delay)

    # ---- checking and publishing ----------------------------------------------------------
    async def check_now(self, key: str) -> None:
        snapshot = self.snapshot(key)
        if snapshot is None:
            return
        try:
            settings = await self.scheduler.run_blocking(self.settings.for_path, snapshot.path)
            outcome, seconds = await self.scheduler.run_blocking(
                timed, lambda: checking.check(snapshot.text, snapshot.path, settings)
            )
            if checking.worth_trying_fixes(outcome):  # published first, refined after
                self.finish(snapshot, outcome, seconds)
                outcome.refusals, failure = await self.scheduler.run_blocking(
                    _refusals, snapshot, settings
                )
                outcome.error = outcome.error or failure
        except asyncio.CancelledError:
            self.log(f"dropped a stale check of {key} (version {snapshot.version})")
            raise
        if settings.error:
            warning = types.MessageType.Warning
            self.log(f"{settings.error}; checking with the default rules", warning)
        if outcome.error:
            self.log(f"{snapshot.path}: {outcome.error}", types.MessageType.Error)
        if self.finish(snapshot, outcome, seconds):
            found = len(outcome.diagnostics)
            self.log(
                f"checked {key} (version {snapshot.version}) in {seconds:.2f} s: {found} found"
            )

    def finish(self, snapshot: Snapshot, outcome: checking.Outcome, seconds: float) -> bool:
        """Keep and publish a check's findings, unless the document changed meanwhile (its own
        check is on the way) or was closed."""
        current = self.snapshot(snapshot.key)
        if current is None or current.version != snapshot.version:
            return False
        self.documents.checked[snapshot.key] = Checked(snapshot, outcome, seconds)
        self.publish(snapshot.key)
        return True

    def found(self, checked: Checked) -> dict[str, Found]:
        """The last findings of a document per URI (a cell's URI in a notebook), each with its
        LSP form; every cell of a notebook has an entry, so cleared cells are published too."""
        snapshot, outcome = checked.snapshot, checked.outcome
        by_uri: dict[str, Found] = {}
        if snapshot.cells is None:
            by_uri[snapshot.key] = []
        else:
            by_uri.update({cell.uri: [] for cell in snapshot.cells})
        for diagnostic in outcome.diagnostics:
            if snapshot.cells is None:
                uri, text = snapshot.key, snapshot.text
            elif diagnostic.cell is not None and 0 < diagnostic.cell <= len(snapshot.cells):
                cell = snapshot.cells[diagnostic.cell - 1]
                uri, text = cell.uri, cell.text
            else:
                continue
            refused = outcome.refusals.get((diagnostic.cell, diagnostic.line))
            converted = to_lsp(diagnostic, split_lines(text), self.units, refused, uri)
            by_uri[uri].append((diagnostic, converted))
        return by_uri

    def publish(self, key: str) -> None:
        checked = self.documents.checked.get(key)
        if checked is None:
            return
        versions = {cell.uri: cell.version for cell in checked.snapshot.cells or ()}
        for uri, found in self.found(checked).items():
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri,
                    diagnostics=[lsp for _, lsp in found],
                    version=versions.get(uri, checked.snapshot.version),
                )
            )

    def close(self, key: str) -> None:
        self.scheduler.cancel(key)
        checked = self.documents.checked.get(key)
        uris = [cell.uri for cell in checked.snapshot.cells or ()] if checked else []
        for uri in uris or [key]:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri, []))
        self.open.discard(key)
        self.documents.forget(key)

    def recheck_project(self, changed: Path, skip: str | None = None) -> None:
        """Check again the open documents that a change to `changed` can affect."""
        for key in sorted(self.open):
            if key == skip:
                continue
            path = path_of(key, "")

            def root(p: Path) -> Path | None:
                return self.settings.for_path(p).root

            if same_project(path, changed, root):
                self.scheduler.schedule(key, 0)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Log) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))


def _refusals(
    snapshot: Snapshot, settings: checking.Settings
) -> tuple[dict[checking.Place, dict[str, str]], str | None]:
    """Why each fix strategy would leave an LR001 alone, or why that could not be worked out
    (blocking: in a worker thread)."""
    try:
        return checking.refusals(snapshot.text, snapshot.path, settings.config.num_examples), None
    except Exception as exc:  # the findings stand even when the fixer fails
        return {}, f"internal error while trying the fixes: {type(exc).__name__}: {exc}"


def path_of(uri: str, suffix: str) -> Path:
    """The file a URI names; an unsaved buffer (`untitled:Untitled-1`) gets a name in the
    current folder, with the suffix that says what it is."""
    path = to_fs_path(uri) if uri.startswith("file:") else None
    if path is None:
        name = uri.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or "untitled"
        if suffix and not name.endswith(suffix):
            name += suffix
        return Path.cwd() / name
    return Path(path)


server = LrlintServer()


@server.feature(types.INITIALIZE)
def initialize(ls: LrlintServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("debounce"), int | float):
        ls.debounce = max(0.0, float(options["debounce"]))


@server.feature(types.SHUTDOWN)
def shutdown(ls: LrlintServer, params: None) -> None:
    ls.shut_down = True
    ls.scheduler.shutdown()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LrlintServer, params: types.DidOpenTextDocumentParams) -> None:
    if not params.text_document.uri.endswith(".ipynb"):  # notebooks come by notebook sync
        ls.request_check(params.text_document.uri, 0)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LrlintServer, params: types.DidChangeTextDocumentParams) -> None:
    if params.text_document.uri in ls.open:
        ls.request_check(params.text_document.uri, ls.debounce)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: LrlintServer, params: types.DidSaveTextDocumentParams) -> None:
    uri = params.text_document.uri
    if uri in ls.open:
        ls.request_check(uri, 0)
    ls.recheck_project(path_of(uri, ""), skip=uri)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LrlintServer, params: types.DidCloseTextDocumentParams) -> None:
    if params.text_document.uri in ls.open:
        ls.close(params.text_document.uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
def notebook_open(ls: LrlintServer, params: types.DidOpenNotebookDocumentParams) -> None:
    ls.request_check(params.notebook_document.uri, 0)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
def notebook_change(ls: LrlintServer, params: types.DidChangeNotebookDocumentParams) -> None:
    ls.request_check(params.notebook_document.uri, ls.debounce)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
def notebook_save(ls: LrlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
    uri = params.notebook_document.uri
    ls.request_check(uri, 0)
    ls.recheck_project(path_of(uri, ".ipynb"), skip=uri)


@server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
def notebook_close(ls: LrlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
    ls.close(params.notebook_document.uri)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def watched_files(ls: LrlintServer, params: types.DidChangeWatchedFilesParams) -> None:
    paths = [path_of(change.uri, "") for change in params.changes]
    if any(path.name == "pyproject.toml" for path in paths):
        ls.settings.forget()  # [tool.lrlint] may have changed: read it again
    for path in paths:
        ls.recheck_project(path)


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, actions.FIX_ALL_KIND],
        resolve_provider=False,
    ),
)
async def code_action(
    ls: LrlintServer, params: types.CodeActionParams
) -> list[types.CodeAction] | None:
    uri = params.text_document.uri
    key = ls.documents.key_of(uri)
    snapshot = ls.snapshot(key)
    if snapshot is None:
        return None
    checked = await _current(ls, snapshot)
    if checked is None:
        return None
    first, last = params.range.start.line, params.range.end.line
    sites = [
        actions.Site(uri, (d.cell, d.line), d.code, lsp)
        for d, lsp in ls.found(checked).get(uri, [])
        if first <= lsp.range.start.line <= last
    ]
    only = params.context.only or []
    quick = not only or any(_kind_matches(kind, types.CodeActionKind.QuickFix) for kind in only)
    fix_all = not only or any(_kind_matches(kind, actions.FIX_ALL_KIND) for kind in only)
    has_lr001 = any(d.code == "LR001" for d in checked.outcome.diagnostics)
    strategies = list(checking.FIX_STRATEGIES) if quick and has_lr001 else []
    if fix_all and has_lr001 and actions.DEFAULT_STRATEGY not in strategies:
        strategies.append(actions.DEFAULT_STRATEGY)
    settings = await ls.scheduler.run_blocking(ls.settings.for_path, snapshot.path)
    units = ls.units

    def fixes() -> dict[str, actions.FileFix]:
        return {
            s: actions.fix_document(snapshot, s, settings.config.num_examples, units)
            for s in strategies
        }

    try:
        by_strategy = await ls.scheduler.run_blocking(fixes) if strategies else {}
    except Exception as exc:  # a fixer bug costs the fixes, not the server
        ls.log(
            f"internal error while fixing {key}: {type(exc).__name__}: {exc}",
            types.MessageType.Error,
        )
        by_strategy = {}
    found: list[types.CodeAction] = []
    disabled = _disabled_support(ls)
    if quick:
        text_of = _texts(snapshot)
        for site in sites:
            if site.code == "LR001" and by_strategy:
                chosen = [by_strategy[s] for s in checking.FIX_STRATEGIES if s in by_strategy]
                found += actions.quick_fixes(site, chosen, disabled)
            line_text = actions.line_of(text_of.get(uri, ""), site.diagnostic.range.start.line)
            suppress = actions.suppress(site, line_text, units)
            if suppress is not None:
                found.append(suppress)
    if fix_all and actions.DEFAULT_STRATEGY in by_strategy:
        whole = actions.fix_all(by_strategy[actions.DEFAULT_STRATEGY])
        if whole is not None:
            found.append(whole)
    return found


@server.feature(types.TEXT_DOCUMENT_HOVER)
def on_hover(ls: LrlintServer, params: types.HoverParams) -> types.Hover | None:
    uri = params.text_document.uri
    checked = ls.documents.checked.get(ls.documents.key_of(uri))
    if checked is None:
        return None
    at = params.position
    for diagnostic, lsp in ls.found(checked).get(uri, []):
        start, end = lsp.range.start, lsp.range.end
        if start.line == at.line and start.character <= at.character <= end.character:
            content = hover.markdown(diagnostic.code, diagnostic.message)
            return types.Hover(
                contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=content),
                range=lsp.range,
            )
    return None


async def _current(ls: LrlintServer, snapshot: Snapshot) -> Checked | None:
    """The findings of the document as it is now: the last check when it still matches, else
    a check now (without the fix trials: the actions run the fixer themselves)."""
    checked = ls.documents.checked.get(snapshot.key)
    if checked is not None and checked.snapshot.text == snapshot.text:
        return checked
    settings = await ls.scheduler.run_blocking(ls.settings.for_path, snapshot.path)
    outcome = await ls.scheduler.run_blocking(
        checking.check, snapshot.text, snapshot.path, settings
    )
    return Checked(snapshot, outcome)


def _texts(snapshot: Snapshot) -> dict[str, str]:
    if snapshot.cells is None:
        return {snapshot.key: snapshot.text}
    return {cell.uri: cell.text for cell in snapshot.cells}


def _kind_matches(requested: str, kind: str) -> bool:
    """LSP kinds are hierarchical: asking for `source` includes `source.fixAll.lrlint`."""
    return kind == requested or kind.startswith(f"{requested}.")


def _disabled_support(ls: LrlintServer) -> bool:
    document = ls.client_capabilities.text_document
    code_action = document.code_action if document else None
    return bool(code_action and code_action.disabled_support)


def serve() -> None:
    """Serve until `exit` or the end of stdin, then leave at once: a worker thread still
    checking a large file must not keep the process alive (the interpreter would join it)."""
    server.start_io()
    with contextlib.suppress(ValueError, OSError):  # pygls may have closed stdout already
        sys.stdout.flush()
    os._exit(0 if server.shut_down else 1)
