"""A pyannote.audio 4 speaker-diarization pipeline directory with random weights, for tests.

A center can point the pyannote backend at its own copy of a pipeline directory laid out like
pyannote/speaker-diarization-community-1::

    config.yaml                      pipeline class, sub-model locations ($model/...), parameters
    segmentation/pytorch_model.bin   PyanNet, segmentation-3.0 hyper-parameters (powerset, 3 speakers)
    embedding/pytorch_model.bin      WeSpeakerResNet34 (256-d embeddings)
    plda/xvec_transform.npz          x-vector centering + LDA to 128 dimensions (mean1, mean2, lda)
    plda/plda.npz                    PLDA for VBx clustering (mu, tr, psi)

The real weights are gated on Hugging Face and cannot be downloaded where this project is built and
tested, so `build_random_pipeline_dir` writes a structurally identical directory with random weights:
the checkpoints have the same format pyannote writes (lightning checkpoint dict with pyannote's
`versions` / `architecture` / `specifications`), and the PLDA arrays have the shapes and properties
`pyannote.audio.utils.vbx.vbx_setup` needs. `pyannote.audio.Pipeline.from_pretrained(directory)` then
loads it with the real pyannote classes, and calling the pipeline runs every step: segmentation,
speaker counting, embeddings, PLDA + VBx clustering and reconstruction.

Random weights give meaningless speaker labels; the point is to exercise every loader and the whole
inference path. The segmentation model is not left at PyTorch's default initialisation, though: that
untrained 4-layer LSTM washes out its input and every frame gets the same powerset class, so the
pipeline stops at speaker counting (nobody ever speaks) or skips PLDA + VBx (nobody ever speaks alone,
or too few chunks have a lone speaker). So the LSTM weights are scaled up, the linear layers drawn
with Kaiming init, and the classifier's bias set so that, on seeded noise, the 7 powerset classes come
out with conversation-like frequencies (`POWERSET_PRIOR`). The random segmentation then switches
between silence, single speakers and overlap from frame to frame, whatever the seed.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import numpy as np
import torch

# pyannote reads this at import time: no usage metrics (nothing is reachable from here).
os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")

# Same content as pyannote/speaker-diarization-community-1's config.yaml: "$model/<sub>" is resolved by
# Pipeline.from_pretrained against the directory the config was loaded from.
CONFIG_YAML = """\
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    segmentation: $model/segmentation
    segmentation_batch_size: 32
    embedding: $model/embedding
    embedding_batch_size: 32
    embedding_exclude_overlap: true
    plda: $model/plda

params:
  clustering:
    threshold: 0.6
    Fa: 0.07
    Fb: 0.8
  segmentation:
    min_duration_off: 0.0
