"""The scorecard: the default lists every registered check; a center's file is layered over it and
validated strictly, each error naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from qa_pipeline.checks import REGISTRY, CheckSettings
from qa_pipeline.checks.scorecard import Scorecard, ScorecardError, load_scorecard


def center_file(tmp_path: Path, text: str, name: str = "center.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> tuple[str, Path]:
    path = center_file(tmp_path, text)
    with pytest.raises(ScorecardError) as info:
        load_scorecard(path)
    return str(info.value), path


# -- the default ---------------------------------------------------------------------------------------


def test_default_lists_every_registered_check() -> None:
    default = load_scorecard()
    assert set(REGISTRY) == {"greeting", "closing_thanks", "forbidden_phrase"}
    assert set(default.checks) == set(REGISTRY)
    for check_id, settings in default.checks.items():
        assert isinstance(settings, REGISTRY[check_id].Settings)
    assert sorted(type(check).__name__ for check in default.enabled_checks()) == sorted(
        cls.__name__ for cls in REGISTRY.values()
    )


def test_default_values() -> None:
    default = load_scorecard(None)
    assert default.name == "default (standards 000-004)"
    assert default.pass_score == 80.0
    assert default.organisations == ("红树西岸管理处", "江苏CA", "客服中心")
    assert default.min_similarity == 0.85
    assert default.source == "<default default_scorecard.toml>"
    greeting = default.checks["greeting"]
    assert (greeting.enabled, greeting.weight, greeting.fatal, greeting.call_types) == (True, 10.0, False, ())
    assert greeting.within_s == 3.0  # type: ignore[attr-defined]
    assert greeting.salutations == ("您好", "你好")  # type: ignore[attr-defined]
    forbidden = default.checks["forbidden_phrase"]
    assert (forbidden.weight, forbidden.fatal) == (20.0, True)
    assert forbidden.min_similarity == 0.9  # type: ignore[attr-defined]
    assert default.checks["closing_thanks"].weight == 10.0
    assert len(default.sha256) == 64


# -- layering ------------------------------------------------------------------------------------------


def test_partial_center_file_is_layered_over_the_default(tmp_path: Path) -> None:
    default = load_scorecard()
    path = center_file(
        tmp_path,
        """
[scorecard]
pass_score = 70

[center]
organisations = ["阳光物业"]

[checks.greeting]
weight = 5
salutations = ["喂，您好"]
call_types = ["inquiry", "complaint"]

