"""Throughput of the whole pipeline against plain faster-whisper on the same audio, in one run.

    python -m benchmarks.throughput [--minutes 30] [--sets stereo,mono,real] [--one-at-a-time]
                                    [--asr-model NAME_OR_DIR] [--device cpu|cuda] [--out FILE]

For each set of recordings, two fresh processes, one after the other, on the same files:

(a) baseline, the naive way: `WhisperModel.transcribe` of each channel's whole audio (of the file, for
    mono), faster-whisper's default options, the same model, compute type and CPU threads as the
    pipeline; the model loaded once.
(b) the full pipeline as an operator runs it: `qa-pipeline run DIR --no-report` (its own temporary Prefect
    server, every stage: decode, screen, diarize, transcribe, measure, check, score, redact, store).
    `--one-at-a-time` adds (b1) on the stereo set: the same with `--calls-at-once 1`.

The sets: `stereo`: the stereo sample calls (synthetic TTS, sample_audio/) repeated to at least
`--minutes` of audio; `mono`: all sample calls mixed down to mono, repeated likewise; `real`: the real
human speech of ../shared/data (AMI meeting and pyannote telephone-style excerpts, English, plus the
Mandarin read-speech clips), once. Repeats are remuxed copies with a comment tag: the same decoded
audio under different bytes, so the pipeline scores each (it scores identical files once).

Reported per set: audio hours per wall hour (x real time; wall = the process, start to exit: model load,
Prefect start-up included), the ratio (b)/(a), seconds by stage, peak RSS of the largest process (the
worker; getrusage) and of the process tree (sampled), and CPU used (CPU seconds / wall seconds: cores busy).

Accuracy, so that speed is not bought with it: CER of the pipeline's ASR path and of (a)'s default decoding,
on ../shared/data/mandarin_asr (real) and on the stereo sample calls (synthetic), both simplified; and the
agreement of the checks with sample_audio/labels.json, from the pipeline's database and from the same
measures and checks run over (a)'s transcripts (one copy of each stereo call).

A JSON result and a short table; figures go in docs/performance.md. Never a timed assertion in the tests.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import psutil

from benchmarks.process_usage import measured

REPO = Path(__file__).resolve().parent.parent

SAMPLES = REPO / "sample_audio"
SHARED = REPO.parent / "shared" / "data"
QA_PIPELINE = Path(sys.executable).parent / "qa-pipeline"
AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".ogg"}


# -- the sets -------------------------------------------------------------------------------------------


def _remux(source: Path, target: Path, note: str) -> None:
    """`source`'s packets, unchanged, into `target` with a comment tag: the same audio, other bytes."""
    with av.open(str(source)) as reader, av.open(str(target), "w", format=reader.format.name.split(",")[0]) as writer:
        stream = reader.streams.audio[0]
        out = writer.add_stream_from_template(stream)
        writer.metadata["comment"] = note
        for packet in reader.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = out
            writer.mux(packet)


def _duration_s(path: Path) -> float:
    from qa_pipeline.audio.decode import decode_audio

    with decode_audio(path) as audio:
        return audio.duration_s


