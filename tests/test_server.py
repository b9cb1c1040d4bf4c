"""`lrlint server` end to end: the real server in a subprocess, driven over stdio by a real LSP
client (pytest-lsp) that announces VS Code's capabilities."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

pytest.importorskip("pytest_lsp", reason="the server tests need the test extra (pytest-lsp)")

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from lrlint import api
from lrlint.server.edits import apply
from tests.conftest import FIXTURES

SERVER = [sys.executable, "-m", "lrlint", "server"]
BERT = (
    "import torch\n"
    "from transformers import BertForSequenceClassification\n"
    'model = BertForSequenceClassification.from_pretrained("bert-base-uncased")\n'
)
UNIFORM = BERT + "opt = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"
# no epoch loop: the gradual strategy has nothing to unfreeze by, and refuses
NO_EPOCH_LOOP = UNIFORM + "step = 0\nwhile step < 100:\n    step += 1\n"
TIMEOUT = 20.0
pytestmark = pytest.mark.asyncio


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=tmp_path.as_uri(),
        initialization_options={"debounce": 0.2},
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def checked(client: LanguageClient, uri: str, version: int) -> list[types.Diagnostic]:
    """The diagnostics published for this version (the server logs each finished check)."""
    mark = f"checked {uri} (version {version})"

    async def wait() -> None:
        while not any(m.message.startswith(mark) for m in client.log_messages):
            await asyncio.sleep(0.02)

    await asyncio.wait_for(wait(), TIMEOUT)
    return list(client.diagnostics.get(uri, []))


def open_file(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", version, text))
    )
    return uri


async def actions_at(
    client: LanguageClient, uri: str, line: int, only: list[str] | None = None
) -> list[types.CodeAction]:
    here = types.Range(types.Position(line, 0), types.Position(line, 0))
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), here, types.CodeActionContext([], only=only)
        )
    )
    return [a for a in result or [] if isinstance(a, types.CodeAction)]


async def test_open_shows_lr001_with_code_link_and_severity(client, tmp_path) -> None:
    uri = open_file(client, tmp_path / "train.py", UNIFORM)
    found = await checked(client, uri, 1)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in found] == [
        ("LR001", 3, 6)
    ]
    finding = found[0]
    assert finding.source == "lrlint"
    assert finding.severity == types.DiagnosticSeverity.Error  # as `--format github` says
    assert finding.message == api.check_source(UNIFORM)[0].message
    href = finding.code_description.href
    assert href.endswith("/LR001.md") and Path(href.removeprefix("file://")).is_file()


async def test_typing_is_debounced_and_only_the_last_version_is_reported(client, tmp_path) -> None:
    uri = open_file(client, tmp_path / "train.py", UNIFORM)
    await checked(client, uri, 1)
    for version in range(2, 12):  # ten keystrokes, each a comment line above everything
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                [
                    types.TextDocumentContentChangePartial(
                        range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                        text="# a\n",
                    )
                ],
            )
        )
    found = await checked(client, uri, 11)
    assert [(d.code, d.range.start.line) for d in found] == [("LR001", 13)]
    checks = [m.message for m in client.log_messages if m.message.startswith(f"checked {uri}")]
    assert len(checks) == 2, checks  # the open, then the last keystroke: the rest never ran


async def test_noqa_and_project_configuration_apply(client, tmp_path) -> None:
    silenced = UNIFORM.replace("lr=2e-5)\n", "lr=2e-5)  # noqa: LR001\n")
    uri = open_file(client, tmp_path / "quiet.py", silenced)
    assert await checked(client, uri, 1) == []

    project = tmp_path / "project"
    project.mkdir()
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[tool.lrlint]\nignore = ["LR001"]\n')
    other = open_file(client, project / "train.py", UNIFORM)
    assert await checked(client, other, 1) == []

    # the project's configuration changes on disk: the open file of that project is re-checked
    pyproject.write_text("[tool.lrlint]\nextend-select = []\n")
    client.log_messages.clear()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            [types.FileEvent(pyproject.as_uri(), types.FileChangeType.Changed)]
        )
    )
    assert [d.code for d in await checked(client, other, 1)] == ["LR001"]


async def test_quick_fixes_are_minimal_edits_that_check_clean(client, tmp_path) -> None:
    uri = open_file(client, tmp_path / "train.py", NO_EPOCH_LOOP)
    (finding,) = await checked(client, uri, 1)
    found = await actions_at(client, uri, finding.range.start.line)
    titles = [a.title for a in found]
    assert any("discriminative" in t for t in titles)
    assert any("freeze" in t for t in titles)
    assert "lrlint: suppress with # noqa: LR001" in titles
    gradual = next(a for a in found if "gradual" in a.title)
    assert gradual.disabled is not None and "epoch" in gradual.disabled.reason
    assert gradual.edit is None
    # the reason is on the diagnostic too, for clients that do not show disabled actions
    assert any("epoch" in r.message for r in finding.related_information or [])

    for action in found:
        if action.disabled is not None:
            continue
        (edits,) = action.edit.changes.values()
        fixed = apply(NO_EPOCH_LOOP, edits)
        assert [d.code for d in api.check_source(fixed)] == [], action.title
        # minimal: the untouched lines above the optimizer are not part of any edit
        assert all(edit.range.start.line >= 3 for edit in edits), action.title


async def test_fix_all_source_action(client, tmp_path) -> None:
    uri = open_file(client, tmp_path / "train.py", UNIFORM)
    await checked(client, uri, 1)
    found = await actions_at(client, uri, 0, only=[types.CodeActionKind.Source])
    assert [a.kind for a in found] == ["source.fixAll.lrlint"]
    assert found[0].title == "lrlint: fix all lrlint findings in this file"
    (edits,) = found[0].edit.changes.values()
    assert api.check_source(apply(UNIFORM, edits)) == []


async def test_hover_gives_the_rule_summary_and_why(client, tmp_path) -> None:
    uri = open_file(client, tmp_path / "train.py", UNIFORM)
    (finding,) = await checked(client, uri, 1)
    shown = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), finding.range.start)
    )
    assert "uniform-lr" in shown.contents.value
    assert "Why is this bad?" in shown.contents.value
    assert "discriminative" in shown.contents.value.lower()
    nothing = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), types.Position(0, 0))
    )
    assert nothing is None


async def test_bad_input_gets_lr900_and_internal_errors_are_logged(client, tmp_path) -> None:
    broken = (FIXTURES / "syntax_error.py").read_text(encoding="utf-8")
    uri = open_file(client, tmp_path / "broken.py", broken)
    assert {d.code for d in await checked(client, uri, 1)} == {"LR900"}

    # a real input that makes lrlint's analysis recurse too deep (an internal error)
    deep = UNIFORM + "x = " + " + ".join(["model"] * 600) + "\n"
    deep_uri = open_file(client, tmp_path / "deep.py", deep)
    assert await checked(client, deep_uri, 1) == []
    errors = [m for m in client.log_messages if m.type == types.MessageType.Error]
    assert any("internal error" in m.message and "deep.py" in m.message for m in errors)

    # and the server goes on answering
    again = open_file(client, tmp_path / "train.py", UNIFORM)
    assert [d.code for d in await checked(client, again, 1)] == ["LR001"]


async def test_a_slow_file_does_not_hold_up_a_small_one(client, tmp_path) -> None:
    block = UNIFORM.replace("opt = ", "    opt = ").replace("model = ", "    model = ")
    body = "".join(f"def setup_{i}():\n" + block.split("\n", 2)[2] for i in range(1000))
    slow = BERT + body
    slow_uri = open_file(client, tmp_path / "slow.py", slow)
    small_uri = open_file(client, tmp_path / "small.py", UNIFORM)
    await checked(client, small_uri, 1)
    # the small file was answered while the slow one was still being checked
    assert not any(m.message.startswith(f"checked {slow_uri}") for m in client.log_messages)
    assert len(await checked(client, slow_uri, 1)) >= 1


async def test_saving_a_file_rechecks_the_open_files_of_its_project(client, tmp_path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[tool.lrlint]\n")
    train = open_file(client, project / "train.py", UNIFORM)
    helper = open_file(client, project / "helpers.py", "def helper():\n    return 1\n")
    outside = open_file(client, tmp_path / "elsewhere.py", UNIFORM)
    for uri in (train, helper, outside):
        await checked(client, uri, 1)
    client.log_messages.clear()
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(helper))
    )
    await checked(client, train, 1)  # checked again: a file of its project changed
    await checked(client, helper, 1)
    await asyncio.sleep(0.3)
    assert not any(m.message.startswith(f"checked {outside}") for m in client.log_messages)
