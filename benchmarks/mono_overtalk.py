"""Overtalk on mono recordings: overlaps read from the mixed signal (asr.overlap) against overlaps placed on
purpose, and who came in on whom.

    python -m benchmarks.mono_overtalk [--pairs 40] [--step-s 5]

Each case is one customer utterance and one agent utterance mixed to one channel, the agent starting a known
number of seconds before the customer's utterance ends (0.2 to 1.2 s), after 3 s of silence so that the
overlap falls inside the recording's windows as it would in a call. Two sets, reported apart:

- SYNTHETIC: pairs cut from the stereo sample calls (benchmarks.overlap_edges.sample_pairs);
- REAL VOICES: utterances of real Mandarin speakers from ../shared/data/mandarin_asr (the two parties of
  one real phone conversation, RAMC A/B; two AISHELL readers; the two speakers of a recorded dialogue), each
  speaker's utterances placed against the other's; placed by us, so the overlaps are known, but the voices
  and their edges are real. Measuring only: nothing of it is tuned on.

The speaker turns are the ones a diarizer would give if it were right (customer until the agent starts,
then the agent), so this measures the overlap reading and the attribution, not the diarization. Per placed
overlap: mean overlap read and its error, the share counted as an interruption at the default [timing]
(min_overlap_s + mono_overlap_margin_s), the share left untold, and, with the parties swapped (the customer
coming in on the agent), the share wrongly counted. Ordinary turn-taking (0.3-0.4 s) must not count; 0.8 s
and more must. Last, both parties starting at the same moment after a silence: neither came in, so it must
not count (untold is allowed: the check then abstains).

What it costs, in the same run: the mono sample calls (SYNTHETIC) read for overlaps and, as the baseline,
diarized by the embedded backend, one thread each; the ratio is what overlap reading adds to the diarize
stage.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from benchmarks.overlap_edges import (
    LEAD_S,
    MIN_CUSTOMER_S,
    PLACED_OVERLAPS_S,
    Pair,
    cut_utterance,
    placed_call,
    sample_pairs,
)
from qa_pipeline.asr.diarize import DiarizationSettings, get_diarizer
from qa_pipeline.asr.overlap import OverlapSettings, speech_overlaps
from qa_pipeline.asr.transcript import Segment, Transcript, Turn
from qa_pipeline.asr.vad import voice_activity
from qa_pipeline.audio.decode import SAMPLE_RATE, decode_audio
from qa_pipeline.measures.overtalk import mono_overtalk
from qa_pipeline.measures.settings import TimingSettings

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "data" / "mandarin_asr"
REAL_SPEAKERS = (
    (
        "conversational/ramc_clips_CTS-CN-F2F-2019-11-11-423-012-A.wav",
        "conversational/ramc_clips_CTS-CN-F2F-2019-11-11-423-012-B.wav",
    ),
    ("BAC009S0764W0121.wav", "aishell-BAC009S0724W0121.wav"),
    ("conversational/moss_ttsd_zh_spk1_moon.wav", "conversational/moss_ttsd_zh_spk2_moon.wav"),
)
SILENCE_BEFORE_S = 3.0
MAX_UTTERANCE_S = 4.0
AGENT_WORDS = "我先跟您说一下这个情况"  # not a backchannel: the agent takes the turn


def real_pairs() -> list[Pair]:
    """Each speaker's utterances (VAD edges, 1-4 s) against the other speaker's, both ways round."""
    pairs = []
    for first, second in REAL_SPEAKERS:
        a, b = _utterances(REAL / first), _utterances(REAL / second)
        for customer, agent in itertools.chain(itertools.product(a, b), itertools.product(b, a)):
            if len(customer) >= MIN_CUSTOMER_S * SAMPLE_RATE:
                pairs.append(Pair(Path(first).stem, customer, agent))
    return pairs


def _utterances(path: Path) -> list[np.ndarray]:
    """The speaker's stretches of speech of a second or more (VAD edges), trimmed like the sample pairs, at
    most MAX_UTTERANCE_S long."""
    samples = decode_audio(path).channel(0)
    return [
        cut_utterance(samples, {"start_s": edge.start_s, "end_s": edge.end_s})[: int(MAX_UTTERANCE_S * SAMPLE_RATE)]
        for edge in voice_activity(samples).edges
        if edge.end_s - edge.start_s >= 1.0
    ]


def _case(
    pair: Pair, overlap_s: float, swapped: bool, settings: OverlapSettings, timing: TimingSettings
) -> tuple[float, str]:
    """(longest overlap read, verdict: 'interruption' | 'untold' | 'none') for one placed case; `swapped`
    makes the first speaker the agent and the one who comes in the customer."""
    channels = placed_call(pair, overlap_s)
    silence = np.zeros(int(SILENCE_BEFORE_S * SAMPLE_RATE), np.float32)
    mono = np.concatenate([silence, channels["agent"] + channels["customer"]])
    first_start = SILENCE_BEFORE_S + LEAD_S
    came_in = first_start + (len(pair.customer) / SAMPLE_RATE) - overlap_s
    came_in_end = came_in + len(pair.agent) / SAMPLE_RATE
    first_role, then_role = ("agent", "customer") if swapped else ("customer", "agent")
    transcript = Transcript(
        segments=(
            Segment(first_role, first_start, came_in, "这个事情是这样的"),
            Segment(then_role, came_in, came_in_end, AGENT_WORDS),
        ),
        diarization="embedded",
        asr_model="",
        turns=(Turn(first_start, came_in, "A", first_role), Turn(came_in, came_in_end, "B", then_role)),
        overlaps=speech_overlaps(mono, settings),
    )
    longest = max((o.duration_s for o in transcript.overlaps or ()), default=0.0)
    found = mono_overtalk(transcript, timing)
    verdict = "interruption" if found.interruptions else "untold" if found.untold else "none"
    return longest, verdict


def _together_case(pair: Pair, settings: OverlapSettings, timing: TimingSettings) -> str:
    """The verdict when both start speaking at the same moment after a silence: neither came in."""
    channels = placed_call(pair, len(pair.customer) / SAMPLE_RATE)  # the agent starts with the customer
    silence = np.zeros(int(SILENCE_BEFORE_S * SAMPLE_RATE), np.float32)
    mono = np.concatenate([silence, channels["agent"] + channels["customer"]])
    start = SILENCE_BEFORE_S + LEAD_S
    ends = {role: start + len(getattr(pair, role)) / SAMPLE_RATE for role in ("customer", "agent")}
    transcript = Transcript(
        segments=(
            Segment("customer", start, ends["customer"], "这个事情是这样的"),
            Segment("agent", start, ends["agent"], AGENT_WORDS),
        ),
        diarization="embedded",
        asr_model="",
        turns=(Turn(start, ends["customer"], "A", "customer"), Turn(start, ends["agent"], "B", "agent")),
        overlaps=speech_overlaps(mono, settings),
    )
    found = mono_overtalk(transcript, timing)
    return "interruption" if found.interruptions else "untold" if found.untold else "none"


def measure(pairs: list[Pair], settings: OverlapSettings, timing: TimingSettings) -> dict[object, dict[str, float]]:
    table: dict[object, dict[str, float]] = {}
    for placed in PLACED_OVERLAPS_S:
        reads, verdicts, swapped = [], [], []
        for pair in pairs:
            read, verdict = _case(pair, placed, False, settings, timing)
            reads.append(read)
            verdicts.append(verdict)
            swapped.append(_case(pair, placed, True, settings, timing)[1])
        table[placed] = {
            "mean_s": round(float(np.mean(reads)), 3),
            "mean_abs_error_s": round(float(np.mean(np.abs(np.array(reads) - placed))), 3),
            "interruption_share": round(verdicts.count("interruption") / len(pairs), 3),
            "untold_share": round(verdicts.count("untold") / len(pairs), 3),
            "swapped_counted_share": round(swapped.count("interruption") / len(pairs), 3),
        }
    together = [_together_case(pair, settings, timing) for pair in pairs]
    table["together"] = {
        "interruption_share": round(together.count("interruption") / len(pairs), 3),
        "untold_share": round(together.count("untold") / len(pairs), 3),
    }
    return table


def cost(settings: OverlapSettings) -> dict[str, float]:
    """Seconds to read the overlaps of the mono sample calls, and to diarize them (the baseline); and to
    diarize them without short speech following its local voice (asr.diarize.follow_local_voices)."""
    import torch

    torch.set_num_threads(1)
    labels = json.loads((REPO / "sample_audio" / "labels.json").read_text(encoding="utf-8"))["calls"]
    diarizer = get_diarizer(DiarizationSettings(backend="embedded"))
    without_local_voices = get_diarizer(DiarizationSettings(backend="embedded", local_voice_below_s=0.0))
    audio_s = overlaps_s = diarize_s = plain_s = 0.0
    speech_overlaps(np.zeros(SAMPLE_RATE, np.float32), settings)  # the model loads once per process
    for call in labels:
        if call["channels"] != 1:
            continue
        samples = decode_audio(REPO / "sample_audio" / call["audio_file"]).channel(0)
        audio_s += len(samples) / SAMPLE_RATE
        started = time.perf_counter()
        speech_overlaps(samples, settings)
        overlaps_s += time.perf_counter() - started
        started = time.perf_counter()
        diarizer(samples)
        diarize_s += time.perf_counter() - started
        started = time.perf_counter()
        without_local_voices(samples)
        plain_s += time.perf_counter() - started
    return {
        "audio_s": round(audio_s, 1),
        "overlaps_s": round(overlaps_s, 2),
        "diarize_s": round(diarize_s, 2),
        "diarize_without_local_voices_s": round(plain_s, 2),
        "local_voices_over_diarize": round((diarize_s - plain_s) / plain_s, 3),
        "overlaps_per_minute_s": round(overlaps_s / audio_s * 60, 2),
        "overlaps_over_diarize": round(overlaps_s / diarize_s, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=40, help="synthetic customer/agent pairs to place")
    parser.add_argument("--step-s", type=float, default=OverlapSettings().step_s, help="window step (asr.overlap)")
    parser.add_argument(
        "--threshold", type=float, default=OverlapSettings().threshold, help="second voice's probability (asr.overlap)"
    )
    parser.add_argument(
        "--margin-s", type=float, default=TimingSettings().mono_overlap_margin_s, help="[timing] mono_overlap_margin_s"
    )
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "mono_overtalk.json")
    parser.add_argument("--cost-only", action="store_true", help="only time the mono sample calls (no pairs)")
    args = parser.parse_args(argv)
    settings = replace(OverlapSettings(), step_s=args.step_s, threshold=args.threshold)
    timing = replace(TimingSettings(), mono_overlap_margin_s=args.margin_s)
    counted = timing.min_overlap_s + timing.mono_overlap_margin_s
    results: dict[str, object] = {"step_s": args.step_s, "threshold": args.threshold, "counted_from_s": counted}
    for name, pairs in (
        () if args.cost_only else (("synthetic", list(sample_pairs(args.pairs))), ("real voices", real_pairs()))
    ):
        started = time.perf_counter()
        table = measure(pairs, settings, timing)
        results[name] = {"pairs": len(pairs), "seconds": round(time.perf_counter() - started, 1), "table": table}
        print(f"\n{name}: {len(pairs)} pairs; an interruption from {counted:.2f} s read")
        print("placed_s  read: mean  error  interruption  untold  swapped counted")
        for placed, row in table.items():
            if placed == "together":
                print(
                    f"both starting at once: interruption {row['interruption_share']:.2f}  untold"
                    f" {row['untold_share']:.2f}"
                )
                continue
            print(
                f"{placed:8.1f}  {row['mean_s']:10.3f} {row['mean_abs_error_s']:6.3f}"
                f"  {row['interruption_share']:12.2f}  {row['untold_share']:6.2f}  {row['swapped_counted_share']:15.2f}"
            )
    spent = cost(settings)
    results["cost"] = spent
    print(
        f"\ncost on the mono sample calls (SYNTHETIC, {spent['audio_s']} s of audio, one thread): overlaps "
        f"{spent['overlaps_s']} s ({spent['overlaps_per_minute_s']} s a minute), embedded diarization "
        f"{spent['diarize_s']} s; overlaps / diarization = {spent['overlaps_over_diarize']}; short speech following"
        f" its local voice adds {100 * spent['local_voices_over_diarize']:.1f}% to diarization"
        f" ({spent['diarize_without_local_voices_s']} s without)"
    )
    if args.cost_only and args.out.is_file():  # the pairs' figures of the last full run stay
        results = {**json.loads(args.out.read_text(encoding="utf-8")), "cost": spent}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
