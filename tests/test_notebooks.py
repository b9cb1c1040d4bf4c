"""Jupyter notebooks: code cells checked as one script, findings at `cell N:line:col`, IPython
syntax masked, and `lrlint fix` rewriting only the cells it fixes (outputs and metadata kept)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint import sources
from lrlint.cli import cli
from lrlint.discovery import discover
from lrlint.engine import CheckOptions, check_file, check_unit
from lrlint.fix.fixer import FixOptions
from lrlint.fix.notebooks import NotebookFix, fix_text
from lrlint.registry import enabled_codes
from lrlint.sources import notebook
from tests.conftest import ALL_CODES, FIXTURES

NOTEBOOKS = sorted((FIXTURES / "notebooks").glob("*.ipynb"))
DEFAULT = enabled_codes(None, (), ())
_EXPECT = re.compile(r"#\s*lrlint-expect:\s*([A-Z0-9, ]+)")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def cells(*sources: str | tuple[str, str], **metadata: object) -> str:
    """A notebook's JSON as Jupyter writes it; a tuple is (cell_type, source)."""
    raw = []
    for number, item in enumerate(sources, start=1):
        kind, text = item if isinstance(item, tuple) else ("code", item)
        cell: dict[str, object] = {"cell_type": kind, "id": f"c{number}", "metadata": {}}
        cell["source"] = text.splitlines(keepends=True)
        if kind == "code":
            cell.update(execution_count=number, outputs=[])
        raw.append(cell)
    data = {"cells": raw, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def check_text(text: str, codes: frozenset[str] = DEFAULT) -> list:
    return check_unit(sources.from_text(text, "nb.ipynb"), CheckOptions(codes))


def findings(text: str, codes: frozenset[str] = DEFAULT) -> set[tuple[int | None, int, str]]:
    return {(d.cell, d.line, d.code) for d in check_text(text, codes)}


LOAD = 'import torch\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained("bert-base-uncased")\n'
UNIFORM = "optimizer = torch.optim.AdamW(model.parameters(), lr=2e-5)\n"


# ---- the fixtures ----------------------------------------------------------------------------
def _expected(path: Path) -> set[tuple[int, int, str]]:
    marks = set()
    for cell in notebook.read(path).cells:
        for number, line in enumerate(cell.source.splitlines(), start=1):
            match = _EXPECT.search(line)
            if match:
                marks |= {(cell.number, number, c.strip()) for c in match.group(1).split(",")}
    return marks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_fixture_findings_match_the_markers(path: Path) -> None:
    result = check_file(str(path), CheckOptions(ALL_CODES))
    assert result.error is None
    assert {(d.cell, d.line, d.code) for d in result.diagnostics} == _expected(path)


def test_fixtures_are_real_notebooks_with_outputs_and_metadata() -> None:
    data = json.loads((FIXTURES / "notebooks" / "finetune_sst2.ipynb").read_text("utf-8"))
    assert data["nbformat"] == 4
    assert data["metadata"]["kernelspec"]["language"] == "python"
    outputs = [o for cell in data["cells"] if cell["cell_type"] == "code" for o in cell["outputs"]]
    assert {o["output_type"] for o in outputs} >= {"stream", "execute_result", "display_data"}
    sources = ["".join(cell["source"]) for cell in data["cells"]]
    assert any(s.startswith("%pip") for s in sources) and any("!nvidia-smi" in s for s in sources)
    assert any(s.startswith("%%time") for s in sources) and any(
        s.startswith("%%bash") for s in sources
    )


# ---- cells as one script ---------------------------------------------------------------------
def test_names_flow_between_cells_and_cells_are_numbered_like_ruff() -> None:
    text = cells(("markdown", "# Fine-tuning\n"), LOAD, ("markdown", "## Train\n"), UNIFORM)
    assert findings(text) == {(4, 1, "LR001")}


def test_the_model_in_a_later_cell_is_not_known_earlier_but_still_flows() -> None:
    text = cells(
        "import torch\nfrom transformers import AutoModel",
        'model = AutoModel.from_pretrained("x")',
        "x = 1\n" + UNIFORM,
    )
    assert findings(text) == {(3, 2, "LR001")}


def test_lines_named_in_a_message_are_lines_of_their_cell() -> None:
    groups = (
        'no_decay = ["bias", "LayerNorm.weight"]\n'
        "groups = [\n"
        '    {"params": [p for n, p in model.named_parameters() if n not in no_decay], "weight_decay": 0.1},\n'
        "]\n"
    )
    text = cells(
        LOAD, ("markdown", "# train"), groups + "opt = torch.optim.AdamW(groups, lr=2e-5)\n"
    )
    [finding] = check_text(text, frozenset({"LR006"}))
    assert (finding.cell, finding.line) == (3, 5)
    assert "in the group at line 3 of cell 3" in finding.message


def test_noqa_in_a_cell() -> None:
    text = cells(LOAD, UNIFORM.rstrip("\n") + "  # noqa: LR001\n")
    assert findings(text) == set()


def test_a_freeze_in_another_cell_counts() -> None:
    freeze = "for p in model.embeddings.parameters():\n    p.requires_grad = False\n"
    assert findings(cells(LOAD, freeze, UNIFORM)) == set()


def test_a_cell_that_does_not_parse_is_reported_and_the_rest_still_checked() -> None:
    text = cells(LOAD, "def broken(:\n    pass\n", UNIFORM)
    assert findings(text) == {(2, 1, "LR900"), (3, 1, "LR001")}


def test_a_notebook_without_training_code_is_clean() -> None:
    assert findings(cells("import pandas as pd\n", "!ls\n", "df = pd.read_csv('x.csv')")) == set()


def test_a_notebook_of_another_language_is_skipped() -> None:
    text = cells(LOAD + UNIFORM, language_info={"name": "R"})
    assert findings(text) == set()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"worksheets": []}', "nbformat 3"),
        ("[]", "not an object"),
    ],
)
def test_a_broken_notebook_is_lr900(tmp_path: Path, raw: str, message: str) -> None:
    path = tmp_path / "bad.ipynb"
    path.write_text(raw, encoding="utf-8")
    result = check_file(str(path), CheckOptions(ALL_CODES))
    (diagnostic,) = result.diagnostics
    assert diagnostic.code == "LR900" and message in diagnostic.message
    assert diagnostic.cell is None
    assert check_file(str(path), CheckOptions(frozenset({"LR001"}))).error is not None


