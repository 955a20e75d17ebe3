"""The scorecard: the default lists every registered check; a center's file is layered over it and
validated strictly, each error naming the file and the key."""

from __future__ import annotations

import dataclasses
import pkgutil
import typing
from pathlib import Path
from typing import Any

import pytest

import qa_pipeline.checks as checks_package
from qa_pipeline.checks import NOT_CHECKS, REGISTRY, CheckSettings
from qa_pipeline.config.scorecard import (
    Scorecard,
    ScorecardError,
    default_scorecard_data,
    display_order,
    load_scorecard,
    parse_scorecard,
)
from qa_pipeline.measures import TimingSettings
from qa_pipeline.measures.acoustics import RINGBACK_PRESETS


def center_file(tmp_path: Path, text: str, name: str = "center.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> tuple[str, Path]:
    path = center_file(tmp_path, text)
    with pytest.raises(ScorecardError) as info:
        load_scorecard(path)
    return str(info.value), path


def assert_error_names(tmp_path: Path, text: str, names: list[str]) -> None:
    """Loading `text` as a center's scorecard fails, the message starting with the file and naming each of `names`."""
    message, path = load_error(tmp_path, text)
    assert message.startswith(f"{path}: ")
    for name in names:
        assert name in message


# -- the default ---------------------------------------------------------------------------------------

# The display order: the order of the [checks.*] tables in the default scorecard (docs/checks.md's table).
CATALOGUE = [
    "greeting",
    "ask_surname",
    "ask_identity_detail",
    "restate_confirm",
    "empathy",
    "reply_commitment",
    "satisfaction_question",
    "closing_more_help",
    "closing_thanks",
    "forbidden_phrase",
    "casual_promise",
    "off_topic_privacy",
    "required_info",
    "routing",
    "answer_within_rings",
    "dead_air",
    "talk_time_limit",
    "interrupt_customer",
    "speech_rate",
    "calm_tone",
    "abrupt_hangup",
    "time_to_topic",
]


def test_default_lists_every_registered_check() -> None:
    default = load_scorecard()
    tables = list(default_scorecard_data()["checks"])
    assert sorted(set(REGISTRY) - set(tables)) == [], "registered checks without a [checks.<id>] table"
    assert sorted(set(tables) - set(REGISTRY)) == [], "[checks.<id>] tables of no registered check"
    for check_id, settings in default.checks.items():
        assert isinstance(settings, REGISTRY[check_id].Settings)
    assert sorted(type(check).__name__ for check in default.enabled_checks()) == sorted(
        cls.__name__ for cls in REGISTRY.values()
    )


def test_display_order_is_the_default_scorecards_table_order() -> None:
    """Not the registry's order (module names): the order of the [checks.*] tables in the default scorecard."""
    tables = list(default_scorecard_data()["checks"])
    assert tables == CATALOGUE
    assert list(display_order()) == tables
    assert list(load_scorecard().checks) == tables
    assert [check.id for check in load_scorecard().enabled_checks()] == tables
    assert list(REGISTRY) == sorted(REGISTRY)  # filled by module discovery, in module-name order


def test_a_centers_table_order_does_not_change_the_display_order(tmp_path: Path) -> None:
    card = load_scorecard(
        center_file(tmp_path, "[checks.time_to_topic]\nweight = 1\n\n[checks.greeting]\nweight = 2\n")
    )
    assert list(card.checks) == CATALOGUE


def test_every_check_module_registers_one_check_named_like_it() -> None:
    """qa_pipeline/checks/<id>.py holds the check `id` and no other; every check lives in such a module."""
    modules = sorted(info.name for info in pkgutil.iter_modules(checks_package.__path__))
    by_module: dict[str, list[str]] = {}
    for check_id, check in REGISTRY.items():
        by_module.setdefault(check.__module__.removeprefix("qa_pipeline.checks."), []).append(check_id)
    wrong = {
        module: by_module.get(module, [])
        for module in modules
        if module not in NOT_CHECKS and by_module.get(module) != [module]
    }
    assert wrong == {}, "check modules that do not register exactly the check named like the module"
    outside = {
        cid: check.__module__ for cid, check in REGISTRY.items() if check.__module__ != f"qa_pipeline.checks.{cid}"
    }
    assert outside == {}, "registered checks not in qa_pipeline/checks/<id>.py"


def _numeric(kind: Any) -> bool:
    """int or float, or a table (dict) of them."""
    if typing.get_origin(kind) is dict:
        return _numeric(typing.get_args(kind)[1])
    return kind in (int, float)


def test_every_numeric_check_key_declares_its_bounds() -> None:
    """A number in a [checks.<id>] table without an allowed range would be silently unbounded."""
    unbounded = []
    for check_id, check in REGISTRY.items():
        hints = typing.get_type_hints(check.Settings)
        for settings_field in dataclasses.fields(check.Settings):
            if _numeric(hints[settings_field.name]) and "bounds" not in settings_field.metadata:
                unbounded.append(f"checks.{check_id}.{settings_field.name}")
    assert unbounded == [], "numeric settings without field(metadata=bounds(low, high)) (qa_pipeline/checks/base.py)"


def test_check_key_bounds() -> None:
    """The ranges of the numeric check keys, wherever a key of that name appears."""
    ranges: dict[str, set[tuple[float, float]]] = {}
    for check in REGISTRY.values():
        for settings_field in dataclasses.fields(check.Settings):
            if "bounds" in settings_field.metadata:
                ranges.setdefault(settings_field.name, set()).add(settings_field.metadata["bounds"])
    assert ranges == {
        "weight": {(0.0, 1000.0)},
        "min_similarity": {(0.5, 1.0)},
        "upset_min_similarity": {(0.5, 1.0)},
        "within_s": {(0.0, 600.0)},
        "opening_span_s": {(0.0, 600.0)},
        "closing_span_s": {(0.0, 600.0)},
        "confirm_within_s": {(0.0, 600.0)},
        "max_rings": {(0, 20)},
        "max_silence_s": {(0.0, 3600.0)},
        "limits_s": {(0.0, 86400.0)},  # each value; 0 = no limit for that call type
        "max_interruptions": {(0, 1000)},
        "min_cpm": {(0.0, 1000.0)},
        "max_cpm": {(0.0, 1000.0)},
        "slow_max_cpm": {(0.0, 1000.0)},
        "max_raised_stretches": {(0, 1000)},
        # meaning-level matching: a margin over the counter-exemplars, where a match accuses or makes a check apply
        "min_meaning_margin": {(0.0, 0.5)},
        "upset_min_margin": {(0.0, 0.5)},
        "deferral_min_margin": {(0.0, 0.5)},
        # restate_confirm's restatement by structure
        "customer_turns": {(1, 20)},
        "min_restated_chars": {(1, 100)},
        "min_shared_bigrams": {(1, 50)},
        "min_restated_similarity": {(0.5, 1.0)},  # ... and by meaning
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[checks.greeting]\nweight = 1000.5\n", "checks.greeting.weight must be between 0.0 and 1000.0"),
        (
            "[checks.answer_within_rings]\nmax_rings = 21\n",
            "checks.answer_within_rings.max_rings must be between 0 and 20",
        ),
        (
            "[checks.empathy]\nupset_min_similarity = 0.4\n",
            "checks.empathy.upset_min_similarity must be between 0.5 and 1.0",
        ),
        (
            "[checks.talk_time_limit.limits_s]\nsurvey = -1\n",
            "checks.talk_time_limit.limits_s.survey must be between 0.0 and 86400.0",
        ),
    ],
)
def test_out_of_bounds_check_keys_name_key_and_range(tmp_path: Path, text: str, message: str) -> None:
    error, path = load_error(tmp_path, text)
    assert error == f"{path}: {message}"


