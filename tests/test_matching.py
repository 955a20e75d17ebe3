"""find_phrase / find_any: exact, pinyin and fuzzy-pinyin matches with offsets into the original text."""

from __future__ import annotations

import pytest

from qa_pipeline.text.matching import MIN_FUZZY_CHARS, PhraseMatch, clause_bounds, clause_from, find_any, find_phrase


def matched_text(text: str, match: PhraseMatch | None) -> str | None:
    return None if match is None else text[match.start : match.end]


# -- exact ---------------------------------------------------------------------------------------------


def test_exact_match_offsets() -> None:
    text = "您好，感谢您的来电，再见"
    assert find_phrase(text, "感谢您的来电") == PhraseMatch("感谢您的来电", 3, 9, 1.0, "exact")


def test_exact_match_across_punctuation_and_spaces() -> None:
    text = "您好！有什么, 可以 帮您？"
    match = find_phrase(text, "有什么可以帮您")
    assert match == PhraseMatch("有什么可以帮您", 3, 13, 1.0, "exact")
    assert matched_text(text, match) == "有什么, 可以 帮您"


def test_punctuation_in_the_phrase_is_ignored() -> None:
    text = "您好有什么可以帮您"
    assert find_phrase(text, "有什么，可以帮您？") == PhraseMatch("有什么，可以帮您？", 2, 9, 1.0, "exact")


def test_first_occurrence_is_returned() -> None:
    assert find_phrase("再见，再见", "再见") == PhraseMatch("再见", 0, 2, 1.0, "exact")


def test_latin_letters_match() -> None:
    assert find_phrase("您好，江苏CA为您服务", "江苏CA") == PhraseMatch("江苏CA", 3, 7, 1.0, "exact")
    # ASR often lower-cases Latin letters: same syllables, so a pinyin match.
    assert find_phrase("您好，江苏ca为您服务", "江苏CA") == PhraseMatch("江苏CA", 3, 7, 1.0, "pinyin")


@pytest.mark.parametrize(("text", "phrase"), [("", "您好"), ("您好", ""), ("您好", "，？"), ("，。！", "您好")])
def test_empty_text_or_phrase(text: str, phrase: str) -> None:
    assert find_phrase(text, phrase) is None


# -- homophones ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase", "expected"),
    [
        # same pinyin, other characters: a 'pinyin' match at similarity 1.0, even for short phrases
        ("这里是红树西岸管理出，您好", "管理处", PhraseMatch("管理处", 7, 10, 1.0, "pinyin")),
        ("这里是红树西岸管理出，您好", "红树西岸管理处", PhraseMatch("红树西岸管理处", 3, 10, 1.0, "pinyin")),
        ("请问有什么可以帮住您", "有什么可以帮助您", PhraseMatch("有什么可以帮助您", 2, 10, 1.0, "pinyin")),
        ("这个不归我门管的", "不归我们管", PhraseMatch("不归我们管", 2, 7, 1.0, "pinyin")),
    ],
)
def test_homophone_with_identical_pinyin(text: str, phrase: str, expected: PhraseMatch) -> None:
    assert find_phrase(text, phrase) == expected


@pytest.mark.parametrize(
    ("text", "phrase", "span"),
    [
        # 贵心 (gui xin) for 贵姓 (gui xing), 来订 (lai ding) for 来电 (lai dian): near, not equal, pinyin
        ("好的，请问您贵心？", "请问您贵姓", "请问您贵心"),
        ("好的，感谢您的来订，再见", "感谢您的来电", "感谢您的来订"),
        # a dropped syllable (助) is forgiven
        ("请问有什么可以帮您", "有什么可以帮助您", "有什么可以帮您"),
    ],
)
def test_near_homophone_fuzzy_match(text: str, phrase: str, span: str) -> None:
    match = find_phrase(text, phrase)
    assert match is not None
    assert match.method == "pinyin-fuzzy"
    assert 0.85 <= match.similarity < 1.0
    assert matched_text(text, match) == span


def test_fuzzy_similarity_values() -> None:
    assert find_phrase("好的，请问您贵心？", "请问您贵姓") == PhraseMatch("请问您贵姓", 3, 8, 0.976, "pinyin-fuzzy")
    assert find_phrase("请问有什么可以帮您", "有什么可以帮助您") == PhraseMatch(
        "有什么可以帮助您", 2, 9, 0.929, "pinyin-fuzzy"
    )


def test_min_similarity_is_respected() -> None:
    # 我们没办法 vs 我也没办法: 0.875 pinyin similarity
    match = find_phrase("我们没办法", "我也没办法")
    assert match is not None and match.similarity == 0.875
    assert find_phrase("我们没办法", "我也没办法", min_similarity=0.9) is None


