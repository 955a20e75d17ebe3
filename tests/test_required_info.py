"""required_info's keys for facts given without being asked (issue 19): validated when the scorecard loads,
each error naming the file and the key; layered over the default like its other tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.config.scorecard import ScorecardError, load_scorecard


def _load_error(tmp_path: Path, text: str) -> tuple[str, Path]:
    path = tmp_path / "center.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScorecardError) as info:
        load_scorecard(path)
    return str(info.value), path


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            "[checks.required_info.given_patterns]\nplate = ['[京沪']\n",
            ["checks.required_info.given_patterns.plate[0]", "regular expression"],
            id="pattern-not-a-regex",
        ),
        pytest.param(
            "[checks.required_info.given_patterns]\ntime = ['昨天', '(?:上午)?']\n",
            ["checks.required_info.given_patterns.time[1]", "empty"],
            id="pattern-matches-nothing-said",
        ),
        pytest.param(
            '[checks.required_info.given_kinds]\ncontact_number = ["mobile"]\n',
            ["checks.required_info.given_kinds.contact_number[0]", "phone"],
            id="kind-unknown",
        ),
        pytest.param(
            '[checks.required_info.given_kinds]\nfloor = ["address"]\n',
            ["checks.required_info.given_kinds.floor", "not a fact"],
            id="kinds-for-no-fact",
        ),
        pytest.param(
            "[checks.required_info.given_patterns]\nplates = ['车牌']\n",
            ["checks.required_info.given_patterns.plates", "not a fact"],
            id="patterns-for-no-fact",
        ),
        pytest.param(
            '[checks.required_info]\nrestatements = "确认一下"\n',
            ["checks.required_info.restatements", "list"],
            id="restatements-not-a-list",
        ),
    ],
)
def test_invalid_given_keys_name_file_and_key(tmp_path: Path, text: str, names: list[str]) -> None:
    message, path = _load_error(tmp_path, text)
    assert message.startswith(f"{path}: ")
    for name in names:
        assert name in message


def test_given_tables_merge_key_by_key(tmp_path: Path) -> None:
    default = load_scorecard().checks["required_info"]
    path = tmp_path / "center.toml"
    path.write_text(
        '[checks.required_info.facts.repair]\nfloor = ["几楼"]\n\n'
        "[checks.required_info.given_patterns]\nfloor = ['[0-9一二三四五六七八九十]+楼']\ntime = []\n",
        encoding="utf-8",
    )
    card = load_scorecard(path).checks["required_info"]
    assert card.given_patterns["floor"] == ("[0-9一二三四五六七八九十]+楼",)  # type: ignore[attr-defined]
    assert card.given_patterns["time"] == ()  # type: ignore[attr-defined]  # a center turns volunteering off
    assert card.given_patterns["nature"] == default.given_patterns["nature"]  # type: ignore[attr-defined]
    assert card.given_kinds == default.given_kinds  # type: ignore[attr-defined]


def test_every_default_fact_can_be_given() -> None:
    """Each fact of the default call types has a way to be credited when the customer volunteers it."""
    settings = load_scorecard().checks["required_info"]
    facts = {fact for table in settings.facts.values() for fact in table}  # type: ignore[attr-defined]
    givable = set(settings.given_kinds) | set(settings.given_patterns)  # type: ignore[attr-defined]
    assert facts <= givable
