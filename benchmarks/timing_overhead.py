"""What the signal steps (rings, silences, overtalk, pace, tone, hang-up: the measure stage) add to a call's
processing time, as a share of the whole pipeline in the same run.

    python -m benchmarks.timing_overhead [--out benchmarks/results/timing_overhead.json]

For every sample call it times decode, transcribe (VAD + ASR), measure (qa_pipeline.measures.measure_call)
and check, one after the other on the same decoded audio, and inside measure the two costly parts on
their own: ringback detection (FFT frames of every channel) and the agent's voice track (librosa yin).
The goal of the timing issue: measure < 10% of the pipeline's wall time. A ratio measured in one run on
one machine, never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from qa_pipeline.asr.models import resolve_model
from qa_pipeline.asr.speakers import build_transcript
from qa_pipeline.asr.transcribe import call_prompt, get_transcriber
from qa_pipeline.audio.channels import split_speakers
from qa_pipeline.audio.decode import decode_audio
from qa_pipeline.checks.run import check_call
from qa_pipeline.config.scorecard import load_scorecard
from qa_pipeline.intake.discovery import discover_calls
from qa_pipeline.intake.metadata import read_metadata
from qa_pipeline.measures import acoustics
from qa_pipeline.run.call import measure

REPO = Path(__file__).resolve().parent.parent

SAMPLES = REPO / "sample_audio"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "timing_overhead.json")
    args = parser.parse_args()

    scorecard = load_scorecard()
    transcriber = get_transcriber(resolve_model(None, "cpu"))
    prompt = call_prompt(scorecard.organisations, scorecard.asr_prompt)
    batch = discover_calls(SAMPLES, read_metadata(SAMPLES / "calls.csv", SAMPLES))
    totals = {"decode": 0.0, "transcribe": 0.0, "measure": 0.0, "check": 0.0, "ringback": 0.0, "voice_track": 0.0}
    rows = []
    audio_s = 0.0
    for job in batch.jobs:
        times: dict[str, float] = {}
        started = time.perf_counter()
        audio = decode_audio(job.audio_path)
        times["decode"] = time.perf_counter() - started

        started = time.perf_counter()
        transcript = build_transcript(audio, transcriber, prompt=prompt)
        times["transcribe"] = time.perf_counter() - started

        started = time.perf_counter()
        measures = measure(
            job, audio, transcript, scorecard.timing, job.metadata.agent_channel or 0, scorecard.min_similarity
        )
        times["measure"] = time.perf_counter() - started

        started = time.perf_counter()
        check_call(job, transcript, measures, scorecard)
        times["check"] = time.perf_counter() - started

        # The measure stage's two signal-processing parts on their own.
        streams = split_speakers(audio).streams
        started = time.perf_counter()
        for samples in streams.values():
            acoustics.detect_ringback(samples, scorecard.timing.preset)
        times["ringback"] = time.perf_counter() - started
        started = time.perf_counter()
        if "agent" in streams:
            acoustics.voice_track(streams["agent"], transcript.speech_regions.get("agent", ()))
        times["voice_track"] = time.perf_counter() - started

        for name, seconds in times.items():
            totals[name] += seconds
        audio_s += audio.duration_s
        pipeline = times["decode"] + times["transcribe"] + times["measure"] + times["check"]
        rows.append(
            {
                "call_id": job.call_id,
                "audio_s": round(audio.duration_s, 2),
                **{f"{name}_s": round(seconds, 3) for name, seconds in times.items()},
                "measure_share": round(times["measure"] / pipeline, 4),
            }
        )
        print(f"{job.call_id}: {audio.duration_s:5.1f} s audio, measure {times['measure']:.3f} s of {pipeline:.2f} s")

    pipeline_total = totals["decode"] + totals["transcribe"] + totals["measure"] + totals["check"]
    summary = {
        "calls": len(rows),
        "audio_s": round(audio_s, 1),
        "pipeline_s": round(pipeline_total, 2),
        **{f"{name}_s": round(seconds, 2) for name, seconds in totals.items()},
        "measure_share_of_pipeline": round(totals["measure"] / pipeline_total, 4),
        "measure_x_real_time": round(audio_s / totals["measure"], 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"summary": summary, "calls": rows}, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