[checks.closing_thanks]
enabled = false
""",
    )

    card = load_scorecard(path)

    assert card.source == str(path)
    assert card.pass_score == 70.0
    assert card.name == default.name  # not set: kept
    assert card.min_similarity == default.min_similarity
    assert card.organisations == ("阳光物业",)  # lists replace, they do not extend
    greeting = card.checks["greeting"]
    default_greeting = default.checks["greeting"]
    assert greeting.weight == 5.0
    assert greeting.salutations == ("喂，您好",)  # type: ignore[attr-defined]
    assert greeting.call_types == ("inquiry", "complaint")
    # keys the center left out keep the default's value
    assert greeting.offers == default_greeting.offers  # type: ignore[attr-defined]
    assert greeting.within_s == 3.0  # type: ignore[attr-defined]
    assert greeting.require_organisation is True  # type: ignore[attr-defined]
    assert greeting.fatal is False
    closing = card.checks["closing_thanks"]
    assert closing.enabled is False
    assert closing.thanks == default.checks["closing_thanks"].thanks  # type: ignore[attr-defined]
    assert card.checks["forbidden_phrase"] == default.checks["forbidden_phrase"]
    assert [check.id for check in card.enabled_checks()] == ["greeting", "forbidden_phrase"]


def test_empty_center_file_equals_the_default(tmp_path: Path) -> None:
    default = load_scorecard()
    card = load_scorecard(center_file(tmp_path, "# nothing changed\n"))
    assert card.checks == default.checks
    assert (card.name, card.pass_score, card.organisations) == (default.name, default.pass_score, default.organisations)
    assert card.sha256 == default.sha256


def test_empty_list_replaces_the_default_list(tmp_path: Path) -> None:
    card = load_scorecard(center_file(tmp_path, "[center]\norganisations = []\n"))
    assert card.organisations == ()


def test_integer_and_float_are_the_same_number(tmp_path: Path) -> None:
    card = load_scorecard(center_file(tmp_path, "[checks.greeting]\nweight = 10.0\nwithin_s = 3\n"))
    assert card.checks["greeting"].weight == 10.0
    assert isinstance(card.checks["greeting"].within_s, float)  # type: ignore[attr-defined]


# -- errors --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("[colours]\nbackground = 1\n", ["'colours'"], id="unknown-top-level-table"),
        pytest.param("threshold = 80\n", ["'threshold'"], id="unknown-top-level-key"),
        pytest.param("[scorecard]\npass = 80\n", ["scorecard.pass"], id="unknown-key-in-scorecard"),
        pytest.param("[center]\norganization = []\n", ["center.organization"], id="unknown-key-in-center"),
        pytest.param("[checks.greeting_v2]\nenabled = true\n", ["checks.greeting_v2"], id="unknown-check-id"),
        pytest.param(
            "[checks.greeting]\nwithin_seconds = 3\n", ["checks.greeting.within_seconds"], id="unknown-key-in-check"
        ),
        pytest.param(
            '[checks.greeting]\nweight = "10"\n', ["checks.greeting.weight", "number"], id="string-for-number"
        ),
        pytest.param(
            '[scorecard]\npass_score = "80"\n', ["scorecard.pass_score", "number"], id="string-for-pass-score"
        ),
        pytest.param("[scorecard]\npass_score = true\n", ["scorecard.pass_score", "number"], id="bool-for-number"),
        pytest.param(
            "[checks.greeting]\nenabled = 1\n", ["checks.greeting.enabled", "true or false"], id="number-for-bool"
        ),
        pytest.param(
            '[checks.greeting]\nrequire_organisation = "yes"\n',
            ["checks.greeting.require_organisation", "true or false"],
            id="string-for-bool",
        ),
        pytest.param(
            '[checks.greeting]\nsalutations = "您好"\n', ["checks.greeting.salutations", "list"], id="string-for-list"
        ),
        pytest.param(
            '[center]\norganisations = "阳光物业"\n', ["center.organisations", "list"], id="string-for-organisations"
        ),
        pytest.param(
            '[checks.forbidden_phrase]\nphrases = ["你烦不烦", 3]\n',
            ["checks.forbidden_phrase.phrases[1]", "string"],
            id="list-item-not-string",
        ),
        pytest.param(
            '[checks.greeting]\ncall_types = [["inquiry"]]\n', ["checks.greeting.call_types[0]"], id="nested-list-item"
        ),
        pytest.param("[scorecard]\nname = 3\n", ["scorecard.name", "string"], id="number-for-name"),
        pytest.param(
            "[checks.closing_thanks]\nweight = -1\n",
            ["checks.closing_thanks.weight", "between 0.0 and"],
            id="negative-weight",
        ),
        pytest.param(
            '[checks.greeting]\ncall_types = ["inquiry", "sales"]\n',
            ["checks.greeting.call_types", "sales"],
            id="unknown-call-type",
        ),
        pytest.param(
            '[checks.greeting]\ncall_types = ["Inquiry"]\n',
            ["checks.greeting.call_types", "Inquiry"],
            id="call-type-is-case-sensitive",
        ),
        pytest.param(
            "[scorecard]\npass_score = 101\n", ["scorecard.pass_score", "between 0 and 100"], id="pass-score-above-100"
        ),
        pytest.param(
            "[scorecard]\npass_score = -0.5\n", ["scorecard.pass_score", "between 0 and 100"], id="pass-score-negative"
        ),
        pytest.param("[scorecard]\npass_score = nan\n", ["scorecard.pass_score"], id="pass-score-nan"),
        pytest.param("[matching]\nmin_similarity = 0.3\n", ["matching.min_similarity"], id="min-similarity-low"),
        pytest.param("[checks]\ngreeting = 1\n", ["checks.greeting", "table"], id="check-not-a-table"),
        pytest.param("checks = 1\n", ["[checks]", "table"], id="checks-not-a-table"),
        pytest.param("scorecard = [1]\n", ["[scorecard]", "table"], id="scorecard-not-a-table"),
    ],
)
def test_invalid_center_file_names_file_and_key(tmp_path: Path, text: str, names: list[str]) -> None:
    message, path = load_error(tmp_path, text)
    assert message.startswith(f"{path}: ")
    for name in names:
        assert name in message


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_weight_must_be_a_finite_number(tmp_path: Path, value: str) -> None:
    """A NaN or infinite weight would make every call's score NaN; it must be refused like -1 is."""
    message, path = load_error(tmp_path, f"[checks.greeting]\nweight = {value}\n")
    assert message.startswith(f"{path}: ")
    assert "checks.greeting.weight" in message