def test_bounds_include_both_ends(tmp_path: Path) -> None:
    card = load_scorecard(
        center_file(
            tmp_path, "[checks.greeting]\nweight = 1000\nwithin_s = 0\n\n[checks.answer_within_rings]\nmax_rings = 20\n"
        )
    )
    assert card.checks["greeting"].weight == 1000.0
    assert card.checks["answer_within_rings"].max_rings == 20  # type: ignore[attr-defined]


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


def test_default_weights_follow_the_catalogue() -> None:
    default = load_scorecard()
    weights = {cid: settings.weight for cid, settings in default.checks.items()}
    assert weights == {
        "greeting": 10.0,
        "ask_surname": 5.0,
        "ask_identity_detail": 5.0,
        "restate_confirm": 5.0,
        "empathy": 10.0,
        "reply_commitment": 10.0,
        "satisfaction_question": 5.0,
        "closing_more_help": 5.0,
        "closing_thanks": 10.0,
        "forbidden_phrase": 20.0,
        "casual_promise": 10.0,
        "off_topic_privacy": 10.0,
        "required_info": 10.0,
        "routing": 5.0,
        "answer_within_rings": 5.0,
        "dead_air": 5.0,
        "talk_time_limit": 0.0,  # 003: 超时预警, a warning: shown, not scored
        "interrupt_customer": 5.0,
        "speech_rate": 5.0,
        "calm_tone": 10.0,
        "abrupt_hangup": 10.0,
        "time_to_topic": 5.0,
    }
    assert [cid for cid, settings in default.checks.items() if settings.fatal] == ["forbidden_phrase"]
    inbound = ("inquiry", "complaint", "repair", "rescue", "appointment")
    for cid in ("ask_surname", "ask_identity_detail", "restate_confirm", "closing_more_help"):
        assert default.checks[cid].call_types == inbound, cid
    for cid in ("satisfaction_question", "off_topic_privacy"):
        assert default.checks[cid].call_types == ("callback", "survey"), cid
    assert default.checks["required_info"].call_types == ("rescue", "repair", "complaint")


