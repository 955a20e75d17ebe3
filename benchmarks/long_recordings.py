"""Memory and wall time of one hours-long recording through the flow's stages, by recording length.

    python -m benchmarks.long_recordings --label before|after [--minutes 10 30 60 120]
                                         [--out benchmarks/results/long_recordings.json]

Synthesizes stereo recordings of each length the way a switch writes them (8 kHz PCM16 WAV, low line
noise on both channels) with a short exchange of real speech every five minutes: an agent utterance on
channel 0 answered by the customer on channel 1, cut from sample_audio/call_001.wav (about 17 s of
speech per 10 minutes, so the ASR cost stays low and the memory of the audio itself shows; the three
exchanges are ones the embedded VAD and ASR hear on both sides). Each recording then goes through the
stages qa_pipeline.run.call.process_call runs, in a fresh process of its own: decode_audio -> (diarization:
mono only, so none here) -> build_transcript with the embedded ASR -> measure (qa_pipeline.run.call.measure,
the scorecard's timing settings). `--source DIR` imports qa_pipeline from DIR instead of this checkout
(a copy of the code before a change, for the "before" figures).

Per length it reports wall time per stage, the process's peak RSS (VmHWM, the kernel's high-water
mark, and psutil sampled every 0.2 s) and its peak anonymous memory (RssAnon from /proc/self/status,
sampled every 0.2 s: the memory that is not file-backed, i.e. what cannot be paged out to the
recording's spool file), the same per stage (the transcribe stage split into the VAD of each channel
and the ASR of its speech), the ratio of each peak to the shortest recording's in the same run, how
many of the inserted speech exchanges got text on each side, and what was left behind in the temporary
directory (one of the measured process's own; the audio spool goes there). `--label` files the run
under "before" or "after" in the JSON (a run replaces only its own label). A ratio measured in one run
on one machine (wall times move with whatever else the machine runs), never a
timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "sample_audio" / "call_001.wav"
RATE = 8_000
# Exchanges cut from call_001 (seconds): an agent utterance on channel 0, then the customer's answer on
# channel 1 (each channel holds only its own speaker). Cycled through, one every EXCHANGE_EVERY_S.
EXCHANGES_S = ((10.0, 19.3), (28.7, 38.0), (38.3, 44.5))
EXCHANGE_EVERY_S = 300.0  # two exchanges per 10 minutes, ~17 s of speech
FIRST_EXCHANGE_S = 150.0
NOISE_DBFS = -60.0  # line noise between the exchanges (white, both channels)
BLOCK_S = 60.0  # the generator writes a minute at a time


# ---------------------------------------------------------------------------------------------------------------------
# The recordings


def _source_pcm() -> np.ndarray:
    with wave.open(str(SOURCE), "rb") as handle:
        assert handle.getframerate() == RATE and handle.getnchannels() == 2 and handle.getsampwidth() == 2
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, dtype="<i2").reshape(-1, 2)


def exchange_times(minutes: float) -> list[tuple[float, float, int]]:
    """(start_s, end_s, exchange index) of every inserted exchange, in recording time."""
    found: list[tuple[float, float, int]] = []
    start, index = FIRST_EXCHANGE_S, 0
    while True:
        cut_start, cut_end = EXCHANGES_S[index % len(EXCHANGES_S)]
        end = start + cut_end - cut_start
        if end > minutes * 60 - 5:
            return found
        found.append((start, end, index % len(EXCHANGES_S)))
        start += EXCHANGE_EVERY_S
        index += 1


def write_recording(path: Path, minutes: float, seed: int = 7) -> list[tuple[float, float, int]]:
    """A stereo 8 kHz PCM16 WAV of `minutes`, written a block at a time; returns the exchange times."""
    source = _source_pcm()
    exchanges = exchange_times(minutes)
    total = round(minutes * 60 * RATE)
    block = round(BLOCK_S * RATE)
    rng = np.random.default_rng(seed)
    noise_amplitude = 32768 * 10 ** (NOISE_DBFS / 20)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        for first in range(0, total, block):
            count = min(block, total - first)
            pcm = rng.normal(0.0, noise_amplitude, size=(count, 2))
            for start_s, _end_s, index in exchanges:
                cut_start, cut_end = EXCHANGES_S[index]
                cut = source[round(cut_start * RATE) : round(cut_end * RATE)].astype(np.float64)
                at = round(start_s * RATE)
                lo, hi = max(at, first), min(at + len(cut), first + count)
                if lo < hi:
                    pcm[lo - first : hi - first] = cut[lo - at : hi - at]
            handle.writeframes(np.clip(np.round(pcm), -32768, 32767).astype("<i2").tobytes())
    return exchanges


# ---------------------------------------------------------------------------------------------------------------------
# The measured process


def _status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class MemorySampler:
    """Peak RSS (psutil) and RssAnon of this process every 0.2 s, overall and per named stage."""

    def __init__(self) -> None:
        import psutil

        self._process = psutil.Process()
        self.stage = "start"
        self.peak_rss = 0
        self.peak_anon = 0
        self.by_stage: dict[str, dict[str, int]] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = self._process.memory_info().rss
        anon = _status_kib("RssAnon") * 1024
        self.peak_rss, self.peak_anon = max(self.peak_rss, rss), max(self.peak_anon, anon)
        stage = self.by_stage.setdefault(self.stage, {"rss": 0, "anon": 0})
        stage["rss"], stage["anon"] = max(stage["rss"], rss), max(stage["anon"], anon)

    def _run(self) -> None:
        while not self._done.is_set():
            self.sample()
            time.sleep(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join()
        self.sample()

    def enter(self, stage: str) -> None:
        self.sample()
        self.stage = stage
        self.sample()


def measure_one(path: Path, exchanges: list[tuple[float, float, int]], source: Path) -> dict[str, Any]:
    """Run the flow's stages over one recording in this process; what it cost and what it found."""
    mib = 2**20
    with MemorySampler() as sampler:
        started = time.perf_counter()
        # On purpose: `--source DIR` measures the qa_pipeline of another checkout (a copy of the code before a
        # change, for the "before" figures), so DIR goes ahead of this repository (and of the editable install,
        # whose finder comes after sys.path) in this child process; the assert below checks which one loaded.
        sys.path.insert(0, str(source))
        from qa_pipeline.asr.models import resolve_model
        from qa_pipeline.asr.speakers import build_transcript
        from qa_pipeline.asr.transcribe import AsrSettings, call_prompt, get_transcriber
        from qa_pipeline.audio.decode import decode_audio
        from qa_pipeline.config.scorecard import load_scorecard
        from qa_pipeline.intake.discovery import CallJob
        from qa_pipeline.intake.metadata import CallMetadata
        from qa_pipeline.run.call import measure

        assert Path(decode_audio.__code__.co_filename).is_relative_to(source.resolve()), "qa_pipeline not from source"

        scorecard = load_scorecard()
        transcriber = get_transcriber(resolve_model(None), AsrSettings())
        prompt = call_prompt(scorecard.organisations, scorecard.asr_prompt)
        job = CallJob(path.stem, str(path), path.name, CallMetadata(audio_file=path.name))
        wall = {"load": time.perf_counter() - started}
        sampler.enter("loaded")
        loaded_anon = _status_kib("RssAnon") * 1024
        # A temporary directory of its own, so that what the stages leave behind is theirs alone.
        tempfile.tempdir = tempfile.mkdtemp(prefix="qa-long-tmp-")

        sampler.enter("decode")
        started = time.perf_counter()
        audio = decode_audio(path)
        wall["decode"] = time.perf_counter() - started
        duration_s = audio.duration_s

        # process_call's diarize stage runs only on mono recordings: none on these stereo ones.
        # The transcribe stage's peaks, split: VAD of each channel, and the ASR of its speech after it.
        from qa_pipeline.asr import speakers

        vad = speakers.speech_regions

        def vad_then_asr(*args: Any, **kwargs: Any) -> Any:
            sampler.enter("transcribe: vad")
            try:
                return vad(*args, **kwargs)
            finally:
                sampler.enter("transcribe: asr")

        speakers.speech_regions = vad_then_asr
        sampler.enter("transcribe")
        started = time.perf_counter()
        transcript = build_transcript(
            audio, transcriber, prompt=prompt, organisations=scorecard.organisations, role_settings=scorecard.roles
        )
        wall["transcribe"] = time.perf_counter() - started
        speakers.speech_regions = vad

        sampler.enter("measure")
        started = time.perf_counter()
        measures = measure(
            job, audio, transcript, scorecard.timing, job.metadata.agent_channel or 0, scorecard.min_similarity
        )
        wall["measure"] = time.perf_counter() - started

        sampler.enter("done")
        del audio
        gc.collect()
        left_behind = sorted(os.listdir(tempfile.tempdir))
        os.rmdir(tempfile.tempdir)

    def heard(speaker: str, start_s: float, end_s: float) -> bool:
        return any(
            s.text and s.speaker == speaker and s.start_s < end_s and s.end_s > start_s for s in transcript.segments
        )

    agent_heard = sum(heard("agent", start, end) for start, end, _ in exchanges)
    customer_heard = sum(heard("customer", start, end) for start, end, _ in exchanges)
    vmhwm = _status_kib("VmHWM") * 1024
    return {
        "audio_s": round(duration_s, 1),
        "wall_s": {name: round(value, 1) for name, value in wall.items()}
        | {"stages": round(wall["decode"] + wall["transcribe"] + wall["measure"], 1)},
        "peak_rss_mib": round(max(sampler.peak_rss, vmhwm) / mib),
        "peak_rss_sampled_mib": round(sampler.peak_rss / mib),
        "peak_anon_mib": round(sampler.peak_anon / mib),
        "anon_after_model_load_mib": round(loaded_anon / mib),
        "by_stage_mib": {
            stage: {"peak_rss": round(v["rss"] / mib), "peak_anon": round(v["anon"] / mib)}
            for stage, v in sampler.by_stage.items()
            if stage in ("decode", "transcribe: vad", "transcribe: asr", "measure")
        },
        "exchanges": len(exchanges),
        "exchanges_with_agent_text": agent_heard,
        "exchanges_with_customer_text": customer_heard,
        "segments": len(transcript.segments),
        "silences_listed": len(measures.silences),
        "talk_s": measures.talk_s,
        "temp_entries_left_behind": left_behind,
    }