def repeat_calls(
    source: Path, metadata: Path, labels: dict[str, Any], target: Path, min_seconds: float, keep: set[str] | None
) -> tuple[Path, Path, Path, float]:
    """The calls of `source` (those in `keep`, else all labelled), copied until they hold `min_seconds` of audio
    (every call once, then copies in order until the set is long enough):
    copy 1 is the file itself, copy k > 1 a remux named `<call_id>-r<k>`. Writes the metadata CSV and the
    labels of every copy. Returns (audio dir, metadata CSV, labels JSON, seconds of audio)."""
    audio_dir = target / "audio"
    audio_dir.mkdir(parents=True)
    calls = [call for call in labels["calls"] if keep is None or call["call_id"] in keep]
    with metadata.open(encoding="utf-8", newline="") as handle:
        rows = {row["call_id"]: row for row in csv.DictReader(handle)}
    lengths = {call["call_id"]: _duration_s(source / call["audio_file"]) for call in calls}
    copies: list[dict[str, Any]] = []
    meta_rows: list[dict[str, str]] = []
    total, copy = 0.0, 1
    while total < min_seconds or copy == 1:
        for call in calls:
            if copy > 1 and total >= min_seconds:
                break
            src = source / call["audio_file"]
            call_id = call["call_id"] if copy == 1 else f"{call['call_id']}-r{copy}"
            name = f"{call_id}{src.suffix}"
            if copy == 1:
                shutil.copyfile(src, audio_dir / name)
            else:
                _remux(src, audio_dir / name, f"benchmark copy {copy} of {call['call_id']}")
            copies.append({**call, "call_id": call_id, "audio_file": name})
            meta_rows.append({**rows[call["call_id"]], "call_id": call_id, "audio_file": name})
            total += lengths[call["call_id"]]
        copy += 1
    meta_path = target / "calls.csv"
    with meta_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, list(meta_rows[0]))
        writer.writeheader()
        writer.writerows(meta_rows)
    labels_path = target / "labels.json"
    labels_path.write_text(json.dumps({"calls": copies}, ensure_ascii=False), encoding="utf-8")
    return audio_dir, meta_path, labels_path, total


def real_speech(target: Path) -> tuple[Path, float]:
    """Every real recording of ../shared/data in one directory (mono, 16 kHz)."""
    audio_dir = target / "audio"
    audio_dir.mkdir(parents=True)
    total = 0.0
    for path in sorted(SHARED.rglob("*.wav")):
        name = f"{path.parent.name}__{path.name}"
        shutil.copyfile(path, audio_dir / name)
        total += _duration_s(path)
    return audio_dir, total


# -- (a) the baseline, in its own process ------------------------------------------------------------------


def baseline_child(audio_dir: Path, result: Path, model: str | None, device: str) -> int:
    """Plain faster-whisper over every file: each channel's whole audio, default options."""
    from faster_whisper import WhisperModel

    from qa_pipeline.asr.models import resolve_model
    from qa_pipeline.audio.decode import decode_audio

    choice = resolve_model(model, device)
    started = time.perf_counter()
    # The pipeline's threads: CTranslate2's default, all cores (AsrSettings.cpu_threads 0).
    whisper = WhisperModel(choice.location, device=choice.device, compute_type=choice.compute_type, cpu_threads=0)
    stages = {"load model": time.perf_counter() - started, "decode": 0.0, "transcribe": 0.0}
    files = []
    for path in sorted(p for p in audio_dir.iterdir() if p.suffix in AUDIO_SUFFIXES):
        started = time.perf_counter()
        audio = decode_audio(path)
        stages["decode"] += time.perf_counter() - started
        streams = []
        for channel in range(audio.channels):
            started = time.perf_counter()
            segments, info = whisper.transcribe(audio.channel(channel))
            found = [[round(s.start, 3), round(s.end, 3), s.text, round(s.avg_logprob, 3)] for s in segments]
            stages["transcribe"] += time.perf_counter() - started
            streams.append({"channel": channel, "language": info.language, "segments": found})
        files.append({"file": path.name, "duration_s": audio.duration_s, "streams": streams})
        audio.close()
    document = {"model": choice.label, "stage_s": {k: round(v, 2) for k, v in stages.items()}, "files": files}
    result.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return 0


# -- accuracy ------------------------------------------------------------------------------------------------


def _simplified_text(text: str) -> str:
    from qa_pipeline.asr.transcribe import to_simplified

    return to_simplified(text)