def test_default_nested_tables() -> None:
    default = load_scorecard()
    identity = default.checks["ask_identity_detail"]
    assert identity.required == {  # type: ignore[attr-defined]
        "inquiry": ("address|company",),
        "complaint": ("address|company",),
        "repair": ("address",),
        "rescue": ("contact",),
        "appointment": ("contact",),
    }
    assert set(identity.details) == {"company", "address", "contact"}  # type: ignore[attr-defined]
    facts = default.checks["required_info"].facts  # type: ignore[attr-defined]
    assert {call_type: list(table) for call_type, table in facts.items()} == {
        "rescue": ["vehicle", "plate", "contact_person", "contact_number", "location", "symptom"],
        "repair": ["nature", "location", "time"],
        "complaint": ["what", "when", "who"],
    }
    assert facts["rescue"]["plate"] == ("车牌号", "车牌")
    answers = default.checks["satisfaction_question"].answers  # type: ignore[attr-defined]
    assert sorted(answers) == ["1", "2", "3", "4", "5"]
    assert "不满意" in answers["2"] and "满意" in answers["4"]


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
    assert [check.id for check in card.enabled_checks()] == [c for c in CATALOGUE if c != "closing_thanks"]


def test_nested_tables_merge_key_by_key_and_their_lists_replace(tmp_path: Path) -> None:
    default = load_scorecard()
    path = center_file(
        tmp_path,
        """
[checks.required_info.facts.repair]
time = ["几点"]
floor = ["几楼"]

[checks.ask_identity_detail.details]
email = ["邮箱"]

[checks.ask_identity_detail.required]
inquiry = ["email", "contact"]
complaint = []
""",
    )

    card = load_scorecard(path)

    facts = card.checks["required_info"].facts  # type: ignore[attr-defined]
    default_facts = default.checks["required_info"].facts  # type: ignore[attr-defined]
    assert facts["repair"]["time"] == ("几点",)  # the list replaces
    assert facts["repair"]["floor"] == ("几楼",)  # a new fact is added
    assert facts["repair"]["nature"] == default_facts["repair"]["nature"]  # keys not set are kept
    assert facts["rescue"] == default_facts["rescue"]
    identity = card.checks["ask_identity_detail"]
    assert identity.details["email"] == ("邮箱",)  # type: ignore[attr-defined]
    assert identity.details["company"] == default.checks["ask_identity_detail"].details["company"]  # type: ignore[attr-defined]
    assert identity.required["inquiry"] == ("email", "contact")  # type: ignore[attr-defined]
    assert identity.required["complaint"] == ()  # type: ignore[attr-defined]
    assert identity.required["repair"] == ("address",)  # type: ignore[attr-defined]
    assert card.sha256 != default.sha256


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
    assert_error_names(tmp_path, text, names)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            '[checks.required_info.facts.sales]\nproduct = ["什么产品"]\n',
            ["checks.required_info.facts.sales", "not a call type"],
            id="facts-unknown-call-type",
        ),
        pytest.param(
            '[checks.ask_identity_detail.required]\nsales = ["contact"]\n',
            ["checks.ask_identity_detail.required.sales", "not a call type"],
            id="required-unknown-call-type",
        ),
        pytest.param(
            '[checks.ask_identity_detail.required]\nRepair = ["address"]\n',
            ["checks.ask_identity_detail.required.Repair"],
            id="call-type-key-is-case-sensitive",
        ),
        pytest.param(
            '[checks.ask_identity_detail.required]\nrepair = ["adress"]\n',
            ["checks.ask_identity_detail.required.repair[0]", "'adress'", "address, company, contact"],
            id="required-names-unknown-detail",
        ),
        pytest.param(
            '[checks.ask_identity_detail.required]\nrepair = ["contact", "address|emial"]\n',
            ["checks.ask_identity_detail.required.repair[1]", "'emial'"],
            id="required-alternative-names-unknown-detail",
        ),
        pytest.param(
            "[checks.ask_identity_detail.details]\ncontact = []\n",
            ["checks.ask_identity_detail.required.rescue[0]", "'contact'", "no phrases"],
            id="required-detail-without-phrases",
        ),
        pytest.param(
            '[checks.required_info.facts]\nrescue = ["车型"]\n',
            ["checks.required_info.facts.rescue", "table"],
            id="facts-list-for-table",
        ),
        pytest.param("[checks.required_info]\nfacts = 1\n", ["checks.required_info.facts", "table"], id="facts-number"),
        pytest.param(
            '[checks.required_info.facts.rescue]\nplate = "车牌"\n',
            ["checks.required_info.facts.rescue.plate", "list"],
            id="fact-string-for-list",
        ),
        pytest.param(
            "[checks.required_info.facts.rescue]\nplate = [1]\n",
            ["checks.required_info.facts.rescue.plate[0]", "string"],
            id="fact-phrase-not-string",
        ),
        pytest.param(
            '[checks.ask_identity_detail.details]\ncompany = "单位"\n',
            ["checks.ask_identity_detail.details.company", "list"],
            id="detail-string-for-list",
        ),
        pytest.param(
            '[checks.ask_identity_detail]\nrequired = ["address"]\n',
            ["checks.ask_identity_detail.required", "table"],
            id="required-list-for-table",
        ),
        pytest.param(
            '[checks.satisfaction_question.answers]\n6 = ["超级满意"]\n',
            ["checks.satisfaction_question.answers.6", "not a satisfaction score"],
            id="answers-unknown-score",
        ),
        pytest.param(
            '[checks.satisfaction_question.answers]\n5 = "非常满意"\n',
            ["checks.satisfaction_question.answers.5", "list"],
            id="answers-string-for-list",
        ),
        pytest.param(
            '[checks.empathy]\ntrigger_call_types = ["complain"]\n',
            ["checks.empathy.trigger_call_types", "complain"],
            id="empathy-unknown-trigger-call-type",
        ),
        pytest.param(
            "[checks.empathy]\nupset_min_similarity = 1.5\n",
            ["checks.empathy.upset_min_similarity", "between"],
            id="upset-similarity-above-1",
        ),
        pytest.param(
            "[checks.restate_confirm]\nconfirm_within_s = -1\n",
            ["checks.restate_confirm.confirm_within_s", "between"],
            id="negative-confirm-window",
        ),
    ],
)
def test_invalid_nested_table_names_file_and_key_path(tmp_path: Path, text: str, names: list[str]) -> None:
    assert_error_names(tmp_path, text, names)


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
        CENTER + '\n[timing]\nringback = "europe"\n',
        CENTER + "\n[timing]\nmin_silence_s = 3\n",
        CENTER + "\n[checks.talk_time_limit.limits_s]\ninquiry = 240\n",
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


