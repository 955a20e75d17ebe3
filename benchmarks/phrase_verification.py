"""Phrase verification against the audio (asr.verify), as the pipeline runs it: how often a phrase that was said
but is missing from the transcript is recovered, and how often one that was NOT said is accepted (false
acceptance), per threshold.

    python -m benchmarks.phrase_verification [--sample-utterances 150]

Two sets, reported apart:
- the sample calls (SYNTHETIC speech; their labels give each utterance's words and bounds);
- real speech (../shared/data/mandarin_asr: read and spontaneous Mandarin recorded by people, with references).

Each utterance is a transcript segment with its label's (reference's) words, two characters a word (Whisper's
Mandarin words are one or two characters), and verify_expected runs on it with the elements below:
- not said: every element none of whose phrases the utterance says (the greeting's salutation, organisation
  and offer of help at its start; the closing's thanks and goodbye at its end): a false acceptance when any
  of its phrases is accepted.
- said: an element phrase the utterance does say, deleted from its text (as Whisper drops it): recovered when
  verification accepts it back. Real speech says none of the elements, so there the clause's first (opening)
  or last (closing) two characters are the phrase, deleted and asked for.
The elements are the default scorecard's greeting and closing phrases and organisations, and organisation
names of our own that no recording says.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa_pipeline.asr.models import resolve_model
from qa_pipeline.asr.transcribe import PROMPT, call_prompt, get_transcriber
from qa_pipeline.asr.transcript import Segment, Word
from qa_pipeline.asr.verify import ExpectedWords, PhraseVerifier, VerifySettings, verify_expected
from qa_pipeline.audio.decode import SAMPLE_RATE, decode_audio
from qa_pipeline.config.scorecard import load_scorecard

REPO = Path(__file__).resolve().parent.parent
SAMPLE_AUDIO = REPO / "sample_audio"
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
OWN_ORGANISATIONS = ("蓝湾物业服务中心", "北岭燃气服务中心", "顺达汽车救援")  # ours: said in no recording here
PUNCTUATION = re.compile(r"[，。？！、,.?!\s…：:；;]")


@dataclass
class Tally:
    """The probability each trial's element got (0.0: none proposed), said and not said."""

    said: list[float] = field(default_factory=list)
    not_said: list[float] = field(default_factory=list)

    def rates(self, threshold: float) -> tuple[float | None, float | None]:
        recovered = float(np.mean([s >= threshold for s in self.said])) if self.said else None
        accepted = float(np.mean([s >= threshold for s in self.not_said])) if self.not_said else None
        return recovered, accepted


@functools.cache
def elements() -> tuple[ExpectedWords, ...]:
    """The default scorecard's expected elements, our own organisation names added."""
    expected = load_scorecard(None).verification().expected
    return tuple(
        replace(e, phrases=(*e.phrases, *OWN_ORGANISATIONS)) if e.element == "organisation" else e for e in expected
    )


def as_segment(text: str, start_s: float, end_s: float) -> Segment:
    """`text` as an agent utterance with two-character words spread evenly over its seconds."""
    pieces = [text[i : i + 2] for i in range(0, len(text), 2)] or [""]
    step = (end_s - start_s) / len(pieces)
    words = tuple(Word(start_s + i * step, start_s + (i + 1) * step, piece, 1.0) for i, piece in enumerate(pieces))
    return Segment("agent", start_s, end_s, text, words=words)


