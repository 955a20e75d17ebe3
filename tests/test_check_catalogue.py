"""docs/checks.md's table of checks is generated from the registry (qa_pipeline/config/catalogue.py) and kept
in step: a check added, a docstring, a key, a default or a range changed without regenerating fails here."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from qa_pipeline.checks import REGISTRY
from qa_pipeline.config import catalogue
from qa_pipeline.config.scorecard import display_order

DOC = Path(__file__).resolve().parents[1] / "docs" / "checks.md"


def test_docs_checks_table_is_up_to_date() -> None:
    text = DOC.read_text(encoding="utf-8")
    expected = catalogue.rewrite(text)
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                text.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                "docs/checks.md",
                "docs/checks.md (generated)",
            )
        )
        pytest.fail(f"docs/checks.md's checks table is out of date; run `{catalogue.COMMAND}`\n{diff}")


def test_every_check_has_a_row_in_display_order() -> None:
    rows = [line for line in catalogue.table().splitlines() if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(display_order())
    assert sorted(display_order()) == sorted(REGISTRY)


@pytest.mark.parametrize("check_id", sorted(REGISTRY))
def test_every_docstring_says_what_and_cites_a_standard(check_id: str) -> None:
    summary, standard, rest = catalogue.describe(REGISTRY[check_id])
    assert summary and standard and rest
    assert standard[:3].isdigit(), standard  # a seed document's number: 001: 5 (...)


def test_describe_splits_the_docstring() -> None:
    class Example:
        id = "example"
        __doc__ = """The agent says hello.

        Standards: 001: 5 (a "b. c"); 004: 15 (一.1 "铃响三声
        之内"). Passes when it does. Not applicable
        otherwise.
        """

    summary, standard, rest = catalogue.describe(Example)  # type: ignore[arg-type]
    assert summary == "The agent says hello."
    assert standard == '001: 5 (a "b. c"); 004: 15 (一.1 "铃响三声之内")'
    assert rest == "Passes when it does. Not applicable otherwise."


def test_a_docstring_without_a_standard_is_refused() -> None:
    class Example:
        id = "example"
        __doc__ = "The agent says hello.\n\nPasses when it does.\n"

    with pytest.raises(catalogue.CatalogueError, match="example: the docstring cites no standard"):
        catalogue.describe(Example)  # type: ignore[arg-type]


def test_rewrite_replaces_only_the_marked_table() -> None:
    document = (
        "# Checks\n\nbefore\n\n<!-- checks table: generated -->\nold | table\n<!-- end checks table -->\n\nafter\n"
    )
    rewritten = catalogue.rewrite(document)
    assert rewritten.startswith("# Checks\n\nbefore\n\n" + catalogue.BEGIN + "\n| id | category |")
    assert rewritten.endswith("|\n" + catalogue.END + "\n\nafter\n")
    assert catalogue.rewrite(rewritten) == rewritten
    with pytest.raises(catalogue.CatalogueError, match="markers"):
        catalogue.rewrite("# Checks\n\nno table here\n")


def test_cells_escape_pipes_and_asterisks_outside_code() -> None:
    assert catalogue._cell('"a|b" **先生 `x*y`') == '"a\\|b" \\*\\*先生 `x*y`'


def test_main_prints_and_writes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert catalogue.main([]) == 0
    assert capsys.readouterr().out == catalogue.table()
    doc = tmp_path / "checks.md"
    doc.write_text("intro\n<!-- checks table: generated -->\n<!-- end checks table -->\n", encoding="utf-8")
    assert catalogue.main(["--write", str(doc)]) == 0
    assert doc.read_text(encoding="utf-8") == "intro\n" + catalogue.section() + "\n"
    assert "rewritten" in capsys.readouterr().out