# -- timing checks and [timing] ------------------------------------------------------------------------


def test_default_timing_check_values() -> None:
    default = load_scorecard()
    assert default.checks["answer_within_rings"].max_rings == 3  # type: ignore[attr-defined]
    assert default.checks["dead_air"].max_silence_s == 10.0  # type: ignore[attr-defined]
    assert default.checks["talk_time_limit"].limits_s == {  # type: ignore[attr-defined]
        "inquiry": 300.0,
        "complaint": 600.0,
        "repair": 300.0,
        "rescue": 300.0,
        "appointment": 300.0,
        "callback": 180.0,
        "survey": 180.0,
        "other": 600.0,
    }
    assert default.checks["interrupt_customer"].max_interruptions == 0  # type: ignore[attr-defined]
    rate = default.checks["speech_rate"]
    assert (rate.min_cpm, rate.max_cpm, rate.slow_max_cpm) == (150.0, 300.0, 220.0)  # type: ignore[attr-defined]
    assert rate.slow_customer_tags == ("elderly",)  # type: ignore[attr-defined]
    assert default.checks["calm_tone"].max_raised_stretches == 0  # type: ignore[attr-defined]
    assert default.checks["time_to_topic"].limits_s == {"callback": 5.0, "survey": 10.0}  # type: ignore[attr-defined]
    for cid in ("answer_within_rings", "dead_air", "talk_time_limit", "time_to_topic"):
        assert REGISTRY[cid].category == "timing", cid
    for cid in ("interrupt_customer", "speech_rate", "calm_tone", "abrupt_hangup"):
        assert REGISTRY[cid].category == "conduct", cid


