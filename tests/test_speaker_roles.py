"""Mono calls: words to speaker turns, turns to roles, and what the checks see when roles are unclear."""

from __future__ import annotations

import numpy as np
import pytest

from qa_pipeline.asr.diarize import (
    Diarization,
    SpeakerTurn,
    _silhouette,
    _Window,
    cluster_embeddings,
    turns_from_windows,
)
from qa_pipeline.asr.roles import RoleSettings, assign_roles
from qa_pipeline.asr.speakers import attribute_words, diarized_transcript, speaker_at
from qa_pipeline.asr.transcript import Segment, Word
from qa_pipeline.asr.vad import SpeechRegion
from qa_pipeline.checks import REGISTRY
from qa_pipeline.checks.base import CallContext
from qa_pipeline.config.scorecard import load_scorecard


def _words(start_s: float, text: str, each_s: float = 0.25) -> tuple[Word, ...]:
    return tuple(Word(start_s + i * each_s, start_s + (i + 1) * each_s, char, 0.9) for i, char in enumerate(text))


def _segment(start_s: float, text: str) -> Segment:
    words = _words(start_s, text)
    return Segment("unknown", start_s, words[-1].end_s, text, 0.9, words)


# ---------------------------------------------------------------------------------------------------------------------
# Words -> turns


def test_speaker_at_takes_the_turn_overlapping_most_and_the_nearest_when_none_does() -> None:
    turns = [SpeakerTurn(0.0, 1.0, "A"), SpeakerTurn(1.0, 3.0, "B")]
    assert speaker_at(0.8, 1.4, turns) == "B"  # 0.2 s of A, 0.4 s of B
    assert speaker_at(0.5, 1.1, turns) == "A"
    assert speaker_at(3.5, 3.7, turns) == "B"  # after every turn: the nearest
    assert speaker_at(0.0, 1.0, []) is None


def test_a_segment_is_split_where_the_speaker_changes_mid_sentence() -> None:
    # One VAD region holds the agent's question and the customer's answer with no pause between them.
    segment = _segment(10.0, "请问您贵姓我姓王")  # 8 characters, 0.25 s each: 10.0 .. 12.0
    turns = [SpeakerTurn(9.9, 11.25, "SPEAKER_00"), SpeakerTurn(11.25, 12.1, "SPEAKER_01")]
    split = attribute_words([segment], turns)
    assert [(s.speaker, s.text) for s in split] == [("SPEAKER_00", "请问您贵姓"), ("SPEAKER_01", "我姓王")]
    assert split[0].start_s == 10.0 and split[0].end_s == 11.25
    assert split[1].start_s == 11.25 and split[1].end_s == 12.0
    assert [w.text for w in split[1].words] == ["我", "姓", "王"]


def test_a_lone_short_word_keeps_the_speaker_of_the_words_around_it() -> None:
    segment = _segment(0.0, "好的请问")  # a turn boundary a few frames off puts 的 in the other speaker's turn
    turns = [SpeakerTurn(0.0, 0.26, "A"), SpeakerTurn(0.26, 0.49, "B"), SpeakerTurn(0.49, 1.0, "A")]
    assert [(s.speaker, s.text) for s in attribute_words([segment], turns)] == [("A", "好的请问")]


def test_a_segment_without_words_goes_whole_to_the_turn_it_overlaps_most() -> None:
    segment = Segment("unknown", 5.0, 7.0, "喂", None, ())
    turns = [SpeakerTurn(4.0, 5.5, "A"), SpeakerTurn(5.5, 8.0, "B")]
    assert [(s.speaker, s.start_s, s.end_s) for s in attribute_words([segment], turns)] == [("B", 5.0, 7.0)]


# ---------------------------------------------------------------------------------------------------------------------
# Roles


