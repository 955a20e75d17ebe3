"""Speed of the two mono diarization backends, CPU against GPU where one is present.

    python -m benchmarks.diarization_speed [--minutes 10] [--device cpu|cuda|both]

- pyannote: a pyannote.audio 4 pipeline with the layout and architecture of
  pyannote/speaker-diarization-community-1 (PyanNet segmentation, WeSpeaker ResNet34 embeddings, PLDA +
  VBx), built with random weights by tests.pyannote_local: the real weights cannot be
  downloaded here, and the compute per second of audio is the same whatever the weights' values.
- embedded: the CAM++ embedding model of the embedded backend over 2 s windows every 1 s of the audio
  (the part of that backend that grows with audio length; its VAD and clustering are small beside it).

The audio is pyannote's own two-speaker sample (30 s, shipped in the pyannote.audio wheel) repeated to
`--minutes`. Prints seconds and the real-time factor (processing seconds per audio second) per backend
and device, so a center can size a GPU box: see docs/diarization.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
import wave
from pathlib import Path

os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

SAMPLE_RATE = 16000


def sample_audio(minutes: float) -> np.ndarray:
    import pyannote.audio

    path = Path(pyannote.audio.__file__).parent / "sample" / "sample.wav"
    with wave.open(str(path)) as handle:
        assert handle.getframerate() == SAMPLE_RATE and handle.getsampwidth() == 2
        pcm = np.frombuffer(handle.readframes(handle.getnframes()), dtype="<i2").astype(np.float32) / 32768
    repeats = int(np.ceil(minutes * 60 * SAMPLE_RATE / len(pcm)))
    return np.tile(pcm, repeats)[: int(minutes * 60 * SAMPLE_RATE)]


def time_pyannote(samples: np.ndarray, device: torch.device) -> float:
    from pyannote.audio import Pipeline

    from tests.pyannote_local import build_random_pipeline_dir

    with tempfile.TemporaryDirectory() as folder:
        pipeline = Pipeline.from_pretrained(str(build_random_pipeline_dir(Path(folder) / "community-1")))
    pipeline.to(device)
    waveform = torch.from_numpy(samples)[None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipeline({"waveform": waveform[:, : 30 * SAMPLE_RATE], "sample_rate": SAMPLE_RATE})  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        pipeline({"waveform": waveform, "sample_rate": SAMPLE_RATE}, min_speakers=2, max_speakers=3)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - started


def time_embedded(samples: np.ndarray, device: torch.device, batch_size: int = 64) -> float:
    from qa_pipeline.asr.campplus import CamPlusPlus

    model = CamPlusPlus.pretrained().to(device)
    window, hop = 2 * SAMPLE_RATE, SAMPLE_RATE
    starts = range(0, len(samples) - window + 1, hop)
    clips = np.stack([samples[s : s + window] for s in starts])[:, None, :]
    with torch.inference_mode():
        model(torch.from_numpy(clips[:batch_size]).to(device))  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        for first in range(0, len(clips), batch_size):
            model(torch.from_numpy(clips[first : first + batch_size]).to(device)).cpu()
        if device.type == "cuda":
            torch.cuda.synchronize()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--device", choices=["cpu", "cuda", "both"], default="both")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads for torch")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu", "cuda"] if args.device == "both" else [args.device]
    if "cuda" in devices and not torch.cuda.is_available():
        print("no CUDA device: CPU only")
        devices = ["cpu"]
    samples = sample_audio(args.minutes)
    audio_s = len(samples) / SAMPLE_RATE
    name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    print(f"{audio_s / 60:.1f} min of audio; torch {torch.__version__}; {args.threads} CPU threads; {name}")
    print(f"{'backend':10s} {'device':6s} {'seconds':>8s} {'x real time':>12s}")
    for device in devices:
        for backend, timer in (("pyannote", time_pyannote), ("embedded", time_embedded)):
            seconds = timer(samples, torch.device(device))
            print(f"{backend:10s} {device:6s} {seconds:8.2f} {seconds / audio_s:12.4f}", flush=True)


if __name__ == "__main__":
    main()
