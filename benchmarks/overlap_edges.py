"""How long an overlap of the two parties reads, measured on the VAD's padded regions and on its unpadded
edges (asr.vad.VoiceActivity), against overlaps placed on purpose.

    python -m benchmarks.overlap_edges [--pairs 40]

Each case is a two-channel call (SYNTHETIC: cut from the stereo sample calls) with one customer utterance
and one agent utterance, the agent starting a known number of seconds before the customer's utterance ends
(0.2 to 1.2 s; each utterance is cut at its labelled bounds and trimmed of silence by energy, so the placed
overlap is known). Per placed
overlap: the mean measured overlap and its error, and how many cases count as an interruption at the
default `[timing] min_overlap_s` (0.5 s). Ordinary turn-taking (0.3-0.4 s) must not be one; 0.8 s and
more must all be.
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np

from qa_pipeline.asr.vad import VoiceActivity, voice_activity
from qa_pipeline.audio.decode import SAMPLE_RATE, decode_audio
from qa_pipeline.measures import acoustics
from qa_pipeline.measures.settings import TimingSettings

REPO = Path(__file__).resolve().parent.parent
SAMPLE_AUDIO = REPO / "sample_audio"
PLACED_OVERLAPS_S = (0.2, 0.3, 0.4, 0.8, 1.0, 1.2)
LEAD_S = 0.5  # silence before the customer starts
TAIL_S = 1.0  # silence after the last word
MIN_CUSTOMER_S = 1.5  # a customer utterance long enough to be talked over by 1.2 s
MIN_AGENT_S = 1.0
TRIM_TOP_DB = 40.0  # below the utterance's peak: the renderer's silence, not speech


@dataclass(frozen=True)
class Pair:
    """A customer utterance and the agent's reply that follows it, cut from a stereo sample call."""

    call_id: str
    customer: np.ndarray  # samples of the customer's utterance, its labelled bounds
    agent: np.ndarray


def sample_pairs(limit: int | None = None) -> Iterator[Pair]:
    """Customer utterances and the agent utterance right after each, from the stereo sample calls."""
    labels = json.loads((SAMPLE_AUDIO / "labels.json").read_text(encoding="utf-8"))["calls"]
    found = 0
    for call in labels:
        if call["channels"] != 2:
            continue
        audio = decode_audio(SAMPLE_AUDIO / call["audio_file"])
        channel = {"agent": audio.channel(call["agent_channel"]), "customer": audio.channel(1 - call["agent_channel"])}
        segments = sorted(call["segments"], key=lambda s: s["start_s"])
        for said, reply in itertools.pairwise(segments):
            if said["speaker"] != "customer" or reply["speaker"] != "agent":
                continue
            if said["end_s"] - said["start_s"] < MIN_CUSTOMER_S or reply["end_s"] - reply["start_s"] < MIN_AGENT_S:
                continue
            customer, agent = cut_utterance(channel["customer"], said), cut_utterance(channel["agent"], reply)
            yield Pair(call["call_id"], customer, agent)
            found += 1
            if limit is not None and found >= limit:
                return


def cut_utterance(samples: np.ndarray, segment: dict[str, float]) -> np.ndarray:
    """The utterance's samples, without the silence the renderer left at either end (an energy trim, not the
    VAD under test): so the placed overlap is an overlap of speech."""
    clip = np.array(samples[int(segment["start_s"] * SAMPLE_RATE) : int(segment["end_s"] * SAMPLE_RATE)])
    trimmed, _ = librosa.effects.trim(clip, top_db=TRIM_TOP_DB)
    return np.asarray(trimmed, dtype=np.float32)


def placed_call(pair: Pair, overlap_s: float) -> dict[str, np.ndarray]:
    """Both channels of a call where the agent starts `overlap_s` before the customer's utterance ends."""
    customer_start = int(LEAD_S * SAMPLE_RATE)
    agent_start = customer_start + len(pair.customer) - int(overlap_s * SAMPLE_RATE)
    length = max(customer_start + len(pair.customer), agent_start + len(pair.agent)) + int(TAIL_S * SAMPLE_RATE)
    channels = {"agent": np.zeros(length, dtype=np.float32), "customer": np.zeros(length, dtype=np.float32)}
    channels["customer"][customer_start : customer_start + len(pair.customer)] = pair.customer
    channels["agent"][agent_start : agent_start + len(pair.agent)] = pair.agent
    return channels


def measured_overlap(agent: VoiceActivity, customer: VoiceActivity, padded: bool) -> float:
    """The longest stretch of the agent's speech starting inside the customer's (0.0: none)."""
    pick = (lambda a: a.regions) if padded else (lambda a: a.edges)
    spans = acoustics.overlaps(
        [(r.start_s, r.end_s) for r in pick(agent)], [(r.start_s, r.end_s) for r in pick(customer)], 0.0
    )
    return max((o.end_s - o.start_s for o in spans), default=0.0)


def measure(pairs: list[Pair]) -> dict[float, dict[str, dict[str, float]]]:
    """Per placed overlap, for the padded regions and the edges: mean measured overlap, mean absolute error,
    and the share of cases counted as an interruption at the default min_overlap_s."""
    limit = TimingSettings().min_overlap_s
    table: dict[float, dict[str, dict[str, float]]] = {}
    for placed in PLACED_OVERLAPS_S:
        rows: dict[str, list[float]] = {"padded": [], "edges": []}
        for pair in pairs:
            channels = placed_call(pair, placed)
            agent, customer = voice_activity(channels["agent"]), voice_activity(channels["customer"])
            for name in rows:
                rows[name].append(measured_overlap(agent, customer, padded=name == "padded"))
        table[placed] = {
            name: {
                "mean_s": round(float(np.mean(values)), 3),
                "mean_abs_error_s": round(float(np.mean(np.abs(np.array(values) - placed))), 3),
                "interruption_share": round(float(np.mean([v >= limit for v in values])), 3),
            }
            for name, values in rows.items()
        }
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=40, help="customer/agent utterance pairs to place")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "overlap_edges.json")
    args = parser.parse_args(argv)
    pairs = list(sample_pairs(args.pairs))
    table = measure(pairs)
    limit = TimingSettings().min_overlap_s
    print(f"{len(pairs)} utterance pairs (synthetic, from the stereo sample calls); interruption: >= {limit} s")
    print("placed_s  padded: mean  error  interrupt   edges: mean  error  interrupt")
    for placed, row in table.items():
        p, e = row["padded"], row["edges"]
        print(
            f"{placed:8.1f}  {p['mean_s']:12.3f} {p['mean_abs_error_s']:6.3f} {p['interruption_share']:10.2f}"
            f"  {e['mean_s']:12.3f} {e['mean_abs_error_s']:6.3f} {e['interruption_share']:10.2f}"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"pairs": len(pairs), "table": table}, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
