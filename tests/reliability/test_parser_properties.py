"""Property tests of the parsers and matchers (issue 8): random bad input never escapes as a crash.

* metadata CSV: `read_metadata` raises nothing but `MetadataError`; every row is either kept or named by
  a `RowProblem` at its line; no kept file lies outside the input directory; call_ids are unique.
* scorecard TOML: any override layered over the default gives a `Scorecard` or a `ScorecardError` that
  names the file, never another exception; a valid override is loaded as written.
* phrase matching: spans lie inside the text, a phrase written verbatim is always found at its place,
  nothing raises on arbitrary unicode, `min_similarity=1.0` never gives a fuzzy match.

Each test records the input family it tried in the reliability ledger once (the hypothesis body runs in
a nested function, so the fixture is used once per test and the ledger is not flooded).
"""

from __future__ import annotations

import dataclasses
import math
import re
import typing
import unicodedata
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from qa_pipeline.intake.metadata import KNOWN_COLUMNS, MetadataError, read_metadata
from qa_pipeline.text.matching import MIN_FUZZY_CHARS, NEGATIONS, PhraseMatch, find_any, find_phrase
from tests.reliability.conftest import Ledger

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- metadata CSV ----------------------------------------------------------------------------------------

TRICKY_CELLS = (
    "",
    " ",
    "\u3000",
    "１２",
    "30秒",
    "30 sec",
    "1,200",
    "1,2",
    "1.38001E+10",
    "五",
    "nan",
    "inf",
    "-1",
    "1e999",
    "9" * 5000,
    "2026-13-40",
    "yesterday",
    "20/11/2026",
    "2024-05-01T09:30:15+08:00",
    "呼入",
    "Ｉｎｂｏｕｎｄ",
    "complaint",
    '"',
    '""',
    ",",
    "a,b",
    "line\nbreak",
    "cr\rlf\r\n",
    "\x00",
    "😀",
    "e\u0301",
    "\ufeff",
)
AUDIO_FILES = (
    "a.wav",
    "sub/b.wav",
    "./a.wav",
    "sub/../a.wav",
    "录音/张三_投诉.wav",
    "../x.wav",
    "../../etc/passwd",
    "/etc/passwd",
    "sub/../../x.wav",
    "..",
    ".",
    "/",
    "sub/",
    "~/x.wav",
    "..\\x.wav",
    "a\x00.wav",
    "",
    "  ",
)
cell_text = st.one_of(
    st.sampled_from(TRICKY_CELLS),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
    st.text(alphabet="0123456789０１２３,.:-/ Ee+秒s", max_size=10),
)
audio_file_text = st.one_of(
    st.sampled_from(AUDIO_FILES), st.text(st.characters(exclude_categories=("Cs",)), max_size=10)
)
call_id_text = st.one_of(st.sampled_from(("C1", "C2", "Ｃ１", " C1 ", "1.38001E+10", "")), cell_text)
unknown_column = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8).filter(
    lambda name: name.strip() not in KNOWN_COLUMNS
)


def _csv_record(cells: list[str], quote_all: bool) -> str:
    """One CSV record as a spreadsheet writes it. (csv.writer with lineterminator='\n' leaves a lone \r
    unquoted, and a reader then splits the record in two: the file would not hold the rows drawn.)"""

    def cell(value: str) -> str:
        if quote_all or cells == [""] or any(char in value for char in ',"\r\n'):
            return '"' + value.replace('"', '""') + '"'
        return value

    return ",".join(cell(value) for value in cells)