# ---- IPython syntax --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "line",
    [
        "%pip install -q transformers",
        "!nvidia-smi",
        "!pip install torch \\\n    transformers",
        "files = !ls data/",
        "t = %timeit -o model(x)",
        "%load_ext autoreload",
        "model?",
        "AdamW??",
        "?model",
    ],
)
def test_ipython_lines_do_not_break_parsing(line: str) -> None:
    text = cells(LOAD, line + "\n" + UNIFORM)
    assert findings(text) == {(2, line.count("\n") + 2, "LR001")}


def test_ipython_lines_inside_blocks() -> None:
    text = cells(LOAD, "if torch.cuda.is_available():\n    !nvidia-smi\n" + UNIFORM)
    assert findings(text) == {(2, 3, "LR001")}


def test_python_cell_magics_are_checked_and_others_skipped() -> None:
    assert findings(cells(LOAD, "%%time\n" + UNIFORM)) == {(2, 2, "LR001")}
    assert findings(cells(LOAD, "%%capture out\n" + UNIFORM)) == {(2, 2, "LR001")}
    assert findings(cells(LOAD, "%%bash\n" + UNIFORM)) == set()
    assert findings(cells(LOAD, "%%writefile train.py\n" + UNIFORM)) == set()


def test_percent_and_bang_that_are_python_stay_python() -> None:
    cell = notebook.Cell(
        1,
        "code",
        's = ("%d items"\n     % 3)\nt = """\n!not a shell line\n%not a magic\n"""\n!ls\n',
    )
    masked = notebook.mask(cell, "tag")
    assert masked is not None
    assert sorted(masked.masked) == [7]
    assert masked.text.splitlines()[:6] == cell.source.splitlines()[:6]
    assert masked.text.splitlines()[6] == "pass  # tag-7"


