"""`measure_call`: one call's Measures, each measure from its own module of this stage."""

from __future__ import annotations

from qa_pipeline.asr.transcript import Transcript
from qa_pipeline.audio.channels import split_speakers  # the same channel -> speaker split as the transcript
from qa_pipeline.audio.decode import DecodedAudio
from qa_pipeline.intake.metadata import CallMetadata
from qa_pipeline.measures.direction import call_direction
from qa_pipeline.measures.hangup import measure_hangup
from qa_pipeline.measures.overtalk import measure_overtalk
from qa_pipeline.measures.pace import measure_pace
from qa_pipeline.measures.record import Measures
from qa_pipeline.measures.rings import measure_rings
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.measures.speech import Speech
from qa_pipeline.measures.talk import measure_talk
from qa_pipeline.measures.tone import measure_tone
from qa_pipeline.measures.topic import measure_topic


def measure_call(
    audio: DecodedAudio | None,
    transcript: Transcript,
    metadata: CallMetadata,
    settings: TimingSettings | None = None,
    agent_channel: int = 0,
    min_similarity: float = 0.85,
) -> Measures:
    """Every timing of one call. `audio` is None for a transcript scored from a file (no rings, no tone)."""
    settings = settings or TimingSettings()
    streams = split_speakers(audio, agent_channel).streams if audio is not None else {}
    speech = Speech.of(transcript)
    rings = measure_rings(streams, speech.first_s, metadata, settings.preset)
    answer = rings.answer
    direction, direction_source = call_direction(metadata, answer.channel, speech.agent, speech.customer)
    talk = measure_talk(speech, transcript, answer.answer_s, settings, min_similarity)
    cpm, pace = measure_pace(speech.agent)
    topic = measure_topic(speech, answer.answer_s, settings, min_similarity)
    overtalk = measure_overtalk(transcript, speech.regions, settings)
    return Measures(
        answer_s=round(answer.answer_s, 3),
        answer_source=answer.source,
        ring_count=rings.ring_count,
        ring_s=rings.ring_s,
        ring_source=rings.ring_source,
        ring_count_audio=rings.ring_count_audio,
        ring_s_audio=rings.ring_s_audio,
        ring_count_metadata=rings.ring_count_metadata,
        ring_s_metadata=rings.ring_s_metadata,
        ringback_channel=answer.channel,
        rings=tuple((round(a, 3), round(b, 3)) for a, b in answer.rings),
        direction=direction,
        direction_source=direction_source,
        speech_end_s=round(speech.end_s, 3) if speech.end_s is not None else None,
        talk_s=talk.talk_s,
        silence_s=talk.silence_s,
        silences=talk.silences,
        hold_s=talk.hold_s,
        agent_talk_s=talk.agent_talk_s,
        customer_talk_s=talk.customer_talk_s,
        agent_talk_ratio=talk.agent_talk_ratio,
        interruptions=overtalk.interruptions,
        overlaps_untold=overtalk.untold,
        agent_chars_per_minute=cpm,
        pace=pace,
        raised_voice=measure_tone(streams, transcript, speech, settings),
        customer_raised_voice=measure_tone(streams, transcript, speech, settings, "customer"),
        customer_first_s=topic.customer_first_s,
        topic_s=topic.topic_s,
        topic_text=topic.topic_text,
        time_to_topic_s=topic.time_to_topic_s,
        hangup=measure_hangup(audio, speech, settings, min_similarity),
    )
