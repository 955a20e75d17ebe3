"""Character error rate of the pipeline's ASR path on real speech and on the synthetic sample calls.

    python -m benchmarks.asr_accuracy [--asr-model NAME_OR_DIR] [--out benchmarks/results/asr_accuracy.json]

Real speech: ../shared/data/mandarin_asr (AISHELL-1 and ModelScope read speech, human transcripts).
Synthetic: sample_audio/ (TTS calls; reference = labels.json segments, per speaker stream).
The two are reported separately: synthetic calls say little about accuracy on real phone speech.
Measured here, not asserted in tests: CER depends on the model a center brings.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa_pipeline.asr.models import resolve_model
from qa_pipeline.asr.speakers import build_transcript
from qa_pipeline.asr.transcribe import Transcriber, call_prompt, get_transcriber
from qa_pipeline.audio.decode import decode_audio
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.evaluation.asr import character_errors

REPO = Path(__file__).resolve().parent.parent

REAL_SPEECH = REPO.parent / "shared" / "data" / "mandarin_asr"
SAMPLES = REPO / "sample_audio"


def _row(name: str, reference: str, hypothesis: str, audio_s: float, wall_s: float) -> dict[str, object]:
    errors, length = character_errors(reference, hypothesis)
    return {
        "name": name,
        "errors": errors,
        "ref_chars": length,
        "cer": round(errors / max(length, 1), 4),
        "audio_s": round(audio_s, 2),
        "wall_s": round(wall_s, 2),
        "reference": reference,
        "hypothesis": hypothesis,
    }


def pipeline_transcriber(
    model: str | None, device: str = "auto", scorecard: str | None = None
) -> tuple[Transcriber, str]:
    """The pipeline's ASR path as the flow sets it up: the model and the prompt the scorecard's [center] makes."""
    loaded = load_scorecard(scorecard)
    return get_transcriber(resolve_model(model, device)), call_prompt(loaded.organisations, loaded.asr_prompt)


def real_speech(transcriber, prompt: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    rows = []
    for wav in sorted(REAL_SPEECH.glob("*.wav")):
        reference = wav.with_suffix(".txt").read_text(encoding="utf-8").strip()
        audio = decode_audio(wav)
        started = time.perf_counter()
        transcript = build_transcript(audio, transcriber, prompt=prompt)
        hypothesis = "".join(s.text for s in transcript.segments)
        rows.append(_row(wav.stem, reference, hypothesis, audio.duration_s, time.perf_counter() - started))
    return rows


def sample_calls(transcriber, prompt: str, calls: list[dict] | None = None) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    """One row per call and party (per call on mono) of sample_audio/: `calls` of labels.json, else all."""
    if calls is None:
        calls = json.loads((SAMPLES / "labels.json").read_text(encoding="utf-8"))["calls"]
    rows = []
    for call in calls:
        audio = decode_audio(SAMPLES / call["audio_file"])
        started = time.perf_counter()
        transcript = build_transcript(audio, transcriber, agent_channel=call.get("agent_channel") or 0, prompt=prompt)
        wall = time.perf_counter() - started
        speakers = ("agent", "customer") if audio.channels > 1 else ("unknown",)
        for speaker in speakers:
            reference = "".join(s["text"] for s in call["segments"] if speaker == "unknown" or s["speaker"] == speaker)
            hypothesis = "".join(s.text for s in transcript.by_speaker(speaker))
            rows.append(
                _row(
                    f"{call['call_id']}/{speaker}",
                    reference,
                    hypothesis,
                    audio.duration_s,
                    wall if speaker == speakers[0] else 0.0,
                )
            )
    return rows


def _summary(rows: list[dict[str, object]]) -> dict[str, float]:
    errors = sum(int(r["errors"]) for r in rows)  # type: ignore[call-overload]
    length = sum(int(r["ref_chars"]) for r in rows)  # type: ignore[call-overload]
    return {"cer": round(errors / max(length, 1), 4), "ref_chars": length, "items": len(rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--asr-model", default=None)
    parser.add_argument("--scorecard", default=None, help="scorecard whose [center] sets the ASR prompt")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "asr_accuracy.json"))
    args = parser.parse_args()

    transcriber, prompt = pipeline_transcriber(args.asr_model, "auto", args.scorecard)  # as the pipeline decodes
    choice = transcriber.choice
    sections = {
        "real_speech": real_speech(transcriber, prompt),
        "synthetic_calls": sample_calls(transcriber, prompt),
    }
    summary = {
        "real speech (../shared/data/mandarin_asr)": _summary(sections["real_speech"]),
        "synthetic sample calls (TTS, sample_audio/)": _summary(sections["synthetic_calls"]),
    }
    for section, rows in sections.items():
        print(f"\n{section}  [{choice.label}]")
        print(f"{'item':<34}{'CER':>7}{'chars':>7}{'audio s':>9}{'wall s':>8}")
        for row in rows:
            print(f"{row['name']:<34}{row['cer']:>7.3f}{row['ref_chars']:>7}{row['audio_s']:>9}{row['wall_s']:>8}")
    print()
    for name, totals in summary.items():
        print(f"CER {name}: {totals['cer']:.3f} over {totals['ref_chars']} reference characters")
    result = {"model": choice.label, "prompt": prompt, "summary": summary, **sections}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