def test_automagic_lines_are_ipython_not_syntax_errors() -> None:
    # IPython runs `pip install ...` and `cd data` as the `%pip` and `%cd` magics
    setup = "pip install -q transformers peft\ncd /content/data\n"
    assert findings(cells(setup + LOAD, UNIFORM)) == {(2, 1, "LR001")}
    cell = notebook.Cell(1, "code", setup + "time = 5\npip = [1]\nls\n")
    masked = notebook.mask(cell, "tag")
    # a bare `ls` is IPython's `%ls` too; the assignments stay Python
    assert masked is not None and sorted(masked.masked) == [1, 2, 5]


def test_a_plain_python_cell_is_not_touched() -> None:
    cell = notebook.Cell(1, "code", "x = 5 % 3\nprint(x != 2)\n")
    masked = notebook.mask(cell, "tag")
    assert masked is not None and masked.text == cell.source and masked.masked == {}


# ---- discovery and the command line ---------------------------------------------------------
def test_notebooks_are_discovered_and_checkpoints_skipped(tmp_path: Path) -> None:
    (tmp_path / "nb.ipynb").write_text(cells(LOAD + UNIFORM), encoding="utf-8")
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(cells(LOAD + UNIFORM))
    (tmp_path / "notes.json").write_text("{}")
    assert discover([str(tmp_path)]).files == [str(tmp_path / "nb.ipynb")]