def cer_rows(labels: dict[str, Any], baseline: dict[str, Any], model: str | None, device: str) -> list[dict[str, Any]]:
    """Per stereo call (first copies) and party: the pipeline's CER as benchmarks/asr_accuracy.py measures it
    (build_transcript, the transcribe stage's own function and prompt), and that of the baseline's default
    decoding of the same channel, against the same reference."""
    from benchmarks.asr_accuracy import pipeline_transcriber, sample_calls
    from qa_pipeline.evaluation.asr import character_errors

    by_file = {f["file"]: f for f in baseline["files"]}
    calls = {
        call["call_id"]: call
        for call in labels["calls"]
        if call["audio_file"] in by_file and call["channels"] == 2 and "-r" not in call["call_id"]  # not copies
    }
    rows = []
    transcriber, prompt = pipeline_transcriber(model, device)
    for row in sample_calls(transcriber, prompt, list(calls.values())):
        call_id, speaker = str(row["name"]).split("/")
        agent_channel = calls[call_id].get("agent_channel") or 0
        channel = agent_channel if speaker == "agent" else 1 - agent_channel
        stream = by_file[calls[call_id]["audio_file"]]["streams"][channel]
        plain = _simplified_text("".join(s[2] for s in stream["segments"]))
        rows.append(
            {
                "item": row["name"],
                "ref_chars": row["ref_chars"],
                "pipeline_errors": row["errors"],
                "default_errors": character_errors(str(row["reference"]), plain)[0],
                "default_language": stream["language"],
            }
        )
    return rows


def real_cer_rows(baseline: dict[str, Any], model: str | None, device: str) -> list[dict[str, Any]]:
    """CER on ../shared/data/mandarin_asr: the pipeline's ASR path (benchmarks/asr_accuracy.py) and the
    baseline's default decoding."""
    from benchmarks.asr_accuracy import pipeline_transcriber, real_speech
    from qa_pipeline.evaluation.asr import character_errors

    by_file = {f["file"]: f for f in baseline["files"]}
    rows = []
    transcriber, prompt = pipeline_transcriber(model, device)
    for row in real_speech(transcriber, prompt):
        segments = by_file[f"mandarin_asr__{row['name']}.wav"]["streams"][0]["segments"]
        plain = _simplified_text("".join(s[2] for s in segments))
        rows.append(
            {
                "item": row["name"],
                "ref_chars": row["ref_chars"],
                "pipeline_errors": row["errors"],
                "default_errors": character_errors(str(row["reference"]), plain)[0],
            }
        )
    return rows


def _cer(rows: list[dict[str, Any]], key: str) -> float:
    return round(sum(r[key] for r in rows) / max(1, sum(r["ref_chars"] for r in rows)), 4)


def baseline_agreement(
    labels: dict[str, Any], baseline: dict[str, Any], audio_dir: Path, metadata: Path, work: Path
) -> dict[str, Any]:
    """The checks run over the baseline's transcripts of the first copy of each stereo call, as the pipeline
    runs them over its own (measure, check, score; the VAD's speech regions for talk time), then compared
    with the labels like the pipeline's database is."""
    from qa_pipeline.asr.transcript import Segment, Transcript
    from qa_pipeline.asr.vad import speech_regions
    from qa_pipeline.audio.channels import split_speakers
    from qa_pipeline.audio.decode import decode_audio
    from qa_pipeline.audio.facts import AudioFacts
    from qa_pipeline.audio.screening import screen_audio
    from qa_pipeline.config.scorecard import load_scorecard
    from qa_pipeline.intake.discovery import discover_calls
    from qa_pipeline.intake.metadata import read_metadata
    from qa_pipeline.run.call import score_transcript
    from qa_pipeline.store.database import QaDatabase

    scorecard = load_scorecard(None)
    by_file = {f["file"]: f for f in baseline["files"]}
    first_copies = {call["call_id"] for call in labels["calls"] if "-r" not in call["call_id"]}
    jobs = [
        job for job in discover_calls(audio_dir, read_metadata(metadata, audio_dir)).jobs if job.call_id in first_copies
    ]
    db_path = work / "baseline_checks.duckdb"
    with QaDatabase.open_writer(str(db_path)) as db:
        run_id = db.start_run(None, baseline["model"], scorecard.sha256, scorecard.name, str(audio_dir))
        for job in jobs:
            with decode_audio(job.audio_path) as audio:
                agent_channel = job.metadata.agent_channel or 0
                streams = by_file[Path(job.audio_path).name]["streams"]
                speakers = {agent_channel: "agent", 1 - agent_channel: "customer"}
                segments = [
                    Segment(speakers[s["channel"]], start, end, _simplified_text(text).strip(), None, ())
                    for s in streams
                    for start, end, text, _ in s["segments"]
                    if text.strip()
                ]
                split = split_speakers(audio, agent_channel)
                regions = {
                    speaker: tuple((r.start_s, r.end_s) for r in speech_regions(samples))
                    for speaker, samples in split.streams.items()
                }
                transcript = Transcript(
                    segments=tuple(sorted(segments, key=lambda s: (s.start_s, s.end_s, s.speaker))),
                    diarization="channel",
                    asr_model=baseline["model"],
                    speech_regions=regions,
                )
                facts = AudioFacts.of(audio, screen_audio(audio, scorecard.input))
                scored = score_transcript(job, transcript, scorecard, audio, facts, agent_channel)
            db.write_call(scored, run_id)
        db.finish_run(run_id, len(jobs), 0, 0, 0.0)
    return _agreement(work / "labels_first.json", labels, first_copies, db_path)


