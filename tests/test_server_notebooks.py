"""`lrlint server` and Jupyter notebooks as VS Code sends them (LSP 3.17 notebook document
sync: one text document per cell): findings on the right cell and line, fixes as edits of the
cells that change, and cell edits checked again."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="the server tests need the test extra (pytest-lsp)")

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lrlint import api
from lrlint.server import notebooks
from lrlint.server.edits import apply
from tests.conftest import FIXTURES
from tests.test_server import actions_at, checked

pytestmark = pytest.mark.asyncio
NOTEBOOK = FIXTURES / "notebooks" / "finetune_sst2.ipynb"


@pytest_lsp.fixture(
    config=ClientServerConfig(server_command=[sys.executable, "-m", "lrlint", "server"])
)
async def client(lsp_client: LanguageClient, tmp_path: Path):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=tmp_path.as_uri(),
        initialization_options={"debounce": 0.1},
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def open_notebook(client: LanguageClient, path: Path) -> tuple[str, list[str], list[str]]:
    """Open a notebook as VS Code does; returns its URI, its cells' URIs and their texts."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    uri = path.as_uri()
    cell_uris = [f"vscode-notebook-cell:{path}#cell{i}" for i in range(len(cells))]
    texts = ["".join(cell["source"]) for cell in cells]
    kinds = [
        types.NotebookCellKind.Code if c["cell_type"] == "code" else types.NotebookCellKind.Markup
        for c in cells
    ]
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            notebook_document=types.NotebookDocument(
                uri=uri,
                notebook_type="jupyter-notebook",
                version=1,
                cells=[
                    types.NotebookCell(kind=k, document=u)
                    for k, u in zip(kinds, cell_uris, strict=True)
                ],
            ),
            cell_text_documents=[
                types.TextDocumentItem(
                    uri=u,
                    language_id="python" if k == types.NotebookCellKind.Code else "markdown",
                    version=1,
                    text=t,
                )
                for u, k, t in zip(cell_uris, kinds, texts, strict=True)
            ],
        )
    )
    return uri, cell_uris, texts


async def test_findings_land_on_their_cell_and_the_fix_edits_only_that_cell(
    client, tmp_path
) -> None:
    path = tmp_path / "finetune.ipynb"
    path.write_bytes(NOTEBOOK.read_bytes())
    uri, cell_uris, texts = open_notebook(client, path)
    await checked(client, uri, 1)
    optimizer_cell = 7  # cell 8 of the notebook, 0-based here
    found = client.diagnostics[cell_uris[optimizer_cell]]
    assert [(d.code, d.range.start.line) for d in found] == [("LR001", 2)]
    assert texts[optimizer_cell].splitlines()[2].startswith("optimizer = AdamW(")
    assert all(not client.diagnostics[u] for i, u in enumerate(cell_uris) if i != optimizer_cell)

    shown = await client.text_document_hover_async(
        types.HoverParams(
            types.TextDocumentIdentifier(cell_uris[optimizer_cell]), found[0].range.start
        )
    )
    assert "uniform-lr" in shown.contents.value

    offered = await actions_at(client, cell_uris[optimizer_cell], 2)
    fix = next(a for a in offered if "discriminative" in a.title)
    assert fix.edit is not None and set(fix.edit.changes) <= set(cell_uris)
    fixed = list(texts)
    for cell_uri, edits in fix.edit.changes.items():
        index = cell_uris.index(cell_uri)
        fixed[index] = apply(texts[index], edits)
    cells = json.loads(NOTEBOOK.read_text(encoding="utf-8"))["cells"]
    as_json = notebooks.to_json([(c["cell_type"], t) for c, t in zip(cells, fixed, strict=True)])
    assert [d.code for d in api.check_source(as_json, "fixed.ipynb")] == []


async def test_editing_a_cell_checks_the_notebook_again(client, tmp_path) -> None:
    path = tmp_path / "finetune.ipynb"
    path.write_bytes(NOTEBOOK.read_bytes())
    uri, cell_uris, texts = open_notebook(client, path)
    await checked(client, uri, 1)
    line = texts[7].splitlines()[2]
    end = types.Position(2, len(line))
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            notebook_document=types.VersionedNotebookDocumentIdentifier(version=2, uri=uri),
            change=types.NotebookDocumentChangeEvent(
                cells=types.NotebookDocumentCellChanges(
                    text_content=[
                        types.NotebookDocumentCellContentChanges(
                            document=types.VersionedTextDocumentIdentifier(
                                version=2, uri=cell_uris[7]
                            ),
                            changes=[
                                types.TextDocumentContentChangePartial(
                                    range=types.Range(end, end), text="  # noqa: LR001"
                                )
                            ],
                        )
                    ]
                )
            ),
        )
    )
    await checked(client, uri, 2)
    assert list(client.diagnostics[cell_uris[7]]) == []