"""

# pyannote/segmentation-3.0: 10 s chunks at 16 kHz, up to 3 speakers per chunk, at most 2 at once.
SEGMENTATION_HPARAMS: dict[str, dict[str, object]] = {
    "sincnet": {"stride": 10},
    "lstm": {"hidden_size": 128, "num_layers": 4, "bidirectional": True, "monolithic": True, "dropout": 0.5},
    "linear": {"hidden_size": 128, "num_layers": 2},
}
EMBEDDING_DIM = 256  # WeSpeakerResNet34
LDA_DIM = 128  # pyannote's PLDA default lda_dimension
LSTM_GAIN = 4.0  # see the module docstring
# Frame frequencies the random segmentation is calibrated to: silence, each speaker alone, each pair.
POWERSET_PRIOR = (0.1, 0.25, 0.25, 0.25, 0.05, 0.05, 0.05)
CALIBRATION_SAMPLES = 32_000  # 2 s of seeded noise


def build_random_pipeline_dir(target: Path, seed: int = 0) -> Path:
    """Write a community-1-shaped pipeline directory with random (seeded, deterministic) weights."""
    target = Path(target)
    for sub in ("segmentation", "embedding", "plda"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    (target / "config.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    # fork_rng: the seed must not leak into the caller's global torch RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        _save(_segmentation_checkpoint(), target / "segmentation" / "pytorch_model.bin")
        _save(_embedding_checkpoint(), target / "embedding" / "pytorch_model.bin")
    _write_plda(target / "plda", np.random.default_rng(seed))
    return target


def _segmentation_checkpoint() -> dict[str, object]:
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    model = PyanNet(**SEGMENTATION_HPARAMS)  # type: ignore[arg-type]
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION,
        resolution=Resolution.FRAME,
        duration=10.0,
        min_duration=None,
        warm_up=(0.0, 0.0),
        classes=["speaker#1", "speaker#2", "speaker#3"],
        powerset_max_classes=2,
        permutation_invariant=True,
    )
    model.build()  # adds the classifier: 7 powerset classes ({}, 3 singles, 3 pairs)
    model.eval()  # no LSTM dropout while calibrating
    with torch.no_grad():
        for name, parameter in model.lstm.named_parameters():
            if name.startswith("weight"):
                parameter.mul_(LSTM_GAIN)
        for layer in model.modules():  # the linear layers (leaky_relu); the classifier is redrawn below
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.kaiming_normal_(layer.weight, a=0.01)
                torch.nn.init.zeros_(layer.bias)
        torch.nn.init.normal_(model.classifier.weight, std=1.0)
        torch.nn.init.zeros_(model.classifier.bias)
        # The output is log-softmax: centring it over time centres the logits of each class. Rounded, so
        # that last-bit differences of the forward pass (thread count, CPU) do not change the file.
        log_probs = model(0.1 * torch.randn(1, 1, CALIBRATION_SAMPLES))
        bias = torch.log(torch.tensor(POWERSET_PRIOR)) - log_probs.mean(dim=(0, 1))
        model.classifier.bias.copy_(torch.round(bias, decimals=3))
    checkpoint: dict[str, object] = {
        "state_dict": model.state_dict(),
        "hparams_name": "kwargs",
        "hyper_parameters": {key: value for key, value in model.hparams.items()},
    }
    model.on_save_checkpoint(checkpoint)  # pyannote.audio: versions, architecture, specifications
    return _with_lightning_version(checkpoint)


def _embedding_checkpoint() -> dict[str, object]:
    # Same layout as pyannote's own WeSpeaker conversion (pyannote/audio/models/embedding/wespeaker/convert.py):
    # no hyper-parameters (the class defaults are WeSpeaker's), specifications of a 5 s representation task.
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34

    model = WeSpeakerResNet34()
    model.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    checkpoint: dict[str, object] = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    return _with_lightning_version(checkpoint)


def _with_lightning_version(checkpoint: dict[str, object]) -> dict[str, object]:
    import lightning

    checkpoint["pytorch-lightning_version"] = lightning.__version__
    return checkpoint


def _save(checkpoint: dict[str, object], path: Path) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    path.write_bytes(buffer.getvalue())


def _write_plda(directory: Path, rng: np.random.Generator) -> None:
    """Random arrays with what vbx_setup needs: an invertible `tr` (here orthogonal, so the within-class
    covariance is the identity) and a positive between-class variance `psi`, in decreasing order."""
    lda, _ = np.linalg.qr(rng.standard_normal((EMBEDDING_DIM, LDA_DIM)))  # orthonormal columns
    _write_npz(
        directory / "xvec_transform.npz",
        mean1=0.01 * rng.standard_normal(EMBEDDING_DIM),
        mean2=0.01 * rng.standard_normal(LDA_DIM),
        lda=lda,
    )
    tr, _ = np.linalg.qr(rng.standard_normal((LDA_DIM, LDA_DIM)))
    psi = np.sort(rng.lognormal(mean=0.0, sigma=1.0, size=LDA_DIM))[::-1].copy()
    _write_npz(directory / "plda.npz", mu=0.01 * rng.standard_normal(LDA_DIM), tr=tr, psi=psi)


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez, but with fixed zip timestamps so that two builds are byte-identical."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array, dtype=np.float64), allow_pickle=False)
            archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue())