def _agreement(path: Path, labels: dict[str, Any], call_ids: set[str] | None, db_path: Path) -> dict[str, Any]:
    from qa_pipeline.evaluation.checks import evaluate

    calls = [call for call in labels["calls"] if call_ids is None or call["call_id"] in call_ids]
    path.write_text(json.dumps({"calls": calls}, ensure_ascii=False), encoding="utf-8")
    result = evaluate(path, db_path)
    compared = sum(check.compared for check in result.checks.values())
    agreed = sum(check.agreed for check in result.checks.values())
    return {
        "calls": len(calls),
        "verdicts_compared": compared,
        "agreed": agreed,
        "agreement": round(agreed / max(1, compared), 4),
    }


# -- the run ----------------------------------------------------------------------------------------------


def _pipeline(
    audio_dir: Path, metadata: Path | None, work: Path, env: dict[str, str], extra: list[str], label: str
) -> dict[str, Any]:
    db_path = work / f"{label}.duckdb"
    summary_path = work / f"{label}.summary.json"
    command = [
        str(QA_PIPELINE),
        "run",
        str(audio_dir),
        "--db",
        str(db_path),
        "--no-report",
        "--summary-json",
        str(summary_path),
    ]
    command += ["--metadata", str(metadata)] if metadata else []
    process = measured(command + extra, env, work / f"{label}.log")
    if not summary_path.is_file():
        raise SystemExit(f"{label}: the run wrote no summary; see {work / f'{label}.log'}")
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    return {
        **process,
        "db": str(db_path),
        "calls_scored": summary["calls_ok"],
        "calls_failed": summary["calls_failed"],
        "failures": summary["failures"],
        "audio_s": round(summary["audio_s"], 1),
        "flow_wall_s": round(summary["wall_s"], 2),
        "workers": summary["workers"],
        "stage_s": {stage: round(seconds, 2) for stage, seconds in summary["stage_s"].items()},
    }