# -- short phrases -------------------------------------------------------------------------------------


def test_min_fuzzy_chars_is_four() -> None:
    assert MIN_FUZZY_CHARS == 4


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("好的，请问您贵心？", "贵姓"),  # gui xin != gui xing, and 2 characters are never fuzzy-matched
        ("感谢您的来订，再见", "来电"),  # lai ding != lai dian
        ("感谢您的来订，再见", "感谢来"),  # 3 chars: gan xie lai is not in the text
        ("请问你号", "您好"),  # ni hao != nin hao
        ("您好，请问", "你好"),
        ("这里是红树西岸管理所", "管理处"),  # suo != chu
    ],
)
def test_short_phrase_is_never_fuzzy_matched(text: str, phrase: str) -> None:
    assert len(phrase) < MIN_FUZZY_CHARS
    assert find_phrase(text, phrase) is None
    assert find_phrase(text, phrase, min_similarity=0.5) is None


def test_four_char_phrase_is_fuzzy_matched() -> None:
    # The same near-homophone as above becomes findable once the phrase has MIN_FUZZY_CHARS characters.
    match = find_phrase("好的，感谢您的来订", "您的来电")
    assert match is not None
    assert match.method == "pinyin-fuzzy"
    assert (match.start, match.end) == (5, 9)


# -- fragments and unrelated text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("有什么", "有什么可以帮您"),
        ("可以帮您", "有什么可以帮您"),
        ("我可以帮您查一下", "有什么可以帮您"),
        ("可以帮助您", "有什么可以帮助您"),
        ("感谢", "感谢您的来电"),
        ("您的来电", "感谢您的来电"),
        ("这个事情我也不知道", "我也没办法"),
    ],
)
def test_fragment_of_the_phrase_does_not_match(text: str, phrase: str) -> None:
    assert find_phrase(text, phrase) is None


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("今天天气很好，我们去公园散步吧", "有什么可以帮助您"),
        ("今天天气很好，我们去公园散步吧", "感谢您的来电"),
        ("请稍等，我帮您查询一下", "你自己去查"),
        ("好的，我马上安排师傅上门维修", "不归我们管"),
        ("您的快递已经签收了", "很高兴为您服务"),
    ],
)
def test_unrelated_sentence_does_not_match(text: str, phrase: str) -> None:
    assert find_phrase(text, phrase) is None


# -- negation ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("这个事归我们管", "不归我们管"),  # dropped 不: the opposite statement
        ("这个归我们管的", "不归我们管"),
        ("我很满意的", "我很不满意的"),
        ("我很不满意的", "我很满意的"),  # added 不
        ("我很不满意", "我很满意的"),
        ("我也有办法", "我也没办法"),
        ("你听得懂吗", "你听不懂吗"),
        ("你自己别去查", "你自己去查"),
        ("有什么不可以帮您", "有什么可以帮您"),
        ("没什么需要协助的", "有什么需要协助"),
    ],
)
def test_negation_is_never_fuzzed(text: str, phrase: str) -> None:
    assert find_phrase(text, phrase) is None
    assert find_phrase(text, phrase, min_similarity=0.5) is None


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        pytest.param("我不很满意的", "我很满意的", id="wo-bu-hen-manyi-de"),  # 'I am not very satisfied'
        pytest.param("您不很满意吗", "您很满意吗", id="nin-bu-hen-manyi-ma"),
    ],
)
def test_negation_inside_the_phrase_span_is_not_skipped_by_the_alignment(text: str, phrase: str) -> None:
    """The 不 sits between the phrase's first and second syllable; the fuzzy alignment must not start
    after it (dropping the first syllable) and so lose the negation."""
    assert find_phrase(text, phrase) is None


def test_negation_outside_the_matched_span_is_no_obstacle() -> None:
    assert find_phrase("不，我很满意的", "我很满意的") == PhraseMatch("我很满意的", 2, 7, 1.0, "exact")


def test_negated_phrase_matches_negated_text() -> None:
    match = find_phrase("这个事情不归我们管的", "不归我们管")
    assert match == PhraseMatch("不归我们管", 4, 9, 1.0, "exact")


# -- find_any ------------------------------------------------------------------------------------------


def test_find_any_prefers_higher_similarity_over_earlier() -> None:
    text = "请问有什么可以帮您，很高兴为您服务"
    # 有什么可以帮助您 matches first but only fuzzily (0.929); 为您服务 is exact.
    assert find_any(text, ["有什么可以帮助您", "为您服务"]) == PhraseMatch("为您服务", 13, 17, 1.0, "exact")


