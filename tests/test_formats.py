"""The CI formats (SARIF 2.1.0 for code scanning, GitHub Actions annotations) and --statistics."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lrlint.cli import cli
from lrlint.diagnostics import Diagnostic
from lrlint.docs import page
from lrlint.registry import RULES
from lrlint.reporting import github
from tests.conftest import FIXTURES, ROOT

NOTEBOOK = FIXTURES / "notebooks" / "finetune_sst2.ipynb"
PLAIN = FIXTURES / "plain_loop.py"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def _json_line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


# ---- SARIF -----------------------------------------------------------------------------------
PLAIN_URI, NOTEBOOK_URI = "fixtures/plain_loop.py", "fixtures/notebooks/finetune_sst2.ipynb"


@pytest.fixture(scope="module")
def sarif() -> dict:
    """From the repository root, as CI runs it: paths relative to the checkout."""
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        args = ["check", "--format", "sarif", "--select", "ALL", "./" + PLAIN_URI, NOTEBOOK_URI]
        result = CliRunner().invoke(cli, args)
    finally:
        os.chdir(old)
    assert result.exit_code == 1
    return json.loads(result.stdout)


def test_sarif_log_shape(sarif: dict) -> None:
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    (run_,) = sarif["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "lrlint" and driver["version"]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == ROOT.resolve().as_uri() + "/"


def test_sarif_rules_carry_the_rule_pages(sarif: dict) -> None:
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == [rule.code for rule in RULES]
    for rule, info in zip(rules, RULES, strict=True):
        assert rule["name"] == info.name
        assert rule["shortDescription"]["text"] == info.summary
        assert rule["help"]["markdown"] == page(info.code)
        assert rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["enabled"] is info.default_enabled


def test_sarif_results_point_at_the_code(sarif: dict) -> None:
    results = sarif["runs"][0]["results"]
    rules = sarif["runs"][0]["tool"]["driver"]["rules"]
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in {"error", "warning"}
        (location,) = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
    by_file = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]): r
        for r in results
    }
    plain = by_file[("LR001", PLAIN_URI)]
    assert plain["level"] == "error"
    assert plain["locations"][0]["physicalLocation"]["region"] == {
        "startLine": 45,
        "startColumn": 17,
    }
    assert by_file[("LR006", PLAIN_URI)]["level"] == "warning"  # opt-in rules are advice
    # a notebook finding lands on the .ipynb line that holds the code, cell and line in words
    cell = by_file[("LR001", NOTEBOOK_URI)]
    region = cell["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": _json_line_of(NOTEBOOK, "optimizer = AdamW(model.parameters()")}
    assert cell["message"]["text"].startswith("cell 8, line 3, column 13: every layer")
    assert cell["properties"] == {"cell": 8, "cellLine": 3, "cellColumn": 13}


def test_sarif_when_clean_has_the_rules_and_no_results(tmp_path: Path) -> None:
    path = tmp_path / "ok.py"
    path.write_text("print(1)\n")
    log = json.loads(run("check", "--format", "sarif", str(path)).stdout)
    assert log["runs"][0]["results"] == []
    assert len(log["runs"][0]["tool"]["driver"]["rules"]) == len(RULES)


def test_sarif_uri_for_a_path_outside_the_working_directory(tmp_path: Path) -> None:
    path = tmp_path / "train.py"
    path.write_text(PLAIN.read_text("utf-8"), encoding="utf-8")
    log = json.loads(run("check", "--format", "sarif", str(path)).stdout)
    (result,) = log["runs"][0]["results"]
    artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": path.resolve().as_uri()}


# ---- GitHub annotations ----------------------------------------------------------------------
def test_github_annotations() -> None:
    result = run("check", "--format", "github", "--select", "ALL", str(PLAIN), str(NOTEBOOK))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(
        re.match(r"^::(error|warning) file=[^,]+,line=\d+(,col=\d+)?,title=LR\d{3}::.+", line)
        for line in lines
    ), lines
    assert (
        f"::error file={PLAIN},line=45,col=17,title=LR001::every layer of the pretrained"
        in result.stdout
    )
    assert f"::warning file={PLAIN},line=45,col=17,title=LR006::" in result.stdout
    line = _json_line_of(NOTEBOOK, "optimizer = AdamW(model.parameters()")
    assert (
        f"::error file={NOTEBOOK},line={line},title=LR001::cell 8:3:13: every layer"
        in result.stdout
    )


def test_github_escapes_what_workflow_commands_need() -> None:
    diagnostic = Diagnostic("dir,a:b.py", 3, 1, "LR001", "100% wrong\nreally")
    assert github.render([diagnostic]) == (
        "::error file=dir%2Ca%3Ab.py,line=3,col=1,title=LR001::100%25 wrong%0Areally\n"
    )


def test_github_when_clean_prints_nothing(tmp_path: Path) -> None:
    path = tmp_path / "ok.py"
    path.write_text("print(1)\n")
    result = run("check", "--format", "github", str(path))
    assert (result.exit_code, result.stdout) == (0, "")


# ---- statistics ------------------------------------------------------------------------------
def test_statistics_counts_per_code() -> None:
    result = run("check", "--statistics", str(FIXTURES))
    assert result.exit_code == 1
    *rows, summary = result.stdout.splitlines()
    parsed = [re.match(r"^\s*(\d+)\s+(LR\d{3})\s+(\S+)", row).groups() for row in rows]
    listed = run("check", str(FIXTURES)).stdout
    for count, code, _name in parsed:
        assert int(count) == len(re.findall(rf": {code} ", listed))
    counts = [int(count) for count, _, _ in parsed]
    assert counts == sorted(counts, reverse=True)
    assert ("uniform-lr" in rows[0]) and "fixable" in rows[0]
    assert summary == listed.splitlines()[-1]


def test_statistics_as_json() -> None:
    records = json.loads(run("check", "--statistics", "--format", "json", str(FIXTURES)).stdout)
    assert records[0] == {
        "code": "LR001",
        "name": "uniform-lr",
        "count": records[0]["count"],
        "fixable": True,
    }
    assert sum(r["count"] for r in records) == len(
        json.loads(run("check", "--format", "json", str(FIXTURES)).stdout)
    )


def test_statistics_with_a_ci_format_is_a_usage_error() -> None:
    result = run("check", "--statistics", "--format", "sarif", str(PLAIN))
    assert result.exit_code == 2
    assert "--statistics" in result.stderr
