"""The agent talking over the customer (不打断客户). Backchannels (嗯, 对, 好的…) said over the customer are
listening.

With one channel per party, overlaps are read from each party's speech edges. On a mono recording they are
read from the mixed signal (asr.overlap: `Transcript.overlaps`), and the speaker turns tell who came in: an
agent turn starts inside the overlap (or `AGENT_TURN_NEAR_S` from it; `AGENT_TURN_NEAR_IN_SPEECH_S` before it
when the turn starts with no pause after the other party's), and the party whose turns hold the
speech just before the agent came in (`HOLDER_WINDOW_S`) was speaking. An overlap counts when that party is
the customer and it lasted at least
min_overlap_s + mono_overlap_margin_s (the mixed signal reads overlaps less exactly). Where the turns cannot
tell who was speaking before (too little speech there, or no party holds most of it), the overlap is
`untold`: the check cannot say the agent did not interrupt. Voices that began together
(`SpeechOverlap.together`) came in on no one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qa_pipeline.asr.transcript import Transcript, Turn
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.acoustics import Region
from qa_pipeline.measures.record import Overtalk
from qa_pipeline.measures.settings import TimingSettings
from qa_pipeline.text.matching import spoken_chars

FRAME_TOLERANCE_S = 0.02  # turns meeting within this have no pause between them (the diarizer's frames are 10 ms)
HOLDER_WINDOW_S = 0.5  # the speech just before an overlap: whoever holds it was speaking first
MIN_HELD_S = 0.2  # less speech than this before the overlap is too little to tell whose it is
MIN_ROLE_SHARE = 0.6  # of that speech inside one party's turns: that party
# On mono, the agent's words said while overlapping: the utterance may start a little after the overlap
# (diarization gives the overlapped frames to one voice), so the words up to this long after it count.
AGENT_WORDS_AFTER_S = 0.5
# The agent came in when an agent turn starts inside the overlap, or this close to it (the diarizer gives the
# overlapped frames to one voice, so the agent's turn may start where the customer stops).
AGENT_TURN_NEAR_S = 0.3
# ... or this long before it, when the agent's turn starts where the previous turn ends (no pause between
# them): a change of voice inside continuous speech is placed by the embedded diarizer's windows (2 s every
# 1 s, asr.diarize), so up to about half a hop early or late; on the second set of calls it came 0.34-0.48 s
# before the agent's first word. A turn after a pause starts at the pause, which the VAD places to a frame.
# 1.0 s was tried first: on the real-voice pairs of benchmarks.mono_overtalk it also counted one more 0.4 s
# hand-over in eight, and 0.6 s did not.
AGENT_TURN_NEAR_IN_SPEECH_S = 0.6


@dataclass(frozen=True)
class OvertalkFound:
    interruptions: tuple[Overtalk, ...] | None  # None: overlap not measurable
    untold: tuple[Region, ...] = ()  # mono overlaps long enough to count whose parties the turns cannot tell


def is_backchannel(text: str, backchannels: Sequence[str]) -> bool:
    """Made only of backchannel words (嗯, 对, 好的…): listening, not taking the turn."""
    rest = spoken_chars(text)
    if not rest:
        return False
    words = sorted((spoken_chars(word) for word in backchannels), key=len, reverse=True)
    while rest:
        word = next((w for w in words if w and rest.startswith(w)), None)
        if word is None:
            return False
        rest = rest[len(word) :]
    return True


def measure_overtalk(
    transcript: Transcript, regions: Mapping[str, Sequence[Region]], settings: TimingSettings
) -> OvertalkFound:
    """The agent's interruptions in time order, on two channels or, from its overlaps, on mono."""
    if transcript.diarization in ("channel", "external"):
        if "agent" not in regions or "customer" not in regions:
            return OvertalkFound(None)
        found = []
        for overlap in acoustics.overlaps(regions["agent"], regions["customer"], settings.min_overlap_s):
            text = transcript.text_during("agent", *overlap.agent_region)
            if text and not is_backchannel(text, settings.backchannels):
                found.append(Overtalk(round(overlap.start_s, 3), round(overlap.end_s, 3), text))
        return OvertalkFound(tuple(found))
    return mono_overtalk(transcript, settings)


def mono_overtalk(transcript: Transcript, settings: TimingSettings) -> OvertalkFound:
    """Interruptions from the overlaps of a diarized mono recording whose turns have roles."""
    roles = {turn.role for turn in transcript.turns}
    if transcript.overlaps is None or not {"agent", "customer"} <= roles:
        return OvertalkFound(None)
    found, untold = [], []
    for overlap in transcript.overlaps:
        if overlap.together or overlap.duration_s < settings.min_overlap_s + settings.mono_overlap_margin_s:
            continue
        agent_starts = [
            turn.start_s
            for turn in transcript.turns
            if turn.role == "agent"
            and overlap.start_s - _turn_start_leeway(turn, transcript.turns)
            <= turn.start_s
            <= overlap.end_s + AGENT_TURN_NEAR_S
        ]
        if not agent_starts:
            continue  # no agent turn starts there: two voices read inside the customer's speech, not a turn taken
        # Before the agent came in: the overlap's start, or the agent's turn where it starts earlier (the mixed
        # signal reads the second voice up to ~0.3 s late, and the half second before that is half the agent's).
        came_in = min(overlap.start_s, *agent_starts)
        before = party_holding(came_in - HOLDER_WINDOW_S, came_in, transcript.turns)
        if before is None:
            untold.append((overlap.start_s, overlap.end_s))
            continue
        if before != "customer":
            continue  # the customer came in on the agent: not the agent's fault
        text = transcript.text_during("agent", overlap.start_s, overlap.end_s + AGENT_WORDS_AFTER_S)
        if text and is_backchannel(text, settings.backchannels):
            continue
        found.append(Overtalk(round(overlap.start_s, 3), round(overlap.end_s, 3), text))
    return OvertalkFound(tuple(found), tuple(untold))


def _turn_start_leeway(turn: Turn, turns: Sequence[Turn]) -> float:
    """How long before an overlap `turn` may start and still be the one that came in: longer when it starts
    where another party's turn ends (a change inside continuous speech, placed coarsely)."""
    latched = any(other.role != turn.role and abs(other.end_s - turn.start_s) < FRAME_TOLERANCE_S for other in turns)
    return AGENT_TURN_NEAR_IN_SPEECH_S if latched else AGENT_TURN_NEAR_S


def party_holding(start_s: float, end_s: float, turns: Sequence[Turn]) -> str | None:
    """The party (agent / customer) whose turns hold most of the speech from start_s to end_s, or None when
    there is less than MIN_HELD_S of it or no party holds MIN_ROLE_SHARE of it."""
    by_role: dict[str, float] = {}
    for turn in turns:
        shared = min(end_s, turn.end_s) - max(start_s, turn.start_s)
        if shared > 0:
            by_role[turn.role] = by_role.get(turn.role, 0.0) + shared
    total = sum(by_role.values())
    if total < MIN_HELD_S:
        return None
    role, share = max(by_role.items(), key=lambda item: item[1])
    return role if role in ("agent", "customer") and share / total >= MIN_ROLE_SHARE else None