@pytest.mark.parametrize("order", [["再见", "感谢您的来电"], ["感谢您的来电", "再见"]])
def test_find_any_equal_similarity_earliest_wins(order: list[str]) -> None:
    assert find_any("感谢您的来电，再见", order) == PhraseMatch("感谢您的来电", 0, 6, 1.0, "exact")
    assert find_any("再见，感谢您的来电", order) == PhraseMatch("再见", 0, 2, 1.0, "exact")


def test_exact_occurrence_is_preferred_over_an_earlier_pinyin_one() -> None:
    text = "这里是管理出，也就是管理处"
    # Characters are compared before pinyin: the exact 管理处 wins though the homophone comes first.
    assert find_phrase(text, "管理处") == PhraseMatch("管理处", 10, 13, 1.0, "exact")
    assert find_any(text, ["管理处"]) == PhraseMatch("管理处", 10, 13, 1.0, "exact")


def test_find_any_without_a_match() -> None:
    assert find_any("今天天气不错", ["再见", "感谢您的来电"]) is None
    assert find_any("今天天气不错", []) is None


def test_find_any_accepts_a_generator_and_passes_min_similarity() -> None:
    phrases = (p for p in ["我也没办法", "你自己去查"])
    assert find_any("我们没办法", phrases, min_similarity=0.9) is None
    match = find_any("我们没办法", iter(["我也没办法"]), min_similarity=0.85)
    assert match is not None and match.phrase == "我也没办法"


# -- filler words --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase", "expected", "span"),
    [
        ("好的，请问您嗯贵姓？", "请问您贵姓", PhraseMatch("请问您贵姓", 3, 9, 1.0, "exact"), "请问您嗯贵姓"),
        (
            "我跟您那个确认一下",
            "我跟您确认一下",
            PhraseMatch("我跟您确认一下", 0, 9, 1.0, "exact"),
            "我跟您那个确认一下",
        ),
        ("感谢您的啊来电", "感谢您的来电", PhraseMatch("感谢您的来电", 0, 7, 1.0, "exact"), "感谢您的啊来电"),
        ("请问您呃，贵姓", "请问您贵姓", PhraseMatch("请问您贵姓", 0, 7, 1.0, "exact"), "请问您呃，贵姓"),
        ("还有其他就是可以帮到您的吗", "还有其他可以帮到您的吗", None, "还有其他就是可以帮到您的吗"),
        ("您好哦，额，欢迎致电", "您好欢迎致电", None, "您好哦，额，欢迎致电"),
        # fillers and a homophone at once: still a pinyin match
        ("这里是管理嗯出", "管理处", PhraseMatch("管理处", 3, 7, 1.0, "pinyin"), "管理嗯出"),
    ],
)
def test_fillers_inside_a_phrase_are_skipped(text: str, phrase: str, expected: PhraseMatch | None, span: str) -> None:
    match = find_phrase(text, phrase)
    assert match is not None
    if expected:
        assert match == expected
    assert match.method in ("exact", "pinyin")
    assert matched_text(text, match) == span  # offsets into the original text, fillers included


def test_fillers_and_a_near_homophone_give_a_fuzzy_match_over_the_original_text() -> None:
    text = "好的，请问您嗯贵心？"
    match = find_phrase(text, "请问您贵姓")
    assert match is not None and match.method == "pinyin-fuzzy"
    assert matched_text(text, match) == "请问您嗯贵心"


def test_fillers_around_a_phrase_are_not_part_of_the_span() -> None:
    assert find_phrase("嗯请问您贵姓啊", "请问您贵姓") == PhraseMatch("请问您贵姓", 1, 6, 1.0, "exact")
    assert find_phrase("嗯，那个，请问您嗯贵姓啊", "请问您贵姓") == PhraseMatch("请问您贵姓", 5, 11, 1.0, "exact")


def test_a_filler_the_phrase_contains_is_not_skipped() -> None:
    assert find_phrase("好的这样", "就是这样") is None
    assert find_phrase("对，就是这样", "就是这样") == PhraseMatch("就是这样", 2, 6, 1.0, "exact")
    assert find_phrase("那个嗯地址", "那个地址") == PhraseMatch("那个地址", 0, 5, 1.0, "exact")


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("我不嗯满意", "满意"),  # a hesitation between the negation and the phrase does not end its scope
        ("我很不啊满意的", "我很满意的"),
        ("这个事归嗯我们管", "不归我们管"),  # a filler never stands in for a negation
        ("我没呃，有办法", "我也没办法"),
    ],
)
def test_fillers_never_hide_a_negation(text: str, phrase: str) -> None:
    assert find_phrase(text, phrase) is None