# ---------------------------------------------------------------------------------------------------------------------
# The runner


def run_child(path: Path, minutes: float, source: Path) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchmarks.long_recordings", "--child", str(path)]
    command += ["--child-minutes", str(minutes), "--source", str(source)]
    child = subprocess.run(command, capture_output=True, text=True, cwd=REPO)  # -m finds benchmarks/ in REPO
    if child.returncode != 0:
        raise SystemExit(f"{minutes} min: exited {child.returncode}\n{child.stderr[-4000:]}")
    return dict(json.loads(child.stdout.strip().splitlines()[-1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", choices=("before", "after"))
    parser.add_argument("--minutes", type=float, nargs="+", default=[10, 30, 60, 120])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "long_recordings.json")
    parser.add_argument(
        "--source", type=Path, default=REPO, help="the directory qa_pipeline is imported from (a copy of older code)"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-minutes", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        result = measure_one(args.child, exchange_times(args.child_minutes), args.source)
        print(json.dumps(result), flush=True)
        return 0
    if args.label is None:
        parser.error("--label is required")

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="qa-long-") as work:
        for minutes in sorted(args.minutes):
            path = Path(work) / f"long_{minutes:g}min.wav"
            exchanges = write_recording(path, minutes)
            row = {"minutes": minutes, "file_mib": round(path.stat().st_size / 2**20, 1)}
            row |= run_child(path, minutes, args.source)
            path.unlink()
            if exchanges and rows:
                base = rows[0]
                row["peak_rss_vs_shortest"] = round(row["peak_rss_mib"] / base["peak_rss_mib"], 2)
                row["peak_anon_vs_shortest"] = round(row["peak_anon_mib"] / base["peak_anon_mib"], 2)
                row["wall_vs_shortest"] = round(row["wall_s"]["stages"] / max(base["wall_s"]["stages"], 0.1), 2)
            rows.append(row)
            print(json.dumps(row), flush=True)

    report: dict[str, Any] = {}
    with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
        report = json.loads(args.out.read_text(encoding="utf-8"))
    report.update(
        {
            "recordings": "stereo 8 kHz PCM16 WAV, line noise at -60 dBFS, one call_001 exchange every 5 min",
            "stages": "decode_audio -> build_transcript (embedded ASR) -> measure, one fresh process per length",
            "cpu_count": os.cpu_count(),
            "machine": platform.platform(),
        }
    )
    report[args.label] = {"measured_at": time.strftime("%Y-%m-%d %H:%M"), "rows": rows}
    if args.source.resolve() != REPO:
        report[args.label]["source"] = "a copy of the code before the change (--source)"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{'min':>5} {'wall s':>7} {'decode':>7} {'transcr':>8} {'measure':>8} {'peak RSS':>9} {'peak anon':>10}")
    for row in rows:
        wall = row["wall_s"]
        print(
            f"{row['minutes']:5g} {wall['stages']:7.1f} {wall['decode']:7.1f} {wall['transcribe']:8.1f} "
            f"{wall['measure']:8.1f} {row['peak_rss_mib']:9} {row['peak_anon_mib']:10}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
