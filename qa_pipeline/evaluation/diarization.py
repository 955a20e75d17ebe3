"""How well mono diarization works: `qa-pipeline eval-diarization`.

Three measurements, each reported on its own (pyannote.metrics computes every DER):

1. **Sample calls, mixed down to mono.** Every sample call (stereo ones averaged to one channel, mono ones
   as they are) is run through the real flow (`qa_batch`: decode, diarize, transcribe, measure, check,
   score, store) into a DuckDB file of its own. The reference is the labels' segments, which the
   generator placed and therefore knows exactly. Reported: DER (collar 0.25 s and 0) from the
   `speaker_turns` table; role accuracy, the share of reference speech whose role (agent or customer)
   the stored turns give right, a call whose roles could not be told apart counting as all wrong; the
   calls whose agent was found; and the agreement of the agent-side checks with the labels on these mono
   versions next to the same figure on the stereo originals when `--stereo-db` gives their database.
   The sample calls are synthetic (one TTS voice, warped per speaker); they measure the wiring and the
   clustering, not how the embedding model copes with real voices.
2. **pyannote_sample** (real two-speaker English telephone-style speech, reference RTTM): DER.
3. **ami_debug** (real meetings, 1-4 speakers): DER, reported separately; not a target for a
   two-party call product.

A one-speaker baseline (every stretch of speech the same VAD finds, labelled one speaker) is given
for each, since a DER means little without it.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from qa_pipeline.asr.diarize import Diarization, DiarizationSettings, get_diarizer
from qa_pipeline.asr.vad import speech_regions
from qa_pipeline.audio.decode import SAMPLE_RATE, decode_audio
from qa_pipeline.evaluation.checks import evaluate, load_labels
from qa_pipeline.kpis.database import open_reader

COLLARS = (0.25, 0.0)


@dataclass
class DatasetResult:
    name: str
    files: int = 0
    speech_s: float = 0.0  # reference speech
    audio_s: float = 0.0
    der: dict[float, float] = field(default_factory=dict)  # collar -> DER
    baseline_der: dict[float, float] = field(default_factory=dict)  # one speaker, same VAD
    role_accuracy: dict[float, float] = field(default_factory=dict)  # collar -> share of speech, right role
    roles_assigned: int | None = None  # calls whose roles were told apart
    agent_found: int | None = None  # calls where the agent label covers most of the agent's speech
    low_confidence: int = 0
    diarize_s: float = 0.0  # seconds spent diarizing (the whole flow for the sample calls)
    check_agreement: float | None = None  # agent-side checks, mono versions
    stereo_check_agreement: float | None = None
    per_file: list[tuple[str, float, int, float]] = field(default_factory=list)  # (file, DER@0.25, voices, conf)

    @property
    def real_time_factor(self) -> float | None:
        return self.diarize_s / self.audio_s if self.audio_s else None


def _annotation(turns: Sequence[tuple[float, float, str]]) -> Any:
    from pyannote.core import Annotation, Segment

    annotation = Annotation()
    for start, end, label in turns:
        if end > start:
            annotation[Segment(start, end)] = label
    return annotation


def _der(pairs: Sequence[tuple[Any, Any, Any]], collar: float) -> float:
    """Aggregate DER over files: total error / total reference speech (pyannote.metrics' abs(metric))."""
    from pyannote.core import Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    metric = DiarizationErrorRate(collar=collar, skip_overlap=False)
    for reference, hypothesis, uem in pairs:
        # Without a UEM, score the span both cover (what pyannote.metrics would approximate, with a warning).
        if uem is None:
            uem = Timeline([(reference.get_timeline() | hypothesis.get_timeline()).extent()])
        metric(reference, hypothesis, uem=uem)
    return float(abs(metric))


def _one_speaker(samples: np.ndarray, settings: DiarizationSettings) -> Any:
    return _annotation([(r.start_s, r.end_s, "ALL") for r in speech_regions(samples, settings.vad)])


def _score(result: DatasetResult, pairs: list[tuple[Any, Any, Any]], baselines: list[tuple[Any, Any, Any]]) -> None:
    result.der = {collar: _der(pairs, collar) for collar in COLLARS}
    result.baseline_der = {collar: _der(baselines, collar) for collar in COLLARS}


def evaluate_rttm(
    name: str,
    files: Sequence[tuple[Path, Any, Any]],
    settings: DiarizationSettings,
    diarize: Callable[[np.ndarray], Diarization],
) -> DatasetResult:
    """files: (wav, reference Annotation, uem Timeline or None)."""
    result = DatasetResult(name)
    pairs, baselines = [], []
    for wav, reference, uem in files:
        samples = decode_audio(wav).samples.mean(axis=0).astype(np.float32)
        started = time.perf_counter()
        found = diarize(samples)
        result.diarize_s += time.perf_counter() - started
        hypothesis = _annotation([(t.start_s, t.end_s, t.speaker) for t in found.turns])
        pairs.append((reference, hypothesis, uem))
        baselines.append((reference, _one_speaker(samples, settings), uem))
        result.files += 1
        result.audio_s += len(samples) / SAMPLE_RATE
        result.speech_s += reference.get_timeline().support().duration()
        result.low_confidence += found.low_confidence
        result.per_file.append((wav.stem, _der([pairs[-1]], 0.25), found.num_speakers, found.confidence))
    _score(result, pairs, baselines)
    return result


def rttm_dataset(folder: Path) -> list[tuple[Path, Any, Any]]:
    """Every <uri>.wav in `folder` with its reference from the folder's RTTM files (and UEM files if any)."""
    from pyannote.database.util import load_rttm, load_uem

    references: dict[str, Any] = {}
    for rttm in sorted(folder.glob("*.rttm")):
        references.update(load_rttm(rttm))
    uems: dict[str, Any] = {}
    for uem in sorted(folder.glob("*.uem")):
        uems.update(load_uem(uem))
    return [
        (folder / f"{uri}.wav", references[uri], uems.get(uri))
        for uri in sorted(references)
        if (folder / f"{uri}.wav").is_file()
    ]


def mix_down(labels_path: Path, work_dir: Path) -> Path:
    """Mono copies of every labelled sample call (16-bit WAV, 16 kHz) and their metadata, in work_dir/audio."""
    import wave

    source = labels_path.parent
    target = work_dir / "audio"
    target.mkdir(parents=True, exist_ok=True)
    calls = load_labels(labels_path)
    names: dict[str, str] = {}
    for call in calls:
        audio = decode_audio(source / call["audio_file"])
        mono = audio.samples.mean(axis=0).astype(np.float32)
        name = f"{call['call_id']}.wav"
        pcm = (np.clip(mono, -1.0, 1.0) * 32767).astype("<i2")
        with wave.open(str(target / name), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(SAMPLE_RATE)
            handle.writeframes(pcm.tobytes())
        names[call["audio_file"]] = name
    metadata = source / "calls.csv"
    if metadata.is_file():
        with metadata.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
        columns = [c for c in rows[0] if c != "agent_channel"] if rows else []
        with (work_dir / "calls.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, "audio_file": names.get(row["audio_file"], row["audio_file"])})
    return target


def _agent_side_agreement(labels_path: Path, db_path: Path) -> float | None:
    """Agreement of the checks that need speakers, pooled over checks (same verdicts / compared)."""
    from qa_pipeline.checks import REGISTRY

    needs_speakers = {check.id for check in REGISTRY.values() if check.needs_speakers}
    result = evaluate(labels_path, db_path, sorted(needs_speakers))
    compared = sum(c.compared for c in result.checks.values())
    agreed = sum(c.agreed for c in result.checks.values())
    return agreed / compared if compared else None


def evaluate_sample_calls(
    labels_path: Path,
    work_dir: Path,
    settings: DiarizationSettings,
    stereo_db: Path | None = None,
) -> DatasetResult:
    """Run the flow over the mixed-down sample calls and score its stored turns against the labels."""
    from pyannote.core import Segment

    from qa_pipeline.run.flow import qa_batch

    audio_dir = mix_down(labels_path, work_dir)
    db_path = work_dir / "mono.duckdb"
    db_path.unlink(missing_ok=True)
    metadata = work_dir / "calls.csv"
    started = time.perf_counter()
    qa_batch(
        input_dir=str(audio_dir),
        db_path=str(db_path),
        metadata_csv=str(metadata) if metadata.is_file() else None,
        diarization=settings.backend,
        pyannote_pipeline=settings.pyannote_pipeline,
        device=settings.device,
    )
    elapsed = time.perf_counter() - started
    calls = {call["call_id"]: call for call in load_labels(labels_path)}
    with open_reader(db_path) as db:
        _, turn_rows = db.query("SELECT call_id, start_s, end_s, label, role FROM speaker_turns ORDER BY call_id")
        _, call_rows = db.query("SELECT call_id, duration_s, diarization_confidence, speakers_found FROM calls")
    turns: dict[str, list[tuple[float, float, str, str]]] = {}
    for call_id, start, end, label, role in turn_rows:
        turns.setdefault(call_id, []).append((start, end, label, role))
    result = DatasetResult("sample calls, mixed to mono (synthetic)")
    result.diarize_s = elapsed
    pairs, baselines = [], []
    right_s = dict.fromkeys(COLLARS, 0.0)
    total_s = dict.fromkeys(COLLARS, 0.0)
    assigned = agent_found = 0
    for call_id, duration, confidence, voices in call_rows:
        call = calls.get(call_id)
        if call is None:
            continue
        reference = _annotation([(s["start_s"], s["end_s"], s["speaker"]) for s in call["segments"]])
        found = turns.get(call_id, [])
        hypothesis = _annotation([(start, end, label) for start, end, label, _ in found])
        pairs.append((reference, hypothesis, None))
        samples = decode_audio(audio_dir / f"{call_id}.wav").samples[0]
        baselines.append((reference, _one_speaker(samples, settings), None))
        roles = _annotation([(start, end, role) for start, end, _, role in found if role != "unknown"])
        if any(role != "unknown" for *_, role in found):
            assigned += 1
        # Role accuracy: reference speech time covered by a turn of the same role; with the collar, as
        # for DER, the collar / 2 at either end of each reference utterance is not scored.
        call_right = call_agent = 0.0
        for segment in call["segments"]:
            for collar in COLLARS:
                start, end = segment["start_s"] + collar / 2, segment["end_s"] - collar / 2
                if end <= start:
                    continue
                same = roles.crop(Segment(start, end)).label_timeline(segment["speaker"]).support().duration()
                right_s[collar] += same
                total_s[collar] += end - start
                if collar == 0.0 and segment["speaker"] == "agent":
                    call_right += same
                    call_agent += end - start
        agent_found += bool(call_agent) and call_right / call_agent > 0.5
        result.files += 1
        result.audio_s += duration or 0.0
        result.speech_s += reference.get_timeline().support().duration()
        result.low_confidence += (confidence or 0.0) < settings.min_confidence or (voices or 0) < 2
        result.per_file.append((call_id, _der([pairs[-1]], 0.25), voices or 0, confidence or 0.0))
    _score(result, pairs, baselines)
    result.role_accuracy = {c: right_s[c] / total_s[c] for c in COLLARS if total_s[c]}
    result.roles_assigned = assigned
    result.agent_found = agent_found
    result.check_agreement = _agent_side_agreement(labels_path, db_path)
    if stereo_db is not None and stereo_db.is_file():
        result.stereo_check_agreement = _agent_side_agreement(labels_path, stereo_db)
    return result


@dataclass
class DiarizationReport:
    backend: str
    datasets: list[DatasetResult]
    commit: str | None
    day: str

    def rows(self) -> list[tuple[Any, ...]]:
        def pct(value: float | None) -> str:
            return "" if value is None else f"{100 * value:.1f}%"

        rows = []
        for d in self.datasets:
            rows.append(
                (
                    d.name,
                    d.files,
                    f"{d.speech_s / 60:.1f}",
                    pct(d.der.get(0.25)),
                    pct(d.der.get(0.0)),
                    pct(d.baseline_der.get(0.25)),
                    pct(d.role_accuracy.get(0.25)),
                    pct(d.role_accuracy.get(0.0)),
                    "" if d.agent_found is None else f"{d.agent_found}/{d.roles_assigned}/{d.files}",
                    f"{d.low_confidence}/{d.files}",
                    "" if d.real_time_factor is None else f"{d.real_time_factor:.3f}",
                )
            )
        return rows

    COLUMNS = (
        "data",
        "files",
        "speech min",
        "DER collar 0.25",
        "DER collar 0",
        "one-speaker DER 0.25",
        "role accuracy 0.25",
        "role accuracy 0",
        "agent right/assigned/calls",
        "low confidence",
        "x real time",
    )

    def markdown(self) -> str:
        lines = [
            f"Measured {self.day}, commit {self.commit or 'unknown'}, backend `{self.backend}`"
            " (`qa-pipeline eval-diarization`).",
            "",
            "| " + " | ".join(self.COLUMNS) + " |",
            "|" + "---|" * len(self.COLUMNS),
        ]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in self.rows()]
        for d in self.datasets:
            if d.check_agreement is not None:
                stereo = (
                    f" (stereo originals: {100 * d.stereo_check_agreement:.1f}%)"
                    if d.stereo_check_agreement is not None
                    else ""
                )
                lines += [
                    "",
                    f"Agent-side check agreement with the labels, {d.name}: {100 * d.check_agreement:.1f}%{stereo}.",
                ]
        return "\n".join(lines) + "\n"


def git_commit() -> str | None:
    if shutil.which("git") is None:
        return None
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True
        )
    except (subprocess.CalledProcessError, OSError):
        return None
    # Measured with uncommitted changes: say so rather than credit the commit with them.
    return (out.stdout.strip() + ("+changes" if changed.stdout.strip() else "")) or None


def run_evaluation(
    labels_path: Path | None,
    data_dir: Path | None,
    work_dir: Path,
    settings: DiarizationSettings,
    stereo_db: Path | None = None,
    include_ami: bool = True,
) -> DiarizationReport:
    datasets: list[DatasetResult] = []
    if labels_path is not None:
        datasets.append(evaluate_sample_calls(labels_path, work_dir, settings, stereo_db))
    if data_dir is not None:
        diarizer = get_diarizer(settings)
        sample = data_dir / "pyannote_sample"
        if sample.is_dir():
            datasets.append(
                evaluate_rttm("pyannote_sample (real, 2 speakers)", rttm_dataset(sample), settings, diarizer)
            )
        ami = data_dir / "ami_debug"
        if include_ami and ami.is_dir():
            # Meetings have 1-4 speakers: let the same backend look for up to four.
            meeting = get_diarizer(replace(settings, min_speakers=1, max_speakers=4))
            datasets.append(
                evaluate_rttm("ami_debug (real meetings, 1-4 speakers)", rttm_dataset(ami), settings, meeting)
            )
    return DiarizationReport(settings.resolved_backend(), datasets, git_commit(), date.today().isoformat())
