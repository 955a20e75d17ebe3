"""Phrase verification against the audio (asr.verify) with the embedded Whisper base, on sample-call audio
(synthetic speech): a dropped 您好 / 再见 is heard, a phrase that was not said is not, and a transcript that
has the element already asks nothing."""

from __future__ import annotations

import json

import pytest

from qa_pipeline.asr.models import resolve_model
from qa_pipeline.asr.transcribe import call_prompt, get_transcriber
from qa_pipeline.asr.transcript import Segment
from qa_pipeline.asr.verify import ExpectedWords, PhraseVerifier, VerifySettings, places, verify_expected
from qa_pipeline.audio.decode import decode_audio
from qa_pipeline.config.scorecard import load_scorecard
from tests.conftest import SAMPLE_AUDIO

CARD = load_scorecard(None)
SETTINGS = CARD.verification()
CALL = next(c for c in json.loads((SAMPLE_AUDIO / "labels.json").read_text())["calls"] if c["call_id"] == "call_001")


@pytest.fixture(scope="module")
def verifier() -> PhraseVerifier:
    return PhraseVerifier(get_transcriber(resolve_model(None, "cpu")), call_prompt(CARD.organisations))


@pytest.fixture(scope="module")
def agent_stream():
    audio = decode_audio(SAMPLE_AUDIO / CALL["audio_file"])
    return {"agent": audio.channel(CALL["agent_channel"])}


def _utterance(text: str) -> Segment:
    """The agent's labelled utterance that says `text`, as a transcript segment with `text` dropped from it."""
    said = next(s for s in CALL["segments"] if s["speaker"] == "agent" and text in s["text"])
    return Segment("agent", said["start_s"], said["end_s"], said["text"].replace(text, "", 1).lstrip("，"))


def test_a_dropped_salutation_is_heard(verifier, agent_stream) -> None:
    opening = _utterance("您好")  # 欢迎致电红树西岸管理处，请问有什么可以帮您？ (您好 said, not written)
    heard = verify_expected([opening], agent_stream, verifier, SETTINGS)
    assert [(h.element, h.phrase, h.char_offset) for h in heard] == [("salutation", "您好", 0)]
    assert heard[0].probability >= SETTINGS.min_probability


def test_a_dropped_goodbye_is_heard(verifier, agent_stream) -> None:
    closing = _utterance("再见")  # 感谢您的来电！ (再见 said after it)
    heard = verify_expected([closing], agent_stream, verifier, SETTINGS)
    assert ("goodbye", "再见") in [(h.element, h.phrase) for h in heard]


def test_words_not_said_are_not_heard(verifier, agent_stream) -> None:
    """好的，请问您贵姓？ lacks every greeting and closing element, and says none of them."""
    asked = _utterance("请问您贵姓")
    asked = Segment("agent", asked.start_s, asked.end_s, "好的，请问您贵姓？")
    assert verify_expected([asked], agent_stream, verifier, SETTINGS) == ()


def test_nothing_is_asked_when_the_transcript_has_it(verifier, agent_stream) -> None:
    said = next(s for s in CALL["segments"] if s["speaker"] == "agent")
    opening = Segment("agent", said["start_s"], said["end_s"], said["text"])
    only_opening = VerifySettings(expected=tuple(e for e in SETTINGS.expected if e.where == "opening"))
    assert verify_expected([opening], agent_stream, verifier, only_opening) == ()


def test_places_are_word_boundaries_near_the_edge() -> None:
    from qa_pipeline.asr.transcript import Word

    words = tuple(Word(1.0 + i * 0.3, 1.25 + i * 0.3, w, 0.9) for i, w in enumerate(["感谢", "您的", "来电", "。"]))
    segment = Segment("agent", 1.0, 2.5, "感谢您的来电。", words=words)
    closing = places(segment, "closing", VerifySettings(near_chars=3))
    assert [p[0] for p in closing] == [4, 6, 7]
    assert closing[-1][1:] == (pytest.approx(2.15), 2.5)  # after the last word: to the utterance's end
    opening = places(segment, "opening", VerifySettings(max_places=2))
    assert opening == [(0, 1.0, 1.0), (2, 1.25, 1.3)]


def test_verification_settings_follow_the_scorecard() -> None:
    elements = {e.element: e for e in SETTINGS.expected}
    assert set(elements) == {"salutation", "organisation", "offer_of_help", "thanks", "goodbye"}
    assert elements["salutation"] == ExpectedWords("salutation", ("您好", "你好"), "opening")
    assert elements["organisation"].phrases == CARD.organisations


def test_scorecard_switches_and_bounds_verification(tmp_path) -> None:
    from qa_pipeline.config.scorecard import ScorecardError

    off = tmp_path / "off.toml"
    off.write_text("[matching]\naudio_verify = false\nmin_audio_probability = 0.7\n", encoding="utf-8")
    settings = load_scorecard(off).verification()
    assert (settings.enabled, settings.min_probability) == (False, 0.7)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[matching]\nmin_audio_probability = 1.5\n", encoding="utf-8")
    with pytest.raises(ScorecardError, match=r"wrong\.toml: matching\.min_audio_probability"):
        load_scorecard(wrong)


def test_an_utterance_longer_than_a_window_is_not_asked_about(verifier, agent_stream) -> None:
    """Heard only in part, the words before a place would not be in the audio: no question is asked."""
    long = Segment("agent", 5.0, 40.0, "欢迎致电红树西岸管理处，请问有什么可以帮您")
    assert verify_expected([long], agent_stream, verifier, SETTINGS) == ()


def test_a_failing_verification_never_loses_the_call(monkeypatch, caplog) -> None:
    """The transcript comes back unverified, with a warning, when verification itself breaks."""
    from qa_pipeline.asr import speakers

    def broken(*_args: object, **_kwargs: object) -> tuple[()]:
        raise RuntimeError("alignment failed")

    monkeypatch.setattr(speakers, "verify_expected", broken)
    call = next(
        c for c in json.loads((SAMPLE_AUDIO / "labels.json").read_text())["calls"] if c["call_id"] == "call_019"
    )
    audio = decode_audio(SAMPLE_AUDIO / call["audio_file"])
    transcript = speakers.build_transcript(
        audio, get_transcriber(resolve_model(None, "cpu")), agent_channel=call["agent_channel"], verify=SETTINGS
    )
    assert transcript.segments and transcript.verified == ()
    assert "phrase verification skipped: RuntimeError: alignment failed" in caplog.text