def test_default_timing_table_equals_the_timing_settings_defaults() -> None:
    """The TOML is the source of defaults; TimingSettings' own defaults (used by code that has no
    scorecard) must not drift from it."""
    table = default_scorecard_data()["timing"]
    assert list(table) == [f.name for f in dataclasses.fields(TimingSettings)]  # every key, in field order
    assert load_scorecard().timing == TimingSettings()


def test_center_timing_is_layered_over_the_default(tmp_path: Path) -> None:
    default = load_scorecard()
    card = load_scorecard(
        center_file(tmp_path, '[timing]\nringback = "north_america"\nmin_overlap_s = 1\nhold_phrases = ["请稍等"]\n')
    )
    assert card.timing.ringback == "north_america"
    assert card.timing.preset is RINGBACK_PRESETS["north_america"]
    assert card.timing.min_overlap_s == 1.0 and isinstance(card.timing.min_overlap_s, float)
    assert card.timing.hold_phrases == ("请稍等",)  # lists replace
    assert card.timing.backchannels == default.timing.backchannels  # keys not set are kept
    assert card.timing.min_silence_s == default.timing.min_silence_s
    assert card.sha256 != default.sha256


def test_every_numeric_timing_key_declares_its_bounds() -> None:
    hints = typing.get_type_hints(TimingSettings)
    unbounded = [
        f"timing.{f.name}"
        for f in dataclasses.fields(TimingSettings)
        if _numeric(hints[f.name]) and "bounds" not in f.metadata
    ]
    assert unbounded == [], "numeric [timing] keys without bounds metadata (qa_pipeline/measures/settings.py)"
    ranges = {f.name: f.metadata["bounds"] for f in dataclasses.fields(TimingSettings) if "bounds" in f.metadata}
    assert ranges == {  # (low, high, whether low itself is allowed)
        "min_overlap_s": (0.0, 10.0, True),
        "mono_overlap_margin_s": (0.0, 5.0, True),
        "hold_notice_within_s": (0.0, 60.0, True),
        "min_silence_s": (0.1, 60.0, True),
        "cut_off_within_s": (0.0, 5.0, True),
        "raised_rise_db": (0.0, 40.0, False),
        "raised_rise_semitones": (0.0, 24.0, False),
        "raised_min_s": (0.0, 60.0, False),
    }
    defaults = TimingSettings()
    for name, (low, high, low_inclusive) in ranges.items():
        value = getattr(defaults, name)
        assert (low <= value if low_inclusive else low < value) and value <= high, f"default timing.{name}"


def test_timing_bounds_are_inclusive_except_raised(tmp_path: Path) -> None:
    card = load_scorecard(
        center_file(
            tmp_path,
            "[timing]\nmin_overlap_s = 0\nhold_notice_within_s = 60\nmin_silence_s = 0.1\ncut_off_within_s = 5\n"
            "raised_rise_db = 0.5\n",
        )
    )
    assert (card.timing.min_overlap_s, card.timing.min_silence_s, card.timing.cut_off_within_s) == (0.0, 0.1, 5.0)