@st.composite
def metadata_csvs(draw: st.DrawFn) -> tuple[str, list[int], bool]:
    """CSV text, the line each data record ends on, and whether the header has an audio_file column."""
    known = draw(st.lists(st.sampled_from([c for c in KNOWN_COLUMNS if c != "audio_file"]), unique=True, max_size=8))
    unknown = draw(st.lists(unknown_column, unique=True, max_size=3))
    has_audio_file = draw(st.integers(0, 9)) > 0  # mostly present
    columns = [*known, *unknown, *(["audio_file"] if has_audio_file else [])]
    columns = draw(st.permutations(columns))
    header = [draw(st.sampled_from((c, f" {c} ", c))) if c in KNOWN_COLUMNS else c for c in columns]
    rows: list[list[str]] = []
    for _ in range(draw(st.integers(0, 8))):
        row = []
        for column in columns:
            strategy = {"audio_file": audio_file_text, "call_id": call_id_text}.get(column, cell_text)
            row.append(draw(strategy))
        # ragged rows: a cell short or a few cells too many
        extra = draw(st.sampled_from((0, 0, 0, 0, -1, 1, 2)))
        row = row[: len(row) + extra] if extra < 0 else row + [draw(cell_text) for _ in range(extra)]
        rows.append(row or [""])  # an empty record would be a blank line, which is no record
    quote_all = draw(st.booleans())
    terminator = draw(st.sampled_from(("\r\n", "\n")))
    text = _csv_record(header, quote_all) + terminator
    ends: list[int] = []
    for row in rows:
        text += _csv_record(row, quote_all) + terminator
        # the file is read with newline="": \r\n, \r and \n each end a line
        ends.append(len(re.findall(r"\r\n|\r|\n", text)))
    return text, ends, has_audio_file


def _inside(root: Path, key: str) -> bool:
    resolved_root = root.resolve()
    target = (root / key).resolve()
    return target != resolved_root and resolved_root in target.parents


def test_metadata_csv_never_crashes_and_accounts_for_every_row(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ledger.input(
        "metadata: random CSVs (column subsets and orders, unknown and padded column names, ragged rows, "
        "unicode/quotes/commas/newlines/NUL in cells, numbers as text, path traversal, duplicate call_ids)"
    )
    base = tmp_path_factory.mktemp("metadata-properties")
    input_dir = base / "recordings"
    (input_dir / "sub").mkdir(parents=True)
    csv_path = base / "calls.csv"

    @PROPERTY
    @given(metadata_csvs(), st.booleans())
    @example(("call_id,audio_file\r\nC1,a.wav\r\nC2,a.wav\r\nC2,b.wav\r\n", [2, 3, 4], True), False)
    def check(generated: tuple[str, list[int], bool], bom: bool) -> None:
        text, ends, has_audio_file = generated
        csv_path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
        try:
            metadata = read_metadata(csv_path, input_dir)
        except MetadataError as error:
            assert str(csv_path) in str(error)
            return  # the file as a whole is unusable: said so, naming it
        assert has_audio_file, "a header without audio_file must be a MetadataError"
        lines = set(ends)
        problem_lines = {p.row for p in metadata.problems}
        kept_lines = {call.row for call in metadata.by_audio_file.values()}
        # every RowProblem names a record's line of this file, and the file
        assert problem_lines <= lines, (problem_lines, ends)
        assert all(p.source == str(csv_path) for p in metadata.problems)
        # every record is kept or named by a problem: no call is silently lost
        assert kept_lines <= lines
        assert lines <= kept_lines | problem_lines
        # no kept file outside the input directory, keys normalized (relative, no '..')
        for key, call in metadata.by_audio_file.items():
            assert call.audio_file == key
            assert _inside(input_dir, key), key
            assert not Path(key).is_absolute() and ".." not in Path(key).parts
        # call_ids unique; a row skipped as a duplicate points at a kept row with that call_id
        call_ids = [c.call_id for c in metadata.by_audio_file.values() if c.call_id is not None]
        assert len(call_ids) == len(set(call_ids))
        by_line = {call.row: call for call in metadata.by_audio_file.values()}
        for problem in metadata.problems:
            first = re.match(r"duplicate call_id \(first on line (\d+)\)", problem.message)
            if first:
                assert int(first.group(1)) in by_line, problem
                assert by_line[int(first.group(1))].call_id is not None
        # a bad cell is NULL, never a wrong value
        for call in metadata.by_audio_file.values():
            for seconds in (call.hold_s, call.acw_s):
                assert seconds is None or (math.isfinite(seconds) and seconds >= 0)
            assert call.survey_score is None or 0 <= call.survey_score <= 10
            assert call.agent_channel is None or call.agent_channel >= 0
            assert call.ring_count is None or call.ring_count >= 0
            assert call.direction in (None, "inbound", "outbound")
            for value in (call.call_id, call.agent_id, call.caller_number, call.case_id):
                assert value is None or (value and not re.fullmatch(r"[0-9.]+[eE]\+[0-9]+", value))

    check()


# -- scorecard TOML --------------------------------------------------------------------------------------


def _toml_string(text: str) -> str:
    escaped = []
    for char in text:
        if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\u{ord(char):04X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)  # 'inf', '-inf', 'nan', '1e+16' are TOML floats too
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def to_toml(data: dict[str, Any]) -> str:
    """`data` as a TOML document (every table inline: one key per line at the top level)."""
    return "".join(f"{_toml_string(key)} = {_toml_value(value)}\n" for key, value in data.items())


def layered(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """The scorecard's layering: tables merge key by key, anything else (lists too) replaces."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merged[key] = layered(base[key], value)
        else:
            merged[key] = value
    return merged


def nested(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    for key in reversed(path):
        value = {key: value}
    return value


def _paths(table: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key path of `table`, tables and the keys inside them."""
    paths = []
    for key, value in table.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(_paths(value, (*prefix, key)))
    return paths


def _scorecard_api() -> tuple[Any, ...]:
    # Imported in the scorecard tests only: an import error in the scorecard module (which imports every
    # check) then fails those tests and leaves the metadata and matching properties running.
    import qa_pipeline.checks  # noqa: F401  (registers every check)
    from qa_pipeline.config.scorecard import (
        ScorecardError,
        default_scorecard_data,
        load_scorecard,
        parse_scorecard,
    )

    return ScorecardError, default_scorecard_data, load_scorecard, parse_scorecard


SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),  # TOML's integers; larger ones: see the xfail below
    st.floats(),  # NaN and ±inf included
    st.sampled_from((math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308)),
    st.text(max_size=8),
    st.sampled_from(("", " ", "complaint", "sales", "china", "5", "address|company", "|")),
    st.datetimes(),
    st.dates(),
    st.times(),
)
TOML_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def scorecard_overrides(draw: st.DrawFn, default: dict[str, Any]) -> dict[str, Any]:
    """An override of 1-4 changes: a real key (a table or a value, at any depth) given a random value,
    or a random unknown key added to a real table (or the top level)."""
    paths = _paths(default)
    tables = [()] + [p for p in paths if isinstance(_get(default, p), dict)]
    override: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            path = draw(st.sampled_from(paths))
        else:
            table = draw(st.sampled_from(tables))
            path = (*table, draw(st.text(max_size=10)))
        override = layered(override, nested(path, draw(TOML_VALUES)))
    return override