def test_check_prints_cell_locations(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(cells(("markdown", "# hi\n"), LOAD, UNIFORM), encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:cell 3:1:13: LR001 ")
    (record,) = json.loads(run("check", "--format", "json", str(path)).stdout)
    assert (record["cell"], record["location"]) == (3, {"row": 1, "column": 13})


def test_parallel_run_checks_notebooks(tmp_path: Path) -> None:
    for number in range(6):
        (tmp_path / f"nb{number}.ipynb").write_text(cells(LOAD, UNIFORM), encoding="utf-8")
    result = run("check", "--jobs", "2", str(tmp_path))
    assert result.stdout.count("cell 2:1:13: LR001") == 6


# ---- fixing ----------------------------------------------------------------------------------
def _fixed(text: str, strategy: str = "discriminative") -> NotebookFix:
    return fix_text(text, FixOptions(strategy))


@pytest.mark.parametrize("strategy", ["discriminative", "freeze", "gradual"])
def test_fix_rewrites_only_the_cell_and_keeps_outputs_and_metadata(strategy: str) -> None:
    path = FIXTURES / "notebooks" / "finetune_sst2.ipynb"
    before = path.read_text("utf-8")
    result = _fixed(before, strategy)
    assert result.fixed == [(8, 3)] and not result.refused
    assert [change.number for change in result.changes] == [8]
    old, new = json.loads(before), json.loads(result.text)
    assert new["metadata"] == old["metadata"]
    for number, (a, b) in enumerate(zip(old["cells"], new["cells"], strict=True), start=1):
        assert {k: v for k, v in a.items() if k != "source"} == {
            k: v for k, v in b.items() if k != "source"
        }
        assert (a["source"] == b["source"]) is (number != 8)
    assert new["cells"][7]["source"][0] == "%%time\n"  # the magic is back
    # the JSON layout is Jupyter's: nothing outside the cell's source moved
    assert json.dumps(new, sort_keys=True, indent=1, ensure_ascii=False) + "\n" == result.text
    assert not {d.code for d in check_text(result.text)}


def test_fix_keeps_magics_in_the_fixed_cell_and_a_missing_final_newline() -> None:
    text = cells(LOAD, "!nvidia-smi\n%time x = 1\n" + UNIFORM.rstrip("\n"))
    result = _fixed(text)
    source = json.loads(result.text)["cells"][1]["source"]
    assert source[:2] == ["!nvidia-smi\n", "%time x = 1\n"]
    assert not source[-1].endswith("\n")
    assert "lrlint-" not in result.text


@pytest.mark.parametrize(
    "dump",
    [
        lambda data: json.dumps(data, indent=2) + "\n",
        lambda data: json.dumps(data, indent=4, ensure_ascii=True),
        lambda data: json.dumps(data, separators=(",", ":")),
    ],
    ids=["indent-2", "indent-4-ascii", "compact"],
)
def test_fix_keeps_the_files_json_style(dump) -> None:
    data = json.loads(cells(LOAD, "# 학습률\n" + UNIFORM))
    text = dump(data)
    result = _fixed(text)
    assert result.changed
    new = json.loads(result.text)
    data["cells"][1]["source"] = new["cells"][1]["source"]
    assert result.text == dump(data)


def test_fix_handles_a_source_stored_as_one_string() -> None:
    data = json.loads(cells(LOAD, UNIFORM))
    data["cells"][1]["source"] = UNIFORM
    text = json.dumps(data, indent=1)
    result = _fixed(text)
    new = json.loads(result.text)
    assert isinstance(new["cells"][1]["source"], str)
    assert "lower_blocks" in new["cells"][1]["source"]


def test_split_refuses_code_that_moved_between_cells() -> None:
    joined = notebook.join(notebook.parse(cells(LOAD, UNIFORM)))
    second = joined.marker(2)
    lost = joined.text.replace(second + "\n", "")
    with pytest.raises(notebook.Unmappable, match="between cells"):
        notebook.split(joined, lost)
    first = joined.marker(1)
    swapped = joined.text.replace(first, "#1").replace(second, first).replace("#1", second)
    with pytest.raises(notebook.Unmappable, match="between cells"):
        notebook.split(joined, swapped)


def test_fix_command_on_a_notebook(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text(cells(("markdown", "# hi\n"), LOAD, UNIFORM), encoding="utf-8")
    before = path.read_bytes()
    diff = run("fix", "--diff", str(path))
    assert diff.exit_code == 0
    assert (
        f"--- a/{path}:cell 3" in diff.stdout and "+optimizer = torch.optim.AdamW([" in diff.stdout
    )
    assert f"{path}:cell 3:1: would fix LR001 (discriminative)" in diff.stdout
    assert path.read_bytes() == before
    result = run("fix", str(path))
    assert result.exit_code == 0
    assert f"{path}:cell 3:1: fixed LR001 (discriminative)" in result.stdout
    assert run("check", str(path)).exit_code == 0
    assert run("fix", str(path)).stdout.strip() == "Nothing to fix."


def test_fix_reports_what_it_cannot_fix_by_cell(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    # the lr comes through a call's **settings(): read twice (groups and optimizer) it could
    # differ, so there is no rate to write groups with, even at run time
    load = (
        "import torch\nfrom transformers import AutoModel\nmodel = AutoModel.from_pretrained('x')\n"
    )
    kwargs = "x = 1\nopt = torch.optim.AdamW(model.parameters(), **settings())\n"
    path.write_text(cells(load, kwargs), encoding="utf-8")
    before = path.read_bytes()
    result = run("fix", str(path))
    assert result.exit_code == 1
    assert f"{path}:cell 2:2: LR001 not fixed:" in result.stdout
    assert path.read_bytes() == before


def test_fix_on_a_broken_notebook_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nb.ipynb"
    path.write_text("{oops", encoding="utf-8")
    result = run("fix", str(path))
    assert result.exit_code == 2
    assert "invalid JSON" in result.stderr
    assert path.read_text() == "{oops"