def test_unknown_ringback_preset_lists_the_presets(tmp_path: Path) -> None:
    message, path = load_error(tmp_path, '[timing]\nringback = "japan"\n')
    assert message.startswith(f"{path}: ")
    assert "timing.ringback" in message and "'japan'" in message
    for preset in RINGBACK_PRESETS:
        assert preset in message


def test_default_must_list_every_timing_key() -> None:
    data = default_scorecard_data()
    del data["timing"]["raised_min_s"]
    with pytest.raises(ScorecardError) as info:
        parse_scorecard(data, "broken.toml")
    assert str(info.value).startswith("broken.toml: [timing] is incomplete")
    assert "raised_min_s" in str(info.value)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("[timing]\nmin_overlap = 0.5\n", ["timing.min_overlap", "min_overlap_s"], id="unknown-key"),
        pytest.param("timing = 1\n", ["[timing]", "table"], id="not-a-table"),
        pytest.param('[timing]\nmin_overlap_s = "0.5"\n', ["timing.min_overlap_s", "number"], id="string-for-number"),
        pytest.param("[timing]\nringback = 1\n", ["timing.ringback", "string"], id="number-for-preset"),
        pytest.param('[timing]\nbackchannels = "嗯"\n', ["timing.backchannels", "list"], id="string-for-list"),
        pytest.param("[timing]\nhold_phrases = [1]\n", ["timing.hold_phrases[0]", "string"], id="list-item-number"),
        pytest.param('[timing]\ntopic_phrases = ["回访", ""]\n', ["timing.topic_phrases", "empty"], id="empty-phrase"),
        pytest.param("[timing]\nmin_overlap_s = 11\n", ["timing.min_overlap_s", "between 0.0 and 10.0"], id="overlap"),
        pytest.param("[timing]\nmin_overlap_s = -0.1\n", ["timing.min_overlap_s"], id="overlap-negative"),
        pytest.param("[timing]\nhold_notice_within_s = 61\n", ["timing.hold_notice_within_s"], id="hold-notice"),
        pytest.param("[timing]\nmin_silence_s = 0.05\n", ["timing.min_silence_s", "0.1"], id="silence-too-short"),
        pytest.param("[timing]\nmin_silence_s = 61\n", ["timing.min_silence_s"], id="silence-too-long"),
        pytest.param("[timing]\ncut_off_within_s = 6\n", ["timing.cut_off_within_s"], id="cut-off"),
        pytest.param("[timing]\nraised_rise_db = 0\n", ["timing.raised_rise_db", "above 0"], id="raised-db-zero"),
        pytest.param("[timing]\nraised_rise_semitones = -1\n", ["timing.raised_rise_semitones"], id="raised-st"),
        pytest.param("[timing]\nraised_min_s = 0\n", ["timing.raised_min_s", "above 0"], id="raised-min-zero"),
        pytest.param("[timing]\nraised_min_s = nan\n", ["timing.raised_min_s"], id="raised-min-nan"),
    ],
)
def test_invalid_timing_names_file_and_key(tmp_path: Path, text: str, names: list[str]) -> None:
    assert_error_names(tmp_path, text, names)


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param(
            "[checks.talk_time_limit.limits_s]\nsales = 300\n",
            ["checks.talk_time_limit.limits_s.sales", "not a call type"],
            id="talk-limit-unknown-call-type",
        ),
        pytest.param(
            "[checks.talk_time_limit.limits_s]\ninquiry = -1\n",
            ["checks.talk_time_limit.limits_s.inquiry", "between"],
            id="talk-limit-negative",
        ),
        pytest.param(
            '[checks.talk_time_limit.limits_s]\ninquiry = "5分钟"\n',
            ["checks.talk_time_limit.limits_s.inquiry", "number"],
            id="talk-limit-string",
        ),
        pytest.param(
            "[checks.time_to_topic.limits_s]\nvisit = 5\n",
            ["checks.time_to_topic.limits_s.visit", "not a call type"],
            id="topic-limit-unknown-call-type",
        ),
        pytest.param(
            "[checks.answer_within_rings]\nmax_rings = 3.5\n",
            ["checks.answer_within_rings.max_rings", "integer"],
            id="rings-not-integer",
        ),
        pytest.param(
            "[checks.answer_within_rings]\nmax_rings = 21\n",
            ["checks.answer_within_rings.max_rings", "between"],
            id="rings-too-many",
        ),
        pytest.param(
            "[checks.dead_air]\nmax_silence_s = -5\n", ["checks.dead_air.max_silence_s", "between"], id="silence-neg"
        ),
        pytest.param(
            "[checks.interrupt_customer]\nmax_interruptions = -1\n",
            ["checks.interrupt_customer.max_interruptions"],
            id="interruptions-negative",
        ),
        pytest.param(
            "[checks.speech_rate]\nmin_cpm = 320\n",
            ["checks.speech_rate.min_cpm", "below max_cpm"],
            id="rate-band-inverted",
        ),
        pytest.param(
            "[checks.speech_rate]\nslow_max_cpm = 100\n",
            ["checks.speech_rate.min_cpm", "below slow_max_cpm"],
            id="rate-slow-band-inverted",
        ),
        pytest.param(
            '[checks.speech_rate]\nslow_customer_tags = "elderly"\n',
            ["checks.speech_rate.slow_customer_tags", "list"],
            id="rate-tags-string",
        ),
        pytest.param(
            "[checks.calm_tone]\nmax_raised_stretches = 0.5\n",
            ["checks.calm_tone.max_raised_stretches", "integer"],
            id="raised-not-integer",
        ),
        pytest.param(
            "[checks.abrupt_hangup]\nfail_on_customer_cut_off = false\n",
            ["checks.abrupt_hangup.fail_on_customer_cut_off"],
            id="abrupt-hangup-has-only-base-keys",
        ),
    ],
)
def test_invalid_timing_check_keys(tmp_path: Path, text: str, names: list[str]) -> None:
    assert_error_names(tmp_path, text, names)