def _get(table: dict[str, Any], path: tuple[str, ...]) -> Any:
    for key in path:
        table = table[key]
    return table


def test_scorecard_random_overrides_give_a_scorecard_or_a_scorecard_error(
    ledger: Ledger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    ledger.input(
        "scorecard: random overrides over the default (unknown keys at every level; str/int/float/bool/"
        "list/table/NaN/inf/date values for real keys, tables replaced by values), as a dict and as a TOML file"
    )
    ScorecardError, default_scorecard_data, load_scorecard, parse_scorecard = _scorecard_api()
    default = default_scorecard_data()
    path = tmp_path_factory.mktemp("scorecard-properties") / "center-七.toml"

    @PROPERTY
    @given(scorecard_overrides(default))
    def check(override: dict[str, Any]) -> None:
        try:
            parse_scorecard(layered(default, override), "center-dict.toml")
        except ScorecardError as error:
            assert "center-dict.toml" in str(error)
        path.write_text(to_toml(override), encoding="utf-8")
        try:
            load_scorecard(path)
        except ScorecardError as error:
            assert str(path) in str(error)

    check()


def test_scorecard_huge_integer_is_a_scorecard_error(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> None:
    ledger.input("scorecard: integers beyond float range (tomllib accepts any size) for number keys")
    ScorecardError, default_scorecard_data, load_scorecard, _ = _scorecard_api()
    default = default_scorecard_data()
    number_paths = [p for p in _paths(default) if type(_get(default, p)) in (int, float)]
    path = tmp_path_factory.mktemp("scorecard-huge") / "center.toml"

    @PROPERTY
    @given(st.sampled_from(number_paths), st.integers(min_value=309, max_value=400), st.booleans())
    def check(key: tuple[str, ...], digits: int, negative: bool) -> None:
        path.write_text(to_toml(nested(key, (-1 if negative else 1) * 10**digits)), encoding="utf-8")
        try:
            load_scorecard(path)
        except ScorecardError as error:
            assert str(path) in str(error)

    check()


def _text_list(min_size: int = 0) -> st.SearchStrategy[list[str]]:
    return st.lists(st.text(min_size=1, max_size=6).filter(lambda t: t.strip()), min_size=min_size, max_size=4)


def _number(kind: type, low: float, high: float, exclude_low: bool = False) -> st.SearchStrategy[Any]:
    if kind is int:
        return st.integers(int(low), int(high))
    floats = st.floats(low, high, exclude_min=exclude_low, allow_nan=False)
    whole = st.integers(math.ceil(low), math.floor(high)).filter(lambda n: not (exclude_low and n == low))
    return st.one_of(floats, whole)


def _valid_overrides() -> list[tuple[tuple[str, ...], st.SearchStrategy[Any], Callable[[Any], Any]]]:
    """(key path, values that are valid there, how the loaded scorecard shows that key)."""
    _scorecard_api()
    from qa_pipeline.checks.base import REGISTRY
    from qa_pipeline.intake.metadata import CALL_TYPES
    from qa_pipeline.measures import TimingSettings

    call_types = st.lists(st.sampled_from(CALL_TYPES), unique=True)
    entries: list[tuple[tuple[str, ...], st.SearchStrategy[Any], Callable[[Any], Any]]] = [
        (("scorecard", "name"), st.text(max_size=10), lambda s: s.name),
        (("scorecard", "pass_score"), _number(float, 0, 100), lambda s: s.pass_score),
        (("center", "organisations"), _text_list(), lambda s: s.organisations),
        (("center", "asr_prompt"), st.text(max_size=10), lambda s: s.asr_prompt),
        (("matching", "min_similarity"), _number(float, 0.5, 1.0), lambda s: s.min_similarity),
    ]
    # Keys whose valid values depend on other keys (min_cpm < max_cpm; required names details, whose
    # phrases must not be empty; answers keyed 1-5; facts keyed by call type then fact; given_kinds and
    # given_patterns keyed by those facts, holding redactor kinds and regular expressions): not sampled here
    # (tests/test_required_info.py).
    related = {
        "min_cpm",
        "max_cpm",
        "slow_max_cpm",
        "required",
        "details",
        "answers",
        "facts",
        "given_kinds",
        "given_patterns",
    }
    for check_id, check in REGISTRY.items():
        hints = typing.get_type_hints(check.Settings)
        for settings_field in dataclasses.fields(check.Settings):
            key = settings_field.name
            kind = hints[key]
            bounds = settings_field.metadata.get("bounds")  # checks.base.bounds: the allowed range

            def getter(s: Any, check_id: str = check_id, key: str = key) -> Any:
                return getattr(s.checks[check_id], key)

            if key in related:
                continue
            if key in ("call_types", "trigger_call_types"):
                strategy: st.SearchStrategy[Any] = call_types
            elif kind is bool:
                strategy = st.booleans()
            elif kind in (int, float) and bounds:
                strategy = _number(kind, *bounds)
            elif kind == tuple[str, ...]:
                strategy = _text_list()
            elif kind == dict[str, float] and bounds:  # limits_s: call type -> seconds
                strategy = st.dictionaries(st.sampled_from(CALL_TYPES), _number(float, *bounds), max_size=3)
            else:
                raise AssertionError(f"no valid values known for checks.{check_id}.{key} ({kind})")
            entries.append((("checks", check_id, key), strategy, getter))
    timing_hints = typing.get_type_hints(TimingSettings)
    for timing_field in dataclasses.fields(TimingSettings):
        key = timing_field.name
        if "bounds" in timing_field.metadata:  # (low, high, whether low itself is allowed)
            low, high, low_allowed = timing_field.metadata["bounds"]
            strategy = _number(float, low, high, exclude_low=not low_allowed)
        elif timing_hints[key] == tuple[str, ...]:
            strategy = _text_list(min_size=0)
        else:
            continue  # ringback: one of the presets, checked by name in tests/test_scorecard.py

        def timing_getter(s: Any, key: str = key) -> Any:
            return getattr(s.timing, key)

        entries.append((("timing", key), strategy, timing_getter))
    return entries


def _as_loaded(value: Any) -> Any:
    """What the scorecard holds for a TOML value: lists as tuples, numbers of float keys as floats."""
    if isinstance(value, list):
        return tuple(value)
    return value


def test_scorecard_valid_override_round_trips(ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> None:
    ledger.input("scorecard: valid overrides (real key, right type, within bounds) must load as written")
    _, default_scorecard_data, load_scorecard, _ = _scorecard_api()
    entries = _valid_overrides()
    default = default_scorecard_data()
    path = tmp_path_factory.mktemp("scorecard-round-trip") / "center.toml"

    @st.composite
    def overrides(draw: st.DrawFn) -> list[tuple[tuple[str, ...], Any, Callable[[Any], Any]]]:
        chosen = draw(st.lists(st.sampled_from(range(len(entries))), min_size=1, max_size=4, unique=True))
        return [(entries[i][0], draw(entries[i][1]), entries[i][2]) for i in chosen]

    @PROPERTY
    @given(overrides())
    def check(changes: list[tuple[tuple[str, ...], Any, Callable[[Any], Any]]]) -> None:
        override: dict[str, Any] = {}
        for key, value, _ in changes:
            override = layered(override, nested(key, value))
        path.write_text(to_toml(override), encoding="utf-8")
        scorecard = load_scorecard(path)
        for key, value, getter in changes:
            loaded = getter(scorecard)
            if isinstance(value, dict):  # a table merges with the default's, key by key
                assert loaded == {**_get(default, key), **value}, key
            else:
                assert loaded == _as_loaded(value), key
                assert type(loaded) is type(_as_loaded(value)) or isinstance(value, int), key

    check()


# -- phrase matching -------------------------------------------------------------------------------------

# Characters that exercise every path of the matcher: homophones (管理处/出, 贵姓/心), syllables that end
# in another's sound (关 guan / 安 an), negations, fillers, Latin letters said as syllables, digits.
CJK = "您好请问贵姓心感谢的来电订管理处出关安慰先生我们也没有办法不归管满意很就是那个嗯啊呃哦额再见"
MATCHER_CHARS = st.one_of(
    st.sampled_from(CJK),
    st.sampled_from("abcABC019 ，。！？,.!?"),
    st.characters(exclude_categories=("Cs",)),  # anything, emoji and combining marks included
    st.sampled_from(("😀", "👍", "\U0001f3fd", "\u0301", "\u200b", "\ufeff", "〇", "Ⅻ", "ǅ", "İ", "ß", "\U00020000")),
)
matcher_text = st.text(MATCHER_CHARS, max_size=30)
min_similarities = st.integers(500, 1000).map(lambda n: n / 1000)  # the scorecard's 0.5-1.0, 3 decimals


def _assert_well_formed(match: PhraseMatch | None, text: str, phrase: str, min_similarity: float, start: int) -> None:
    if match is None:
        return
    assert 0 <= match.start < match.end <= len(text), match
    assert match.start >= start, match  # only occurrences at `start` or later
    assert match.phrase == phrase
    assert match.method in ("exact", "pinyin", "pinyin-fuzzy")
    if match.method == "pinyin-fuzzy":
        assert min_similarity <= match.similarity <= 1.0, match
    else:
        assert match.similarity == 1.0


def test_find_phrase_on_arbitrary_unicode(ledger: Ledger) -> None:
    ledger.input(
        "matching: arbitrary unicode text and phrases (empty, emoji, combining marks, astral CJK, negations, "
        "fillers, homophones) at random start offsets and similarity thresholds"
    )

    @PROPERTY
    @given(matcher_text, matcher_text, min_similarities, st.integers(0, 35))
    @example("关慰您的", "安慰您的", 1.0, 0)
    @example("", "", 0.85, 0)
    @example("e\u0301\u0301", "\u0301", 0.5, 0)
    def check(text: str, phrase: str, min_similarity: float, start: int) -> None:
        match = find_phrase(text, phrase, min_similarity, start)
        _assert_well_formed(match, text, phrase, min_similarity, start)
        if min_similarity == 1.0:
            assert match is None or match.method != "pinyin-fuzzy", match

    check()


# Characters and others with a similar syllable: the same sound (处/出), one sound off (姓/心), or a
# syllable that ends in the other's whole sound (关 guan / 安 an, 先 xian / 安 an).
NEAR = {"安": "关先", "姓": "心性", "电": "订店", "处": "出初", "您": "你拟", "慰": "位为", "理": "里李", "来": "赖"}


@st.composite
def near_homophones(draw: st.DrawFn) -> tuple[str, str]:
    """A phrase of 4+ characters and text holding it with some characters swapped for similar ones."""
    phrase = draw(st.text(st.sampled_from(CJK + "".join(NEAR)), min_size=MIN_FUZZY_CHARS, max_size=8))
    said = "".join(draw(st.sampled_from(char + NEAR.get(char, ""))) for char in phrase)
    return phrase, draw(matcher_text) + said + draw(matcher_text)


def test_find_phrase_at_full_similarity_is_never_fuzzy(ledger: Ledger) -> None:
    ledger.input("matching: near-homophone text (a phrase with characters swapped for similar-sounding ones)")

    @PROPERTY
    @given(near_homophones())
    @example(("安慰您的", "关慰您的"))  # was pinyin-fuzzy at 1.0: 'an wei nin de' inside 'guan wei nin de'
    @example(("安生您好", "先生您好"))
    def check(generated: tuple[str, str]) -> None:
        phrase, text = generated
        match = find_phrase(text, phrase, min_similarity=1.0)
        _assert_well_formed(match, text, phrase, 1.0, 0)
        assert match is None or match.method != "pinyin-fuzzy", match
        fuzzy = find_phrase(text, phrase, min_similarity=0.5)
        _assert_well_formed(fuzzy, text, phrase, 0.5, 0)

    check()


def _content_span(phrase: str) -> tuple[int, int]:
    offsets = [i for i, char in enumerate(phrase) if unicodedata.category(char)[0] in "LN"]
    return offsets[0], offsets[-1] + 1


def test_a_phrase_written_verbatim_is_found_where_it_is(ledger: Ledger) -> None:
    ledger.input("matching: a phrase inserted verbatim into random text (no negation before it)")

    @PROPERTY
    @given(st.text(MATCHER_CHARS, min_size=1, max_size=8), st.data())
    def check(phrase: str, data: st.DataObject) -> None:
        assume(any(unicodedata.category(char)[0] in "LN" for char in phrase))
        # The text around it shares no character with the phrase (so the inserted copy is the first
        # occurrence) and has no negation (which would rightly stop a match right after it).
        banned = set(phrase) | NEGATIONS
        around = st.text(MATCHER_CHARS.filter(lambda char: char not in banned), max_size=20)
        before, after = data.draw(around), data.draw(around)
        text = before + phrase + after
        start = data.draw(st.integers(0, len(before)))
        match = find_phrase(text, phrase, data.draw(min_similarities), start)
        first, last = _content_span(phrase)
        assert match == PhraseMatch(phrase, len(before) + first, len(before) + last, 1.0, "exact")

    check()


def test_find_any_is_the_best_find_phrase(ledger: Ledger) -> None:
    ledger.input("matching: find_any over random phrase lists (empty list, duplicates, empty phrases)")

    @PROPERTY
    @given(matcher_text, st.lists(matcher_text, max_size=4), min_similarities)
    def check(text: str, phrases: list[str], min_similarity: float) -> None:
        best = find_any(text, phrases, min_similarity)
        matches = [m for m in (find_phrase(text, p, min_similarity) for p in phrases) if m]
        if not matches:
            assert best is None
            return
        assert best is not None and best in matches
        assert (best.similarity, -best.start) == max((m.similarity, -m.start) for m in matches)

    check()