def run_set(
    name: str,
    audio_dir: Path,
    metadata: Path | None,
    audio_s: float,
    work: Path,
    env: dict[str, str],
    args: argparse.Namespace,
) -> dict[str, Any]:
    print(f"[{name}] {audio_s / 60:.1f} min of audio in {sum(1 for _ in audio_dir.iterdir())} files", flush=True)
    device = ["--device", args.device] + (["--asr-model", args.asr_model] if args.asr_model else [])
    baseline_json = work / f"{name}-baseline.json"
    command = [sys.executable, "-m", "benchmarks.throughput", "--baseline-child", str(audio_dir)]
    command += ["--out", str(baseline_json), *device]
    baseline = measured(command, env, work / f"{name}-baseline.log", cwd=REPO)  # -m finds benchmarks/ in REPO
    if baseline["exit"] != 0:
        raise SystemExit(f"{name}: the baseline failed; see {work / f'{name}-baseline.log'}")
    baseline_result = json.loads(baseline_json.read_text(encoding="utf-8"))
    baseline["stage_s"] = baseline_result["stage_s"]
    baseline["x_real_time"] = round(audio_s / baseline["wall_s"], 2)
    print(f"[{name}] (a) baseline: {baseline['wall_s']} s, {baseline['x_real_time']}x real time", flush=True)
    runs = {"pipeline": _pipeline(audio_dir, metadata, work / name, env, device, "pipeline")}
    if args.one_at_a_time and name == "stereo":
        runs["pipeline, one call at a time"] = _pipeline(
            audio_dir, metadata, work / name, env, [*device, "--calls-at-once", "1"], "pipeline-one-at-a-time"
        )
    for label, run in runs.items():
        run["x_real_time"] = round(audio_s / run["wall_s"], 2)
        run["x_real_time_flow"] = round(audio_s / run["flow_wall_s"], 2)
        run["ratio_to_baseline"] = round(run["wall_s"] / baseline["wall_s"], 3)
        print(
            f"[{name}] (b) {label}: {run['wall_s']} s, {run['x_real_time']}x, (b)/(a) {run['ratio_to_baseline']}",
            flush=True,
        )
    return {"audio_s": round(audio_s, 1), "baseline": baseline, "runs": runs, "baseline_result": baseline_result}


def _machine(device: str) -> dict[str, Any]:
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    gpu_name = None
    if gpus and shutil.which("nvidia-smi"):
        gpu_name = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True, text=True, check=False
        ).stdout.strip()
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "device": device,
        "gpus": gpus,
        "gpu": gpu_name,
    }


