"""The server's pure parts, without a client: minimal edits, positions in UTF-16, the noqa
suppression edit, the notebook round trip and which open files a change affects."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("lsprotocol", reason="the server needs the lsp extra")

from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types

from lrlint import api
from lrlint.diagnostics import Diagnostic
from lrlint.server import actions, checking, notebooks
from lrlint.server.conversion import finding_range, split_lines, to_lsp
from lrlint.server.documents import same_project
from lrlint.server.edits import apply, minimal_edits

LINES = st.lists(st.sampled_from(["a", "b", "é", "😀x", ""]), max_size=6)
ENDINGS = st.sampled_from(["\n", "\r\n"])


@given(LINES, LINES, ENDINGS, st.booleans(), st.booleans())
def test_minimal_edits_turn_the_old_text_into_the_new(old, new, end, old_nl, new_nl) -> None:
    before = end.join(old) + (end if old_nl and old else "")
    after = end.join(new) + (end if new_nl and new else "")
    assert apply(before, minimal_edits(before, after)) == after


def test_edits_leave_unchanged_lines_out() -> None:
    before = "".join(f"line {i}\n" for i in range(100))
    after = before.replace("line 50\n", "line fifty\nline 50.5\n")
    (edit,) = minimal_edits(before, after)
    assert (edit.range.start.line, edit.range.end.line) == (50, 51)
    assert edit.new_text == "line fifty\nline 50.5\n"


def test_columns_are_counted_in_utf16_units() -> None:
    line = 's = "😀"; opt = AdamW(m.parameters())\n'
    col = line.index("opt") + 1  # lrlint's 1-based column, in characters
    where = finding_range([line], 1, col, lambda t: len(t.encode("utf-16-le")) // 2)
    assert where.start.character == col  # the emoji takes two UTF-16 units
    assert split_lines("a\x0cb\nc") == ["a\x0cb\n", "c"]  # a form feed ends no LSP line


def test_severity_follows_github_format() -> None:
    opt_in = to_lsp(Diagnostic("t.py", 1, 1, "LR009", "m"), ["x\n"])
    on = to_lsp(Diagnostic("t.py", 1, 1, "LR001", "m"), ["x\n"])
    assert opt_in.severity == types.DiagnosticSeverity.Warning
    assert on.severity == types.DiagnosticSeverity.Error


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("opt = AdamW(p)\n", "opt = AdamW(p)  # noqa: LR001\n"),
        (
            "opt = AdamW(p)  # noqa: LR006 (decays all)\n",
            "opt = AdamW(p)  # noqa: LR006, LR001 (decays all)\n",
        ),
    ],
)
def test_suppress_adds_the_code_to_the_line(line: str, expected: str) -> None:
    site = actions.Site(
        "file:///t.py",
        (None, 1),
        "LR001",
        types.Diagnostic(types.Range(types.Position(0, 0), types.Position(0, 3)), "m"),
    )
    action = actions.suppress(site, line)
    (edits,) = action.edit.changes.values()
    assert apply(line, edits) == expected
    assert actions.suppress(site, "opt = AdamW(p)  # noqa\n") is None  # silenced already


def test_notebook_cells_round_trip_through_json() -> None:
    cells = [("markdown", "# Title"), ("code", "import torch\nx = 1"), ("raw", "ls -la")]
    assert notebooks.cells_of(notebooks.to_json(cells)) == cells
    assert notebooks.cell_kind(True, "r") == "raw"


def test_configuration_is_read_per_project_and_again_after_forget(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.lrlint]\nignore = ["LR001"]\n')
    script = tmp_path / "train.py"
    cache = checking.SettingsCache()
    assert cache.for_path(script).config.ignore == ("LR001",)
    (tmp_path / "pyproject.toml").write_text("[tool.lrlint]\nnum-examples = 5\n")
    assert cache.for_path(script).config.ignore == ("LR001",)  # cached until told
    cache.forget()
    assert cache.for_path(script).config.num_examples == 5
    (tmp_path / "pyproject.toml").write_text("[tool.lrlint]\nbogus = 1\n")
    cache.forget()
    broken = cache.for_path(script)
    assert broken.error and "bogus" in broken.error  # said, and checked with the defaults
    code = "import torch\nfrom transformers import AutoModel\nm = AutoModel.from_pretrained('x')\nopt = torch.optim.AdamW(m.parameters(), lr=1e-5)\n"
    assert [d.code for d in checking.check(code, script, broken).diagnostics] == ["LR001"]
    assert api.check_source(code) != []


def test_a_change_concerns_the_open_files_of_its_project(tmp_path: Path) -> None:
    project, other = tmp_path / "project", tmp_path / "other"
    (project / "src").mkdir(parents=True)
    other.mkdir()

    def root(path: Path) -> Path | None:
        return project if project in path.parents else None

    script = project / "src" / "train.py"
    assert same_project(script, project / "pyproject.toml", root)
    assert same_project(script, project / "src" / "models.py", root)
    assert not same_project(script, other / "models.py", root)
    loose = other / "train.py"  # no [tool.lrlint] above it: its folder is its project
    assert same_project(loose, other / "models.py", root)
    assert not same_project(loose, other / "sub" / "models.py", root)
