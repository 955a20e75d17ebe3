"""How the call ended (不可摔电话): whose speech was last, and whether the customer was cut off mid-sentence."""

from __future__ import annotations

from qa_pipeline.audio.decode import DecodedAudio
from qa_pipeline.measures.record import Hangup
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech
from qa_pipeline.text.matching import find_any


def measure_hangup(
    audio: DecodedAudio | None, speech: Speech, settings: TimingSettings, min_similarity: float
) -> Hangup | None:
    """None without audio (a transcript from a file has no end of recording) or without speech."""
    if speech.end_s is None or audio is None:
        return None
    if speech.speakers:
        last_by = {speaker: max((end for _, end in found), default=-1.0) for speaker, found in speech.regions.items()}
        ended_by = max(last_by, key=lambda speaker: last_by[speaker])
    else:
        ended_by = "unknown"
    last_customer = speech.customer[-1] if speech.customer else None
    # A customer who said goodbye and hung up ended the call; one still talking when it ended was cut off.
    said_goodbye = last_customer is not None and find_any(last_customer.text, settings.farewells, min_similarity)
    cut_off = (
        ended_by == "customer" and audio.duration_s - speech.end_s <= settings.cut_off_within_s and not said_goodbye
    )
    last_customer = last_customer if cut_off else None
    return Hangup(
        ended_by,
        round(speech.end_s, 3),
        cut_off,
        last_customer.start_s if last_customer else None,
        last_customer.text if last_customer else None,
    )