def test_the_speaker_with_the_service_script_is_the_agent() -> None:
    texts = {
        "SPEAKER_00": "您好，我想问一下你们物业费怎么交。我姓王。没有了，谢谢。",
        "SPEAKER_01": "您好，欢迎致电红树西岸管理处，请问有什么可以帮您？请问您贵姓？"
        "请问还有其他事情需要办理吗？感谢您的来电。",
    }
    roles = assign_roles(texts, first_speaker="SPEAKER_00", organisations=("红树西岸管理处",))
    assert roles.roles == {"SPEAKER_00": "customer", "SPEAKER_01": "agent"}
    # agent: 欢迎致电 3, 有什么可以帮您 3 (and the 帮您 in it 1), 请问您贵姓 2, 请问还有其他 2, 感谢您的来电 3,
    # the organisation 2 = 16; customer: speaks first 1, 我想问 -1, 你们 -1 = -1; gap 17
    assert roles.scores == {"SPEAKER_00": -1.0, "SPEAKER_01": 16.0}
    assert roles.confidence == pytest.approx(1 - np.exp(-17 / 4), abs=1e-3)


def test_roles_are_not_guessed_when_both_speakers_sound_alike() -> None:
    texts = {"SPEAKER_00": "好的。", "SPEAKER_01": "嗯，可以。"}
    roles = assign_roles(texts, first_speaker="SPEAKER_00")
    assert not roles.assigned and roles.roles == {}
    assert roles.confidence == pytest.approx(1 - np.exp(-1 / 4), abs=1e-3)  # only "speaks first" separates them
    assert "roles unclear" in roles.reason


def test_on_an_inbound_call_the_first_voice_counts_more_and_a_rude_agent_is_still_found() -> None:
    # An agent with no script at all (没有问候语): the one who asks for the flat and arranges the repair.
    texts = {
        "SPEAKER_00": "什么事？几栋几号房？我安排维修师傅过去，你电话多少？",
        "SPEAKER_01": "我家厨房漏水了，三栋二零一。",
    }
    inbound = assign_roles(texts, first_speaker="SPEAKER_00", direction="inbound")
    # 几栋几号 2 + 我安排/维修师傅 1 + 电话多少 1 + first on an inbound call 2 = 6; 我家 -1
    assert inbound.scores == {"SPEAKER_00": 6.0, "SPEAKER_01": -1.0}
    assert inbound.roles == {"SPEAKER_00": "agent", "SPEAKER_01": "customer"}
    outbound = assign_roles(texts, first_speaker="SPEAKER_00", direction="outbound")
    assert outbound.scores["SPEAKER_00"] == 4.0


def test_a_centers_own_cues_replace_the_defaults() -> None:
    settings = RoleSettings(agent_cues=(("贵司", 3.0),), customer_cues=(), min_confidence=0.5)
    roles = assign_roles({"A": "贵司的快递到了", "B": "欢迎致电"}, settings=settings)
    assert roles.scores == {"A": 3.0, "B": 0.0} and roles.roles == {"A": "agent", "B": "customer"}


def test_one_voice_gets_no_roles_and_a_third_voice_is_a_customer() -> None:
    assert not assign_roles({"SPEAKER_00": "欢迎致电"}).assigned
    three = assign_roles({"A": "欢迎致电，请问有什么可以帮您", "B": "我想问一下", "C": "你们怎么办"})
    assert three.roles == {"A": "agent", "B": "customer", "C": "customer"}


# ---------------------------------------------------------------------------------------------------------------------
# Clustering and turns


def test_two_clouds_of_embeddings_cluster_apart_and_the_first_speaker_is_speaker_00() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=16), rng.normal(size=16)
    points = np.array([a + 0.1 * rng.normal(size=16) if i % 3 else b + 0.1 * rng.normal(size=16) for i in range(12)])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = cluster_embeddings(points, 2)
    expected = np.array([0 if i % 3 == 0 else 1 for i in range(12)])  # index 0 is from b: b is speaker 0
    assert labels.tolist() == expected.tolist()
    assert _silhouette(points, labels) > 0.5
    assert _silhouette(points, np.zeros(12, dtype=int)) == 0.0