def trial(
    verifier: PhraseVerifier,
    samples: np.ndarray,
    text: str,
    start_s: float,
    end_s: float,
    said: list[ExpectedWords],
    tally: Tally,
) -> None:
    """Ask for every element `text` does not say (not said), then for each of `said` with its phrase deleted."""
    stream = {"agent": samples}
    settings = VerifySettings(min_probability=0.0)  # every proposal's probability, for the thresholds
    spoken = PUNCTUATION.sub("", text)
    absent = tuple(e for e in elements() if not any(p in spoken for p in e.phrases))
    if absent:
        heard = verify_expected(
            [as_segment(text, start_s, end_s)], stream, verifier, replace(settings, expected=absent)
        )
        best = {h.element: h.probability for h in heard}
        tally.not_said += [best.get(e.element, 0.0) for e in absent]
    for element in said:
        phrase = element.phrases[0]
        dropped = re.sub(f"{re.escape(phrase)}[，,。！!]?", "", text, count=1)
        heard = verify_expected(
            [as_segment(dropped, start_s, end_s)], stream, verifier, replace(settings, expected=(element,))
        )
        tally.said.append(max((h.probability for h in heard if h.phrase == phrase), default=0.0))


def sample_calls(verifier: PhraseVerifier, limit: int) -> Tally:
    """Labelled utterances of the sample calls (both parties: a customer's words are stretches without the
    agent's phrases too)."""
    tally = Tally()
    labels = json.loads((SAMPLE_AUDIO / "labels.json").read_text(encoding="utf-8"))["calls"]
    done = 0
    for call in labels:
        audio = decode_audio(SAMPLE_AUDIO / call["audio_file"])
        for segment in call["segments"]:
            if done >= limit:
                return tally
            channel = 0
            if call["channels"] == 2:
                agent = segment["speaker"] == "agent"
                channel = call["agent_channel"] if agent else 1 - call["agent_channel"]
            text = segment["text"]
            said = [ExpectedWords(e.element, (p,), e.where) for e in elements() for p in e.phrases if p in text][:2]
            trial(verifier, audio.channel(channel), text, segment["start_s"], segment["end_s"], said, tally)
            done += 1
    return tally


def real_speech(verifier: PhraseVerifier, folder: Path) -> Tally:
    """Real Mandarin clips with references: each clip's first 30 s as one utterance."""
    tally = Tally()
    for wav in sorted(folder.rglob("*.wav")):
        reference = wav.with_suffix(".txt")
        if not reference.exists():
            continue
        text = re.sub(r"\[S\d\]", "", reference.read_text(encoding="utf-8")).strip().replace("\n", "，")
        samples = decode_audio(wav).channel(0)
        duration_s = min(30.0, len(samples) / SAMPLE_RATE)
        text = text[: max(1, int(len(text) * duration_s * SAMPLE_RATE / len(samples)))]
        words = PUNCTUATION.sub("", text)
        said = [ExpectedWords("word", (words[:2],), "opening"), ExpectedWords("word", (words[-2:],), "closing")]
        trial(verifier, samples, text, 0.0, duration_s, said, tally)
    return tally


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--sample-utterances", type=int, default=150, help="sample-call utterances to try")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "phrase_verification.json")
    args = parser.parse_args(argv)
    card = load_scorecard(None)
    transcriber = get_transcriber(resolve_model(None))
    sets = {
        "sample calls (synthetic)": sample_calls(
            PhraseVerifier(transcriber, call_prompt(card.organisations, card.asr_prompt)), args.sample_utterances
        ),
        "real speech": real_speech(PhraseVerifier(transcriber, PROMPT), args.data / "mandarin_asr"),
    }
    chosen = VerifySettings().min_probability
    result: dict[str, object] = {}
    for name, tally in sets.items():
        print(f"{name}: {len(tally.said)} said and dropped, {len(tally.not_said)} not said")
        print("  threshold  recovered  false acceptance")
        rows = {}
        for threshold in THRESHOLDS:
            recovered, accepted = tally.rates(threshold)
            rows[threshold] = {"recovered": recovered, "false_acceptance": accepted}
            mark = "  <- default" if threshold == chosen else ""
            shown = [f"{v:.3f}" if v is not None else "-" for v in (recovered, accepted)]
            print(f"  {threshold:9.1f}  {shown[0]:>9}  {shown[1]:>16}{mark}")
        result[name] = {"said": len(tally.said), "not_said": len(tally.not_said), "rates": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