def test_negation_with_fillers_inside_matches_the_negated_phrase() -> None:
    assert find_phrase("这个不归嗯我们管", "不归我们管") == PhraseMatch("不归我们管", 2, 8, 1.0, "exact")


def test_punctuation_still_ends_a_negation_behind_a_filler() -> None:
    assert find_phrase("不，嗯满意", "满意") == PhraseMatch("满意", 3, 5, 1.0, "exact")


# -- single characters and search start ----------------------------------------------------------------


def test_single_character_phrase_is_matched_by_its_character_only() -> None:
    # 谁 and 水 are both shui: a one-syllable pinyin match would find 谁 in every 漏水.
    assert find_phrase("厨房漏水了", "谁") is None
    assert find_phrase("是谁跟您说的", "谁") == PhraseMatch("谁", 1, 2, 1.0, "exact")


def test_start_skips_earlier_occurrences_but_keeps_their_context() -> None:
    text = "满意，不满意，满意"
    assert find_phrase(text, "满意", start=1) == PhraseMatch("满意", 7, 9, 1.0, "exact")
    # the 不 before offset 4 still negates the occurrence at 4
    assert find_phrase("不满意", "满意", start=1) is None
    assert find_phrase(text, "满意", start=8) is None
    assert find_any("对吗，是吗", ["是吗", "对吗"], start=1) == PhraseMatch("是吗", 3, 5, 1.0, "exact")


def test_start_applies_to_pinyin_and_fuzzy_matches() -> None:
    text = "请问您贵心，请问您贵心"
    match = find_phrase(text, "请问您贵姓", start=1)
    assert match is not None and (match.start, match.end, match.method) == (6, 11, "pinyin-fuzzy")
    assert find_phrase("管理出，管理出", "管理处", start=1) == PhraseMatch("管理处", 4, 7, 1.0, "pinyin")


# -- regressions found by tests/reliability/test_parser_properties.py ----------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("关慰您的", "安慰您的"),  # guan wei nin de: the pinyin string holds 'an wei nin de'
        ("先生您好", "安生您好"),  # xian sheng nin hao holds 'an sheng nin hao'
    ],
)
def test_a_syllable_ending_in_the_phrase_sound_is_no_exact_pinyin_match(text: str, phrase: str) -> None:
    """The fuzzy alignment may start inside a syllable (the 'an' of guan); the syllables it touches are
    scored whole, so such a match is never similarity 1.0 and never passes min_similarity=1.0."""
    assert find_phrase(text, phrase, min_similarity=1.0) is None
    match = find_phrase(text, phrase)
    assert match is not None and match.method == "pinyin-fuzzy"
    assert (match.start, match.end) == (0, 4)
    assert 0.85 <= match.similarity < 1.0


def test_a_syllable_fragment_does_not_raise_the_similarity() -> None:
    assert find_phrase("我很关慰您的心情", "安慰您的心情") == PhraseMatch("安慰您的心情", 2, 8, 0.957, "pinyin-fuzzy")


# -- words said apart: 说…遍 ------------------------------------------------------------------------------


def test_parts_said_apart_match_in_order_with_the_span_covering_both() -> None:
    match = find_phrase("同样的话我说过四五遍了", "说…遍")
    assert match is not None
    assert (match.start, match.end) == (5, 10)
    assert match.similarity == 1.0 and match.method == "exact"


def test_parts_too_far_apart_or_across_a_sentence_do_not_match() -> None:
    assert find_phrase("说的是我们小区东门外面那一段路的一遍", "说…遍") is None  # 15 characters between
    assert find_phrase("我说的是这个。再来一遍", "说…遍") is None  # a sentence ends between


def test_parts_said_apart_keep_the_negation_guard() -> None:
    assert find_phrase("我没说过几遍", "说…遍") is None


def test_parts_said_apart_forgive_homophones_in_each_part() -> None:
    match = find_phrase("这个是燃气集团副责的", "是…负责的")
    assert match is not None and match.method == "pinyin"


def test_clause_bounds_and_the_clause_from_an_offset() -> None:
    text = "好的，师傅下午到。另外还有别的事吗？"
    assert clause_bounds(text, 3) == (3, 8)  # 师傅下午到, up to the 。
    assert clause_bounds(text, 11, 13) == (9, 17)
    assert clause_from(text, 11) == "还有别的事吗？"
    assert clause_from("没有标点的一句话", 2) == "标点的一句话"