def test_invalid_toml_names_file_and_line(tmp_path: Path) -> None:
    message, path = load_error(tmp_path, "[scorecard]\npass_score = 80\n[checks.greeting\n")
    assert message.startswith(f"{path}: ")
    assert "not valid TOML" in message
    assert "line 3" in message


def test_duplicate_key_is_invalid_toml(tmp_path: Path) -> None:
    message, _ = load_error(tmp_path, "[scorecard]\npass_score = 80\npass_score = 90\n")
    assert "not valid TOML" in message


def test_unreadable_files(tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ScorecardError) as info:
        load_scorecard(missing)
    assert str(info.value).startswith(f"{missing}: cannot read scorecard")

    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[scorecard]\nname = "Café"\n'.encode("latin-1"))
    with pytest.raises(ScorecardError) as info:
        load_scorecard(latin1)
    assert str(info.value).startswith(f"{latin1}: cannot read scorecard")


def test_scorecard_error_is_a_value_error() -> None:
    assert issubclass(ScorecardError, ValueError)


# -- sha256 --------------------------------------------------------------------------------------------

CENTER = '[scorecard]\npass_score = 75\n\n[checks.greeting]\nsalutations = ["您好"]\n'


def test_sha256_is_stable_for_identical_content(tmp_path: Path) -> None:
    first = load_scorecard(center_file(tmp_path, CENTER, "a.toml"))
    second = load_scorecard(center_file(tmp_path, CENTER, "b.toml"))
    again = load_scorecard(tmp_path / "a.toml")
    assert first.sha256 == second.sha256 == again.sha256
    assert len(first.sha256) == 64
    assert first.source != second.source  # the file's name is not part of the hash


def test_sha256_ignores_layout_and_comments(tmp_path: Path) -> None:
    reformatted = (
        '# center A\n[checks.greeting]\nsalutations = [ "您好" ]   # only one\n[scorecard]\npass_score = 75.0\n'
    )
    assert (
        load_scorecard(center_file(tmp_path, CENTER, "a.toml")).sha256
        == load_scorecard(center_file(tmp_path, reformatted, "b.toml")).sha256
    )


def test_sha256_of_values_equal_to_the_default_is_the_default_hash(tmp_path: Path) -> None:
    same = load_scorecard(center_file(tmp_path, "[scorecard]\npass_score = 80\n[checks.greeting]\nweight = 10\n"))
    assert same.sha256 == load_scorecard().sha256


@pytest.mark.parametrize(
    "changed",
    [
        CENTER.replace("75", "76"),
        CENTER.replace('["您好"]', '["你好"]'),
        CENTER + "\n[checks.forbidden_phrase]\nfatal = false\n",
        CENTER + '\n[center]\norganisations = ["阳光物业"]\n',
        CENTER + "\n[matching]\nmin_similarity = 0.9\n",
        CENTER + "\n[checks.closing_thanks]\nenabled = false\n",
        CENTER.replace("[scorecard]\n", '[scorecard]\nname = "center B"\n'),
    ],
)
def test_sha256_changes_when_a_value_changes(tmp_path: Path, changed: str) -> None:
    base = load_scorecard(center_file(tmp_path, CENTER, "a.toml"))
    other = load_scorecard(center_file(tmp_path, changed, "b.toml"))
    assert other.sha256 != base.sha256


def test_scorecard_and_settings_are_frozen() -> None:
    card: Scorecard = load_scorecard()
    settings: CheckSettings = card.checks["greeting"]
    with pytest.raises(AttributeError):
        settings.weight = 1.0  # type: ignore[misc]
    with pytest.raises(AttributeError):
        card.pass_score = 1.0  # type: ignore[misc]