def test_turns_follow_the_window_votes_and_short_speech_takes_the_nearest_window() -> None:
    regions = [SpeechRegion(0.0, 4.0), SpeechRegion(4.5, 4.8), SpeechRegion(5.0, 6.0)]
    windows = [_Window(0.0, 2.0), _Window(1.0, 3.0), _Window(2.0, 4.0), _Window(5.0, 6.0)]
    labels = np.array([0, 0, 1, 1])
    turns = turns_from_windows(windows, labels, regions, duration_s=6.5)
    # 0-2 s: only speaker 0 votes; 2-3 s: a tie, argmax takes 0; 3-4 s: speaker 1. 4.5-4.8 s is too short to
    # embed: nearest window centre is 5.5 s (speaker 1).
    assert [(t.start_s, t.end_s, t.speaker) for t in turns] == [
        (0.0, 3.0, "SPEAKER_00"),
        (3.0, 4.0, "SPEAKER_01"),
        (4.5, 4.8, "SPEAKER_01"),
        (5.0, 6.0, "SPEAKER_01"),
    ]


# ---------------------------------------------------------------------------------------------------------------------
# The transcript and the checks


def _mono_call() -> tuple[list[Segment], Diarization]:
    segments = [
        _segment(0.0, "您好欢迎致电红树西岸管理处请问有什么可以帮您"),  # 21 chars: 0 .. 5.25
        _segment(6.0, "我想问一下物业费"),  # 6.0 .. 8.0
        _segment(9.0, "请问还有其他事情需要办理吗"),  # 9.0 .. 12.25
        _segment(13.0, "没有了谢谢"),
        _segment(15.0, "感谢您的来电再见"),
    ]
    turns = (
        SpeakerTurn(0.0, 5.3, "SPEAKER_00"),
        SpeakerTurn(5.9, 8.1, "SPEAKER_01"),
        SpeakerTurn(8.9, 12.3, "SPEAKER_00"),
        SpeakerTurn(12.9, 14.3, "SPEAKER_01"),
        SpeakerTurn(14.9, 17.1, "SPEAKER_00"),
    )
    return segments, Diarization(turns, "embedded", 0.45)


def test_a_diarized_mono_call_gets_agent_and_customer_segments_turns_and_talk_regions() -> None:
    segments, diarization = _mono_call()
    transcript = diarized_transcript(segments, diarization, "test", organisations=("红树西岸管理处",))
    assert [s.speaker for s in transcript.segments] == ["agent", "customer", "agent", "customer", "agent"]
    assert transcript.has_speakers and transcript.diarization == "embedded"
    assert transcript.speakers_found == 2 and transcript.diarization_confidence == 0.45
    assert transcript.role_confidence is not None and transcript.role_confidence > 0.9
    assert [(t.label, t.role) for t in transcript.turns][:2] == [("SPEAKER_00", "agent"), ("SPEAKER_01", "customer")]
    assert transcript.speech_regions["customer"] == ((5.9, 8.1), (12.9, 14.3))


def test_when_roles_are_unclear_agent_side_checks_are_not_applicable_and_say_why() -> None:
    segments = [_segment(0.0, "好的"), _segment(2.0, "嗯可以")]
    turns = (SpeakerTurn(0.0, 0.6, "SPEAKER_00"), SpeakerTurn(1.9, 2.8, "SPEAKER_01"))
    transcript = diarized_transcript(segments, Diarization(turns, "embedded", 0.1), "test")
    assert {s.speaker for s in transcript.segments} == {"unknown"}
    assert not transcript.has_speakers
    assert transcript.role_note is not None and "diarization confidence 0.10 is low" in transcript.role_note
    scorecard = load_scorecard(None)
    context = CallContext(
        call_id="c1",
        transcript=transcript,
        call_type="inquiry",
        direction="inbound",
        organisations=scorecard.organisations,
        min_similarity=scorecard.min_similarity,
    )
    result = REGISTRY["greeting"](scorecard.checks["greeting"]).run(context)
    assert not result.applicable
    assert "agent and customer not told apart" in result.detail["reason"]