def print_table(report: dict[str, Any]) -> None:
    print(
        f"\n{'set':8} {'run':34} {'audio min':>9} {'wall s':>8} {'x RT':>6} {'(b)/(a)':>8} {'peak MiB':>9} {'cores':>6}"
    )
    for name, result in report["sets"].items():
        rows = [("(a) plain faster-whisper", result["baseline"]), *((f"(b) {k}", v) for k, v in result["runs"].items())]
        for label, row in rows:
            ratio = f"{row['ratio_to_baseline']:.2f}" if "ratio_to_baseline" in row else ""
            print(
                f"{name:8} {label:34} {result['audio_s'] / 60:9.1f} {row['wall_s']:8.1f} {row['x_real_time']:6.1f} "
                f"{ratio:>8} {row['peak_rss_mib']:9} {row['cores_busy']:6.2f}"
            )
        stages = result["runs"]["pipeline"]["stage_s"]
        total = sum(stages.values())
        print(
            f"{'':8} stages (summed over calls): "
            + ", ".join(f"{k} {v:.1f} s ({v / total:.0%})" for k, v in stages.items())
        )
    for key, value in report.get("accuracy", {}).items():
        print(f"{key}: { ({k: v for k, v in value.items() if k != 'rows'}) }")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=30.0, help="audio per synthetic set (default 30)")
    parser.add_argument("--sets", default="stereo,mono,real", help="which sets (default: stereo,mono,real)")
    parser.add_argument("--calls", type=int, default=0, help="only the first N sample calls (a quick trial)")
    parser.add_argument(
        "--one-at-a-time", action="store_true", help="also run the stereo set's pipeline with --calls-at-once 1"
    )
    parser.add_argument("--asr-model", default=None, help="the model both sides use (default: the embedded base)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "throughput.json")
    parser.add_argument("--keep", type=Path, default=None, help="keep the work files (databases, logs) here")
    parser.add_argument("--baseline-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.baseline_child:
        return baseline_child(args.baseline_child, args.out, args.asr_model, args.device)

    from qa_pipeline.evaluation.diarization import mix_down

    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    labels = json.loads((SAMPLES / "labels.json").read_text(encoding="utf-8"))
    if args.calls:
        labels["calls"] = labels["calls"][: args.calls]
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": _machine(args.device),
        "sets": {},
        "accuracy": {},
    }
    work = Path(tempfile.mkdtemp(prefix="qa-throughput-")) if args.keep is None else args.keep
    work.mkdir(parents=True, exist_ok=True)
    env["PREFECT_HOME"] = str(work / "prefect-home")
    # The accuracy passes load whisper in this process: they wait until every timed run is done, because a
    # child started from a large parent reports the parent's size as its own peak (getrusage's ru_maxrss).
    accuracy: list[Callable[[], None]] = []
    try:
        if "stereo" in sets:
            from qa_pipeline.audio.decode import decode_audio

            stereo = set()
            for call in labels["calls"]:
                with decode_audio(SAMPLES / call["audio_file"]) as audio:
                    if audio.channels == 2:
                        stereo.add(call["call_id"])
            audio_dir, meta, labels_path, seconds = repeat_calls(
                SAMPLES, SAMPLES / "calls.csv", labels, work / "stereo", args.minutes * 60, stereo
            )
            stereo_result = report["sets"]["stereo"] = run_set("stereo", audio_dir, meta, seconds, work, env, args)

            def stereo_accuracy(
                audio_dir: Path = audio_dir, meta: Path = meta, labels_path: Path = labels_path
            ) -> None:
                copies = json.loads(labels_path.read_text(encoding="utf-8"))
                baseline = stereo_result["baseline_result"]
                cer = cer_rows(copies, baseline, args.asr_model, args.device)
                first = {c["call_id"] for c in copies["calls"] if "-r" not in c["call_id"]}
                pipeline_db = Path(stereo_result["runs"]["pipeline"]["db"])
                report["accuracy"]["synthetic stereo calls"] = {
                    "items": len(cer),
                    "ref_chars": sum(r["ref_chars"] for r in cer),
                    "cer_pipeline": _cer(cer, "pipeline_errors"),
                    "cer_default_decoding": _cer(cer, "default_errors"),
                    "default_decoding_wrong_language": sorted(r["item"] for r in cer if r["default_language"] != "zh"),
                    "check_agreement_pipeline": _agreement(
                        work / "stereo" / "labels_pipeline.json", copies, first, pipeline_db
                    ),
                    "check_agreement_default_decoding": baseline_agreement(
                        copies, baseline, audio_dir, meta, work / "stereo"
                    ),
                    "rows": cer,
                }

            accuracy.append(stereo_accuracy)
        if "mono" in sets:
            (work / "mono-source").mkdir()
            mono_audio = mix_down(SAMPLES / "labels.json", work / "mono-source")
            mono_labels = {"calls": [{**c, "audio_file": f"{c['call_id']}.wav"} for c in labels["calls"]]}
            audio_dir, meta, mono_labels_path, seconds = repeat_calls(
                mono_audio, work / "mono-source" / "calls.csv", mono_labels, work / "mono", args.minutes * 60, None
            )  # mono_labels holds the calls chosen (--calls), mix_down made all
            mono_result = report["sets"]["mono"] = run_set("mono", audio_dir, meta, seconds, work, env, args)

            def mono_accuracy() -> None:
                copies = json.loads(mono_labels_path.read_text(encoding="utf-8"))
                report["accuracy"]["synthetic mono mixdowns: check agreement, pipeline"] = _agreement(
                    work / "mono" / "labels_pipeline.json", copies, None, Path(mono_result["runs"]["pipeline"]["db"])
                )

            accuracy.append(mono_accuracy)
        if "real" in sets:
            audio_dir, seconds = real_speech(work / "real")
            real_result = report["sets"]["real"] = run_set("real", audio_dir, None, seconds, work, env, args)

            def real_accuracy() -> None:
                rows = real_cer_rows(real_result["baseline_result"], args.asr_model, args.device)
                report["accuracy"]["real speech (mandarin_asr)"] = {
                    "items": len(rows),
                    "ref_chars": sum(r["ref_chars"] for r in rows),
                    "cer_pipeline": _cer(rows, "pipeline_errors"),
                    "cer_default_decoding": _cer(rows, "default_errors"),
                    "rows": rows,
                }

            accuracy.append(real_accuracy)
        for measure_accuracy in accuracy:
            measure_accuracy()
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    for result in report["sets"].values():
        result.pop("baseline_result", None)
    report["peak_rss_self_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(report)
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