def test_a_center_drops_a_default_limit_with_zero(tmp_path: Path) -> None:
    card = load_scorecard(center_file(tmp_path, "[checks.talk_time_limit.limits_s]\ncomplaint = 0\n"))
    limits = card.checks["talk_time_limit"].limits_s  # type: ignore[attr-defined]
    assert limits["complaint"] == 0.0
    assert limits["inquiry"] == 300.0


# -- [roles]: who is the agent on a diarized mono call ----------------------------------------------------


def test_roles_default_to_the_built_in_cues_and_a_center_can_replace_them(tmp_path: Path) -> None:
    from qa_pipeline.asr.roles import AGENT_CUES, CUSTOMER_CUES

    default = load_scorecard(None).roles
    assert default.agent_cues == AGENT_CUES and default.customer_cues == CUSTOMER_CUES
    assert default.min_confidence == 0.5 and default.min_similarity == 0.85
    path = tmp_path / "center.toml"
    path.write_text(
        "[matching]\nmin_similarity = 0.9\n[roles]\nmin_confidence = 0.7\n"
        'agent_cues = { "贵司|您公司" = 3, "工号" = 2 }\n',
        encoding="utf-8",
    )
    center = load_scorecard(path)
    assert center.roles.agent_cues == (("贵司|您公司", 3.0), ("工号", 2.0))
    assert center.roles.customer_cues == CUSTOMER_CUES  # not set: the default
    assert (center.roles.min_confidence, center.roles.min_similarity) == (0.7, 0.9)
    assert center.sha256 != load_scorecard(None).sha256


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[roles]\nmin_confidence = 1.5\n", ["roles.min_confidence", "between 0 and 1"]),
        ('[roles]\nagent_cues = { "工号" = 0 }\n', ["roles.agent_cues", "above 0"]),
        ('[roles]\ncustomer_cues = { "我家" = "heavy" }\n', ["roles.customer_cues"]),
        ("[roles]\nagent_phrases = []\n", ["roles.agent_phrases"]),
    ],
)
def test_invalid_roles_table_names_file_and_key(tmp_path: Path, text: str, names: list[str]) -> None:
    assert_error_names(tmp_path, text, names)
